// NCCL for the CUDA emulator (CKF_CUDA=EMU): the subset ckf calls (grep 'nccl[A-Z]\w*(' in
// dist/ and kernels/), between the local processes of one job (mpirun on one machine), through
// POSIX shared memory. Emulated device memory is host memory and emulated streams are
// synchronous, so every collective here completes before it returns, whatever its stream.
//
// A communicator is one shared-memory segment, named by the ncclUniqueId: a header (a barrier and
// what each rank is calling) and one slot of kSlotBytes per rank. A collective moves its buffer
// through the slots in chunks: each rank copies its chunk into its own slot, all meet at a
// barrier, each reads what it needs from every slot -- reductions combine the slots IN RANK ORDER,
// so every rank gets bit-identical results, as NCCL guarantees -- and all meet again before the
// slots are reused. The barrier counts generations and sleeps on a futex; a rank that waits longer
// than CKF_NCCL_EMU_TIMEOUT_S seconds (default 240) fails with an error naming the call and the
// communicator instead of hanging, and marks the communicator aborted so its peers fail at once.
// Ranks that call different collectives (or counts, types, ops, roots) on one communicator get an
// error naming both calls: on a GPU that would hang or silently mix buffers.
//
// Segment lifetime: rank 0 unlinks any stale segment of the id's name, creates it and marks it
// ready; the other ranks open it once ready. When every rank has attached, rank 0 unlinks the name
// (the mappings stay valid until each rank's ncclCommDestroy unmaps), so no segment outlives the
// job even when a rank is killed.
#include <fcntl.h>
#include <linux/futex.h>
#include <nccl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <thread>

namespace {

constexpr size_t kSlotBytes = size_t{512} << 10;
constexpr char kIdMagic[8] = "ckfnccl";

// What ncclGetUniqueId writes into ncclUniqueId::internal.
struct IdLayout {
  char magic[8];
  uint64_t nonce;  // random, non-zero: the value the segment's `ready` takes
  char name[64];   // "/ckf-nccl-emu-PID-NONCE", a POSIX shared-memory name
};
static_assert(sizeof(IdLayout) <= NCCL_UNIQUE_ID_BYTES, "the emulated unique id must fit ncclUniqueId");

// The call a rank is making, compared across ranks after the first barrier of each collective.
struct CallDesc {
  int32_t call;  // index into kCallNames
  int32_t type;
  int32_t op;    // -1 when the collective has none
  int32_t root;  // -1 when the collective has none
  uint64_t count;
};
enum Call : int32_t { kAllReduce, kAllGather, kReduceScatter, kBroadcast };
constexpr const char* kCallNames[] = {"ncclAllReduce", "ncclAllGather", "ncclReduceScatter", "ncclBroadcast"};

struct Header {
  std::atomic<uint64_t> ready;       // the id's nonce, once rank 0 has sized and initialised the segment
  std::atomic<uint32_t> arrived;     // ranks inside the current barrier
  std::atomic<uint32_t> generation;  // barriers completed; the futex word the waiters sleep on
  std::atomic<uint32_t> aborted;     // a rank gave up waiting: the others stop too
  int32_t nranks;
};
static_assert(std::atomic<uint32_t>::is_always_lock_free && std::atomic<uint64_t>::is_always_lock_free,
              "the barrier needs lock-free atomics to work across processes");

constexpr size_t kAlign = 64;
size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
size_t descs_offset() { return round_up(sizeof(Header)); }
size_t slots_offset(int nranks) { return descs_offset() + round_up(nranks * sizeof(CallDesc)); }
size_t segment_bytes(int nranks) { return slots_offset(nranks) + size_t(nranks) * kSlotBytes; }

thread_local std::string last_error;

ncclResult_t fail(ncclResult_t code, const std::string& msg) {
  last_error = "NCCL emulator: " + msg;
  return code;
}

double timeout_seconds() {
  const char* s = std::getenv("CKF_NCCL_EMU_TIMEOUT_S");
  const double t = s ? std::atof(s) : 0.0;
  return t > 0 ? t : 240.0;
}

void futex_wait(std::atomic<uint32_t>* word, uint32_t expected, long nanos) {
  timespec ts{0, nanos};
  // Shared (not FUTEX_PRIVATE) futex: the waiters and the waker are different processes.
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected, &ts, nullptr, 0);
}

