#include "dist/communicator.h"

#include <climits>

#include "core/check.h"

namespace ckf {

size_t elem_size(ElemType t) {
  switch (t) {
    case ElemType::f32: case ElemType::i32: return 4;
    case ElemType::f64: case ElemType::i64: return 8;
  }
  CKF_FAIL("unknown ElemType " << static_cast<int>(t));
}

const char* elem_name(ElemType t) {
  switch (t) {
    case ElemType::f32: return "f32";
    case ElemType::f64: return "f64";
    case ElemType::i32: return "i32";
    case ElemType::i64: return "i64";
  }
  return "?";
}

const char* reduce_op_name(ReduceOp op) { return op == ReduceOp::sum ? "sum" : "max"; }

const char* collective_name(Collective c) {
  switch (c) {
    case Collective::all_reduce: return "all_reduce";
    case Collective::all_gather: return "all_gather";
    case Collective::reduce_scatter: return "reduce_scatter";
    case Collective::broadcast: return "broadcast";
    case Collective::barrier: return "barrier";
  }
  return "?";
}

ElemType elem_type_of(DType dt) {
  switch (dt) {
    case DType::f32: return ElemType::f32;
    case DType::i32: return ElemType::i32;
    case DType::i64: return ElemType::i64;
    default: CKF_FAIL("collectives take f32, i32 or i64 tensors, not " << dtype_name(dt) << " (reduce in f32)");
  }
}

uint64_t ring_bytes_sent(Collective c, uint64_t n, int p, int rank, int root) {
  const uint64_t pp = static_cast<uint64_t>(p);
  switch (c) {
    case Collective::all_reduce: return 2 * (pp - 1) * n / pp;
    case Collective::all_gather:
    case Collective::reduce_scatter: return (pp - 1) * n / pp;
    case Collective::broadcast: return rank == (root - 1 + p) % p ? 0 : n;
    case Collective::barrier: return 0;
  }
  return 0;
}

std::string Communicator::where(const char* what) const {
  return std::string(what) + " on group '" + name_ + "' (rank " + std::to_string(rank_) + " of " +
         std::to_string(size_) + ")";
}

uint64_t Communicator::bytes_sent() const {
  uint64_t total = 0;
  for (const auto& c : counters_) total += c.bytes;
  return total;
}

void Communicator::tally(Collective c, uint64_t full_bytes, int root) {
  auto& k = counters_[static_cast<int>(c)];
  k.calls += 1;
  k.bytes += ring_bytes_sent(c, full_bytes, size_, rank_, root);
}

void Communicator::check_buffer(Collective c, const void* p, int64_t count) const {
  // MPI counts are int; larger buffers must be split by the caller (gradient buckets are far smaller).
  CKF_CHECK(count >= 0 && count <= INT_MAX, where(collective_name(c)) << ": element count " << count
                                                                      << " outside [0, " << INT_MAX << "]");
  CKF_CHECK(count == 0 || p != nullptr, where(collective_name(c)) << ": null buffer for " << count << " elements");
}

void Communicator::check_gather_sizes(Collective c, size_t part, size_t full) const {
  CKF_CHECK(full == part * static_cast<size_t>(size_),
            where(collective_name(c)) << ": full buffer holds " << full << " elements, expected " << size_ << " x "
                                      << part);
}

void Communicator::check_tensor(Collective c, const Tensor& t) const {
  CKF_CHECK(t.device() == device(), where(collective_name(c)) << ": tensor " << t.describe() << " is not on "
                                                              << device_name(device()));
}

// Backend errors name the failing library call; prefixing the collective, group and rank here
// gives every backend the same message shape.
#define CKF_COMM_CALL(label, call)                        \
  do {                                                    \
    try {                                                 \
      call;                                               \
    } catch (const Error& e) {                            \
      throw Error(where(label) + ": " + e.what());        \
    }                                                     \
  } while (0)

void Communicator::all_reduce(void* buf, int64_t count, ElemType type, ReduceOp op) {
  check_buffer(Collective::all_reduce, buf, count);
  CKF_COMM_CALL("all_reduce", do_all_reduce(buf, count, type, op));
  tally(Collective::all_reduce, count * elem_size(type));
}

void Communicator::all_gather(const void* send, void* recv, int64_t count, ElemType type) {
  check_buffer(Collective::all_gather, send, count);
  check_buffer(Collective::all_gather, recv, count * size_);
  const size_t bytes = count * elem_size(type);
  auto s = static_cast<const char*>(send);
  auto r = static_cast<const char*>(recv);
  bool in_place = s == r + rank_ * bytes;
  CKF_CHECK(in_place || count == 0 || s + bytes <= r || r + size_ * bytes <= s,
            where("all_gather") << ": send overlaps recv but is not recv + rank*count (the in-place form)");
  CKF_COMM_CALL("all_gather", do_all_gather(send, recv, count, type));
  tally(Collective::all_gather, size_ * bytes);
}

void Communicator::reduce_scatter(const void* send, void* recv, int64_t count, ElemType type, ReduceOp op) {
  check_buffer(Collective::reduce_scatter, send, count * size_);
  check_buffer(Collective::reduce_scatter, recv, count);
  const size_t bytes = count * elem_size(type);
  auto s = static_cast<const char*>(send);
  auto r = static_cast<const char*>(recv);
  CKF_CHECK(count == 0 || s + size_ * bytes <= r || r + bytes <= s,
            where("reduce_scatter") << ": send and recv overlap");
  CKF_COMM_CALL("reduce_scatter", do_reduce_scatter(send, recv, count, type, op));
  tally(Collective::reduce_scatter, size_ * bytes);
}

void Communicator::broadcast(void* buf, int64_t count, ElemType type, int root) {
  check_buffer(Collective::broadcast, buf, count);
  CKF_CHECK(root >= 0 && root < size_, where("broadcast") << ": root " << root << " outside [0, " << size_ << ")");
  CKF_COMM_CALL("broadcast", do_broadcast(buf, count, type, root));
  tally(Collective::broadcast, count * elem_size(type), root);
}

void Communicator::barrier() {
  CKF_COMM_CALL("barrier", do_barrier());
  tally(Collective::barrier, 0);
}

void Communicator::all_reduce(const Tensor& t, ReduceOp op) {
  check_tensor(Collective::all_reduce, t);
  all_reduce(t.raw(), t.numel(), elem_type_of(t.dtype()), op);
}

void Communicator::check_sharded(Collective c, const Tensor& shard, const Tensor& full) const {
  check_tensor(c, shard);
  check_tensor(c, full);
  CKF_CHECK(shard.dtype() == full.dtype() && shard.ndim() >= 1 && full.ndim() == shard.ndim(),
            where(collective_name(c)) << ": shard " << shard.describe() << " and full " << full.describe()
                                      << " differ in dtype or rank");
  Shape want = shard.shape();
  want[0] *= size_;
  CKF_CHECK(full.shape() == want, where(collective_name(c)) << ": full tensor " << full.describe()
                                                            << ", expected shape " << shape_str(want));
}

void Communicator::all_gather(const Tensor& shard, const Tensor& full) {
  check_sharded(Collective::all_gather, shard, full);
  all_gather(shard.raw(), full.raw(), shard.numel(), elem_type_of(shard.dtype()));
}

void Communicator::reduce_scatter(const Tensor& full, const Tensor& shard, ReduceOp op) {
  check_sharded(Collective::reduce_scatter, shard, full);
  reduce_scatter(full.raw(), shard.raw(), shard.numel(), elem_type_of(shard.dtype()), op);
}

void Communicator::broadcast(const Tensor& t, int root) {
  check_tensor(Collective::broadcast, t);
  broadcast(t.raw(), t.numel(), elem_type_of(t.dtype()), root);
}

std::unique_ptr<Communicator> Communicator::split(int color, int key, const std::string& name) {
  CKF_CHECK(!name.empty(), where("split") << ": sub-group needs a name");
  std::unique_ptr<Communicator> sub;
  CKF_COMM_CALL("split", sub = do_split(color, key, name));
  return sub;
}

}  // namespace ckf