void futex_wake_all(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
}

size_t type_size(ncclDataType_t t) {
  switch (t) {
    case ncclInt32: return 4;
    case ncclInt64: return 8;
    case ncclFloat32: return 4;
    case ncclFloat64: return 8;
    default: return 0;  // not emulated
  }
}

const char* type_name(int32_t t) {
  switch (t) {
    case ncclInt32: return "int32";
    case ncclInt64: return "int64";
    case ncclFloat32: return "float32";
    case ncclFloat64: return "float64";
    default: return "other";
  }
}

const char* op_name(int32_t op) {
  constexpr const char* names[] = {"sum", "prod", "max", "min", "avg"};
  return op >= 0 && op < 5 ? names[op] : "none";
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g s", s);
  return buf;
}

// "ncclAllReduce (count 7, float32, sum, root -1)"
std::string describe(const CallDesc& d) {
  return std::string(kCallNames[d.call]) + " (count " + std::to_string(d.count) + ", " + type_name(d.type) + ", op " +
         op_name(d.op) + ", root " + std::to_string(d.root) + ")";
}

template <class T> T combine(T a, T b, ncclRedOp_t op) {
  switch (op) {
    case ncclSum: return a + b;
    case ncclProd: return a * b;
    case ncclMax: return std::max(a, b);
    default: return std::min(a, b);  // ncclMin; others are refused before any data moves
  }
}

}  // namespace

struct ncclComm {
  Header* hdr = nullptr;
  unsigned char* base = nullptr;  // the mapped segment (segment_bytes(nranks))
  int rank = 0, nranks = 1;
  std::string name;

  CallDesc* descs() { return reinterpret_cast<CallDesc*>(base + descs_offset()); }  // (nranks)
  unsigned char* slot(int r) { return base + slots_offset(nranks) + size_t(r) * kSlotBytes; }  // (kSlotBytes)

  std::string where(const char* call) const {
    return std::string(call) + " on communicator " + name + " (rank " + std::to_string(rank) + " of " +
           std::to_string(nranks) + ")";
  }

  ncclResult_t barrier(const char* call) {
    const uint32_t gen = hdr->generation.load(std::memory_order_acquire);
    if (hdr->arrived.fetch_add(1, std::memory_order_acq_rel) + 1 == uint32_t(nranks)) {
      hdr->arrived.store(0, std::memory_order_relaxed);
      hdr->generation.fetch_add(1, std::memory_order_release);
      futex_wake_all(&hdr->generation);
      return ncclSuccess;
    }
    const double limit = timeout_seconds();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit);
    while (hdr->generation.load(std::memory_order_acquire) == gen) {
      if (hdr->aborted.load(std::memory_order_acquire))
        return fail(ncclRemoteError, where(call) + ": another rank of this communicator gave up waiting");
      if (std::chrono::steady_clock::now() > deadline) {
        hdr->aborted.store(1, std::memory_order_release);
        futex_wake_all(&hdr->generation);
        return fail(ncclSystemError, where(call) + ": timed out after " + seconds(limit) +
                                         " waiting for the other ranks (did a rank issue its collectives in a "
                                         "different order, or stop?); CKF_NCCL_EMU_TIMEOUT_S sets the limit");
      }
      futex_wait(&hdr->generation, gen, 100'000'000);
    }
    return ncclSuccess;
  }

  // Publishes this rank's call, waits for all, and fails on every rank when the calls differ.
  // Every rank sees the same descriptors, so all of them fail together; they meet once more before
  // returning, else a fast rank's next call would overwrite its descriptor while others read it.
  ncclResult_t enter(const CallDesc& mine) {
    descs()[rank] = mine;
    if (ncclResult_t r = barrier(kCallNames[mine.call]); r != ncclSuccess) return r;
    for (int q = 0; q < nranks; ++q) {
      const CallDesc d = descs()[q];
      if (d.call == mine.call && d.type == mine.type && d.op == mine.op && d.root == mine.root && d.count == mine.count)
        continue;
      if (ncclResult_t r = barrier(kCallNames[mine.call]); r != ncclSuccess) return r;
      return fail(ncclInvalidUsage, where(kCallNames[mine.call]) + ": this rank called " + describe(mine) +
                                        " while rank " + std::to_string(q) + " called " + describe(d));
    }
    return ncclSuccess;
  }

  // out[i] = slot 0 [off + i] (op) slot 1 [off + i] (op) ... in rank order, for n elements of T.
  template <class T> void reduce_slots(void* out, size_t off, size_t n, ncclRedOp_t op) {
    T* o = static_cast<T*>(out);
    for (size_t i = 0; i < n; ++i) {
      T acc = reinterpret_cast<const T*>(slot(0))[off + i];
      for (int r = 1; r < nranks; ++r) acc = combine(acc, reinterpret_cast<const T*>(slot(r))[off + i], op);
      o[i] = acc;
    }
  }
  void reduce_slots(void* out, size_t off, size_t n, ncclDataType_t type, ncclRedOp_t op) {
    switch (type) {
      case ncclInt32: return reduce_slots<int32_t>(out, off, n, op);
      case ncclInt64: return reduce_slots<int64_t>(out, off, n, op);
      case ncclFloat32: return reduce_slots<float>(out, off, n, op);
      default: return reduce_slots<double>(out, off, n, op);
    }
  }
};

namespace {

// Argument checks shared by the collectives.
ncclResult_t check_call(ncclComm_t comm, Call call, ncclDataType_t type, int op, size_t count, const void* send,
                        const void* recv) {
  if (!comm) return fail(ncclInvalidArgument, std::string(kCallNames[call]) + ": null communicator");
  if (comm->hdr->aborted.load(std::memory_order_acquire))
    return fail(ncclRemoteError, comm->where(kCallNames[call]) + ": the communicator was aborted by a timed-out rank");
  if (type_size(type) == 0)
    return fail(ncclInvalidArgument, comm->where(kCallNames[call]) + ": data type " + std::to_string(type) +
                                         " is not emulated (int32, int64, float32, float64 are)");
  if (op >= 0 && op != ncclSum && op != ncclProd && op != ncclMax && op != ncclMin)
    return fail(ncclInvalidArgument, comm->where(kCallNames[call]) + ": reduction op " + std::to_string(op) +
                                         " is not emulated (sum, prod, max, min are)");
  if (count > 0 && (!send || !recv))
    return fail(ncclInvalidArgument, comm->where(kCallNames[call]) + ": null buffer with count " + std::to_string(count));
  return ncclSuccess;
}

#define EMU_TRY(expr)                                  \
  do {                                                 \
    if (ncclResult_t emu_r_ = (expr); emu_r_ != ncclSuccess) return emu_r_; \
  } while (0)

const unsigned char* bytes(const void* p) { return static_cast<const unsigned char*>(p); }
unsigned char* bytes(void* p) { return static_cast<unsigned char*>(p); }

// Maps an existing segment of `size` bytes; null on failure (errno set).
unsigned char* map_segment(int fd, size_t size) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? nullptr : static_cast<unsigned char*>(p);
}

ncclResult_t create_segment(const IdLayout& id, int nranks, unsigned char** base) {
  const size_t size = segment_bytes(nranks);
  shm_unlink(id.name);  // a stale segment of this name (a crashed run): gone, or never there
  const int fd = shm_open(id.name, O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return fail(ncclSystemError, std::string("shm_open(") + id.name + "): " + std::strerror(errno));
  const bool sized = ftruncate(fd, static_cast<off_t>(size)) == 0;
  *base = sized ? map_segment(fd, size) : nullptr;
  const int err = errno;
  close(fd);
  if (!*base) {
    shm_unlink(id.name);
    return fail(ncclSystemError, std::string("sizing or mapping shared memory ") + id.name + " (" +
                                     std::to_string(size) + " bytes): " + std::strerror(err));
  }
  Header* h = new (*base) Header{};
  h->nranks = nranks;
  h->ready.store(id.nonce, std::memory_order_release);
  return ncclSuccess;
}

ncclResult_t open_segment(const IdLayout& id, int nranks, int rank, unsigned char** base) {
  const size_t size = segment_bytes(nranks);
  const double limit = timeout_seconds();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit);
  for (;;) {
    const int fd = shm_open(id.name, O_RDWR, 0600);
    struct stat st{};
    if (fd >= 0 && fstat(fd, &st) == 0 && size_t(st.st_size) >= size) {
      *base = map_segment(fd, size);
      close(fd);
      if (!*base) return fail(ncclSystemError, std::string("mmap of ") + id.name + ": " + std::strerror(errno));
      const Header* h = reinterpret_cast<const Header*>(*base);
      if (h->ready.load(std::memory_order_acquire) == id.nonce) {
        if (h->nranks == nranks) return ncclSuccess;
        const int theirs = h->nranks;
        munmap(*base, size);
        return fail(ncclInvalidUsage, "ncclCommInitRank: rank " + std::to_string(rank) + " was given nranks " +
                                          std::to_string(nranks) + ", rank 0 " + std::to_string(theirs));
      }
      munmap(*base, size);  // not ready yet: rank 0 is still setting it up
    } else if (fd >= 0) {
      close(fd);
    }
    if (std::chrono::steady_clock::now() > deadline)
      return fail(ncclSystemError, "ncclCommInitRank: rank " + std::to_string(rank) + " waited " +
                                       seconds(limit) + " for rank 0 to create " + id.name +
                                       " (was the unique id broadcast from rank 0, and did rank 0 call init?)");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

extern "C" {

ncclResult_t ncclGetVersion(int* version) {
  if (!version) return fail(ncclInvalidArgument, "ncclGetVersion: null pointer");
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t result) {
  switch (result) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error";
    case ncclSystemError: return "unhandled system error";
    case ncclInternalError: return "internal error";
    case ncclInvalidArgument: return "invalid argument";
    case ncclInvalidUsage: return "invalid usage";
    case ncclRemoteError: return "remote process exited or there was a network error";
    case ncclInProgress: return "NCCL operation in progress";
    default: return "unknown result code";
  }
}

const char* ncclGetLastError(ncclComm_t) { return last_error.c_str(); }

ncclResult_t ncclGetUniqueId(ncclUniqueId* unique_id) {
  if (!unique_id) return fail(ncclInvalidArgument, "ncclGetUniqueId: null pointer");
  IdLayout id{};
  std::memcpy(id.magic, kIdMagic, sizeof(id.magic));
  std::random_device rd;
  do id.nonce = (uint64_t(rd()) << 32) ^ rd() ^ uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
  while (id.nonce == 0);
  std::snprintf(id.name, sizeof(id.name), "/ckf-nccl-emu-%d-%016llx", int(getpid()),
                static_cast<unsigned long long>(id.nonce));
  std::memset(unique_id, 0, sizeof(*unique_id));
  std::memcpy(unique_id->internal, &id, sizeof(id));
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId comm_id, int rank) {
  if (!comm) return fail(ncclInvalidArgument, "ncclCommInitRank: null communicator pointer");
  *comm = nullptr;
  IdLayout id;
  std::memcpy(&id, comm_id.internal, sizeof(id));
  if (std::memcmp(id.magic, kIdMagic, sizeof(id.magic)) != 0 || id.nonce == 0 ||
      std::memchr(id.name, 0, sizeof(id.name)) == nullptr)
    return fail(ncclInvalidArgument, "ncclCommInitRank: the unique id was not made by ncclGetUniqueId (was it "
                                     "broadcast from the rank that made it?)");
  if (nranks < 1 || rank < 0 || rank >= nranks)
    return fail(ncclInvalidArgument, "ncclCommInitRank: rank " + std::to_string(rank) + " of " +
                                         std::to_string(nranks) + " ranks");
  unsigned char* base = nullptr;
  EMU_TRY(rank == 0 ? create_segment(id, nranks, &base) : open_segment(id, nranks, rank, &base));
  auto* c = new ncclComm;
  c->hdr = reinterpret_cast<Header*>(base);
  c->base = base;
  c->rank = rank;
  c->nranks = nranks;
  c->name = id.name;
  const ncclResult_t attached = c->barrier("ncclCommInitRank");
  if (rank == 0) shm_unlink(id.name);  // every rank has it mapped now (or init failed): the name can go
  if (attached != ncclSuccess) {
    munmap(base, segment_bytes(nranks));
    delete c;
    return attached;
  }
  *comm = c;
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  if (!comm) return ncclSuccess;
  munmap(comm->base, segment_bytes(comm->nranks));
  delete comm;
  return ncclSuccess;
}

// Collectives here complete before they return, so nothing is pending: abort is destroy.
ncclResult_t ncclCommAbort(ncclComm_t comm) { return ncclCommDestroy(comm); }

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                           ncclRedOp_t op, ncclComm_t comm, cudaStream_t) {
  EMU_TRY(check_call(comm, kAllReduce, datatype, op, count, sendbuff, recvbuff));
  const size_t es = type_size(datatype), per = kSlotBytes / es;
  for (size_t off = 0; off < count; off += per) {
    const size_t n = std::min(per, count - off);
    std::memcpy(comm->slot(comm->rank), bytes(sendbuff) + off * es, n * es);
    if (off == 0) EMU_TRY(comm->enter({kAllReduce, datatype, op, -1, count}));
    else EMU_TRY(comm->barrier("ncclAllReduce"));
    comm->reduce_slots(bytes(recvbuff) + off * es, 0, n, datatype, op);
    EMU_TRY(comm->barrier("ncclAllReduce"));
  }
  return ncclSuccess;
}

// recvbuff (nranks * sendcount): rank r's sendbuff at r * sendcount; sendbuff may be that block.
ncclResult_t ncclAllGather(const void* sendbuff, void* recvbuff, size_t sendcount, ncclDataType_t datatype,
                           ncclComm_t comm, cudaStream_t) {
  EMU_TRY(check_call(comm, kAllGather, datatype, -1, sendcount, sendbuff, recvbuff));
  const size_t es = type_size(datatype), per = kSlotBytes / es;
  for (size_t off = 0; off < sendcount; off += per) {
    const size_t n = std::min(per, sendcount - off);
    std::memcpy(comm->slot(comm->rank), bytes(sendbuff) + off * es, n * es);
    if (off == 0) EMU_TRY(comm->enter({kAllGather, datatype, -1, -1, sendcount}));
    else EMU_TRY(comm->barrier("ncclAllGather"));
    for (int r = 0; r < comm->nranks; ++r)
      std::memmove(bytes(recvbuff) + (r * sendcount + off) * es, comm->slot(r), n * es);
    EMU_TRY(comm->barrier("ncclAllGather"));
  }
  return ncclSuccess;
}

// sendbuff (nranks * recvcount) -> recvbuff (recvcount): block r reduced over ranks lands on rank r.
// Each slot carries one chunk of every block, so chunks are kSlotBytes / nranks.
ncclResult_t ncclReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount, ncclDataType_t datatype,
                               ncclRedOp_t op, ncclComm_t comm, cudaStream_t) {
  EMU_TRY(check_call(comm, kReduceScatter, datatype, op, recvcount, sendbuff, recvbuff));
  const size_t es = type_size(datatype), per = kSlotBytes / es / comm->nranks;
  for (size_t off = 0; off < recvcount; off += per) {
    const size_t n = std::min(per, recvcount - off);
    for (int b = 0; b < comm->nranks; ++b)
      std::memcpy(comm->slot(comm->rank) + b * n * es, bytes(sendbuff) + (b * recvcount + off) * es, n * es);
    if (off == 0) EMU_TRY(comm->enter({kReduceScatter, datatype, op, -1, recvcount}));
    else EMU_TRY(comm->barrier("ncclReduceScatter"));
    comm->reduce_slots(bytes(recvbuff) + off * es, comm->rank * n, n, datatype, op);
    EMU_TRY(comm->barrier("ncclReduceScatter"));
  }
  return ncclSuccess;
}

ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, int root,
                           ncclComm_t comm, cudaStream_t) {
  EMU_TRY(check_call(comm, kBroadcast, datatype, -1, count, comm && comm->rank == root ? sendbuff : recvbuff,
                     recvbuff));
  if (root < 0 || root >= comm->nranks)
    return fail(ncclInvalidArgument, comm->where("ncclBroadcast") + ": root " + std::to_string(root));
  const size_t es = type_size(datatype), per = kSlotBytes / es;
  const bool is_root = comm->rank == root;
  for (size_t off = 0; off < count; off += per) {
    const size_t n = std::min(per, count - off);
    if (is_root) std::memcpy(comm->slot(root), bytes(sendbuff) + off * es, n * es);
    if (off == 0) EMU_TRY(comm->enter({kBroadcast, datatype, -1, root, count}));
    else EMU_TRY(comm->barrier("ncclBroadcast"));
    std::memmove(bytes(recvbuff) + off * es, comm->slot(root), n * es);
    EMU_TRY(comm->barrier("ncclBroadcast"));
  }
  return ncclSuccess;
}

}  // extern "C"
