// Kernel execution of the CUDA emulator: one block at a time, each CUDA thread a fiber. See
// block_exec.h. Fibers are persistent and pooled across blocks and launches: a fiber's entry
// function runs one CUDA thread's body after another. A fiber is entered once with ucontext, and
// every later switch is _setjmp/_longjmp, which (unlike swapcontext) make no system call: glibc's
// swapcontext saves and restores the signal mask, which dominated the emulator's run time.
//
// _FORTIFY_SOURCE turns _longjmp into __longjmp_chk, which rejects a jump to another stack (it
// takes it for a jump into an unwound frame): it must be off before the first system header.
#undef _FORTIFY_SOURCE
#include "tests/cuda_emu/block_exec.h"

#include <setjmp.h>
#include <sys/mman.h>
#include <ucontext.h>
#if defined(__USE_FORTIFY_LEVEL) && __USE_FORTIFY_LEVEL > 0
#error "block_exec.cpp switches stacks with _longjmp, which _FORTIFY_SOURCE checks and rejects"
#endif

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "tests/cuda_emu/runtime_state.h"

namespace ckf_emu {

// Static TLS (this library is linked, never dlopen'ed): the accesses here are then plain loads,
// not a __tls_get_addr call each, which showed in profiles at every fiber switch.
#define CKF_EMU_STATIC_TLS __attribute__((tls_model("initial-exec")))

CKF_EMU_STATIC_TLS thread_local ThreadCoords tl_coords;

namespace {

constexpr size_t kStackBytes = 256 << 10;  // virtual; a kernel thread touches a few pages
constexpr size_t kGuardBytes = 4096;       // below each stack: an overflow faults instead of corrupting

enum class State { runnable, at_barrier, at_warp_op, exited };

// A pooled fiber: its stack and, while it is suspended, where it resumes.
struct FiberStack {
  char* mem = nullptr;   // (kGuardBytes + kStackBytes) mapping, guard page first
  jmp_buf resume;        // valid once `entered`
  bool entered = false;  // whether fiber_main runs on it (then it waits in a switch)
};

struct Fiber {
  FiberStack* stack = nullptr;  // from the pool, for the duration of a launch
  State state = State::runnable;
  uint3 idx{};
  // The pending warp operation: what it is, its mask, the offered value, the wanted lane, the result.
  const char* warp_kind = nullptr;
  uint32_t warp_mask = 0;
  uint64_t warp_value = 0, warp_result = 0;
  int warp_src = 0;
};

// The block being run on this host thread.
struct Block {
  const char* kernel = nullptr;
  uint3 block_idx{};
  std::vector<Fiber> fibers;  // (threads of the block), linear thread index
  int current = -1;           // running fiber, -1 in the scheduler
  jmp_buf scheduler;          // where the running fiber returns to
  ThreadBody body = nullptr;
  void* body_ctx = nullptr;
  // Shared memory: dynamic area first, static variables after it, all within `limit` bytes.
  std::vector<unsigned char> shared;  // (limit) bytes
  size_t dynamic_bytes = 0, static_used = 0, limit = 0;
  std::vector<std::pair<const void*, size_t>> statics;  // tag -> offset in `shared`
};

CKF_EMU_STATIC_TLS thread_local Block tl_block;

Block& running_block(const char* what) {
  Block& b = tl_block;
  if (b.current < 0) {
    std::fprintf(stderr, "ckf CUDA emulator: %s called outside a kernel\n", what);
    std::abort();
  }
  return b;
}

// The running fiber stops (its state says why) and the scheduler continues.
void fiber_suspend(Block& b, Fiber& f) {
  if (!_setjmp(f.stack->resume)) _longjmp(b.scheduler, 1);
}

// A fiber's entry: runs the body of whichever CUDA thread the scheduler resumes it as (found through
// the host thread's tl_block), then waits as an exited thread until it is resumed as the next one.
// No reference into b.fibers is held across a suspension: the next launch may resize it.
[[noreturn]] void fiber_main() {
  while (true) {
    Block& b = tl_block;
    b.body(b.body_ctx);
    Fiber& f = b.fibers[b.current];
    f.state = State::exited;
    fiber_suspend(b, f);
  }
}

// First switch to a pooled fiber: starts fiber_main on its stack (the scheduler is already saved).
[[noreturn]] void fiber_enter(FiberStack& s) {
  s.entered = true;
  ucontext_t uc;
  getcontext(&uc);
  uc.uc_stack.ss_sp = s.mem + kGuardBytes;
  uc.uc_stack.ss_size = kStackBytes;
  uc.uc_link = nullptr;
  makecontext(&uc, fiber_main, 0);
  setcontext(&uc);
  std::abort();  // setcontext does not return on success
}

FiberStack* stack_take(std::vector<FiberStack*>& pool) {
  if (!pool.empty()) {
    FiberStack* s = pool.back();
    pool.pop_back();
    return s;
  }
  void* p = mmap(nullptr, kGuardBytes + kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) kernel_fault("cannot map a fiber stack");
  mprotect(p, kGuardBytes, PROT_NONE);
  FiberStack* s = new FiberStack;  // pooled for the host thread's lifetime, like the mapping
  s->mem = static_cast<char*>(p);
  return s;
}

thread_local std::vector<FiberStack*> tl_stack_pool;

// A fixed, not ascending order in which runnable threads of a block are resumed: a kernel that
// misses a __syncthreads then tends to read another thread's shared data before it is written.
const std::vector<int>& resume_order(int threads) {
  thread_local std::vector<std::vector<int>> orders(1025);
  std::vector<int>& o = orders[threads];
  if (o.empty()) {
    o.resize(threads);
    std::iota(o.begin(), o.end(), 0);
    std::mt19937 gen(12345u + threads);
    std::shuffle(o.begin(), o.end(), gen);
  }
  return o;
}

std::string block_name(const Block& b) {
  return std::string("kernel ") + b.kernel + ", block (" + std::to_string(b.block_idx.x) + "," +
         std::to_string(b.block_idx.y) + "," + std::to_string(b.block_idx.z) + ")";
}

// Aborts for a warp operation that can never complete (the names are built only then).
[[noreturn]] void lane_fault(const Block& b, const std::string& what, int w0, int l) {
  kernel_fault((what + ": " + block_name(b) + ", warp " + std::to_string(w0 / 32) + ", lane " + std::to_string(l)).c_str());
}

void switch_to(Block& b, int i) {
  Fiber& f = b.fibers[i];
  b.current = i;
  tl_coords.thread_idx = f.idx;
  if (!_setjmp(b.scheduler)) {
    if (!f.stack->entered) fiber_enter(*f.stack);
    _longjmp(f.stack->resume, 1);
  }
  b.current = -1;
}

// Releases every warp whose mask lanes all wait at the same operation; aborts on a warp that can
// never complete. Returns whether one was released.
bool release_warps(Block& b) {
  bool released = false;
  const int n = static_cast<int>(b.fibers.size());
  for (int w0 = 0; w0 < n; w0 += 32) {
    const int lanes = std::min(32, n - w0);
    int first = -1;
    for (int l = 0; l < lanes; l++)
      if (b.fibers[w0 + l].state == State::at_warp_op) first = w0 + l;
    if (first < 0) continue;
    const Fiber& f0 = b.fibers[first];
    bool complete = true;
    for (int l = 0; l < 32; l++) {
      if (!(f0.warp_mask >> l & 1u)) continue;
      if (l >= lanes) lane_fault(b, std::string(f0.warp_kind) + " mask names a lane that does not exist", w0, l);
      const Fiber& f = b.fibers[w0 + l];
      if (f.state == State::exited) lane_fault(b, std::string(f0.warp_kind) + " waits for a lane that has exited", w0, l);
      if (f.state != State::at_warp_op) {
        complete = false;
        continue;
      }
      if (std::strcmp(f.warp_kind, f0.warp_kind) != 0 || f.warp_mask != f0.warp_mask)
        lane_fault(b,
                   std::string("lanes of one warp call different warp operations (") + f0.warp_kind + " / " +
                       f.warp_kind + ", or different masks)",
                   w0, l);
    }
    if (!complete) continue;
    for (int l = 0; l < lanes; l++) {
      Fiber& f = b.fibers[w0 + l];
      if (!(f0.warp_mask >> l & 1u)) continue;
      if (f.warp_src < 0 || f.warp_src >= 32 || !(f0.warp_mask >> f.warp_src & 1u))
        kernel_fault((std::string(f.warp_kind) + " reads a lane outside its mask: " + block_name(b)).c_str());
      f.warp_result = b.fibers[w0 + f.warp_src].warp_value;
    }
    for (int l = 0; l < lanes; l++)
      if (f0.warp_mask >> l & 1u) b.fibers[w0 + l].state = State::runnable;
    released = true;
  }
  return released;
}

// After every thread stopped: the block barrier opens when all threads wait at it.
void release_barrier(Block& b) {
  int at_barrier = 0, exited = 0, at_warp = 0;
  for (const Fiber& f : b.fibers) {
    at_barrier += f.state == State::at_barrier;
    exited += f.state == State::exited;
    at_warp += f.state == State::at_warp_op;
  }
  if (at_barrier == static_cast<int>(b.fibers.size())) {
    for (Fiber& f : b.fibers) f.state = State::runnable;
    return;
  }
  kernel_fault(("deadlock: " + std::to_string(at_barrier) + " threads wait at __syncthreads while " +
                std::to_string(exited) + " have exited and " + std::to_string(at_warp) +
                " wait at a warp operation (a __syncthreads not reached by every thread of the block)")
                   .c_str());
}

void run_block(Block& b) {
  const int n = static_cast<int>(b.fibers.size());
  // A pooled fiber resumed as runnable starts the body afresh (it waits in fiber_main's loop).
  for (Fiber& f : b.fibers) f.state = State::runnable;
  std::memset(b.shared.data(), 0xFF, b.dynamic_bytes);
  b.static_used = 0;
  b.statics.clear();
  const std::vector<int>& order = resume_order(n);
  int exited = 0;
  while (true) {
    for (int i : order)
      if (b.fibers[i].state == State::runnable) switch_to(b, i);
    exited = 0;
    for (const Fiber& f : b.fibers) exited += f.state == State::exited;
    if (exited == n) return;
    if (!release_warps(b)) release_barrier(b);
  }
}

}  // namespace

void kernel_fault(const char* what) {
  const Block& b = tl_block;
  std::fprintf(stderr, "ckf CUDA emulator: %s%s%s\n", what, b.kernel ? " in " : "",
               b.kernel ? block_name(b).c_str() : "");
  std::fflush(stderr);
  std::abort();
}

cudaError_t launch_kernel(const void* fn, const char* name, dim3 grid, dim3 block, size_t dynamic_smem,
                          cudaStream_t stream, ThreadBody body, void* ctx) {
  const size_t limit = shared_limit(fn);
  const cudaError_t err = check_launch(grid, block, dynamic_smem, limit, stream);
  if (err != cudaSuccess) return record_error(err);
  Block& b = tl_block;
  if (b.current >= 0 || b.kernel) kernel_fault("a kernel launched from inside a kernel (dynamic parallelism)");
  const int n = static_cast<int>(block.x * block.y * block.z);
  b.kernel = name;
  b.body = body;
  b.body_ctx = ctx;
  b.limit = limit;
  b.dynamic_bytes = dynamic_smem;
  if (b.shared.size() < limit) b.shared.resize(limit);
  b.fibers.resize(n);
  for (int i = 0; i < n; i++) {
    Fiber& f = b.fibers[i];
    if (!f.stack) f.stack = stack_take(tl_stack_pool);
    f.idx = uint3{i % block.x, (i / block.x) % block.y, i / (block.x * block.y)};
  }
  tl_coords.block_dim = block;
  tl_coords.grid_dim = grid;
  for (unsigned z = 0; z < grid.z; z++)
    for (unsigned y = 0; y < grid.y; y++)
      for (unsigned x = 0; x < grid.x; x++) {
        b.block_idx = uint3{x, y, z};
        tl_coords.block_idx = b.block_idx;
        run_block(b);
      }
  // Stacks go back to the pool (a later launch may use fewer threads).
  for (Fiber& f : b.fibers) tl_stack_pool.push_back(std::exchange(f.stack, nullptr));
  b.fibers.clear();
  b.kernel = nullptr;
  return cudaSuccess;
}

void block_barrier() {
  Block& b = running_block("__syncthreads");
  Fiber& f = b.fibers[b.current];
  f.state = State::at_barrier;
  fiber_suspend(b, f);
}

uint64_t warp_exchange(const char* kind, uint32_t mask, uint64_t value, int src_lane) {
  Block& b = running_block(kind);
  Fiber& f = b.fibers[b.current];
  if (!(mask >> (b.current % 32) & 1u))
    kernel_fault((std::string(kind) + " called by a lane outside its mask").c_str());
  f.state = State::at_warp_op;
  f.warp_kind = kind;
  f.warp_mask = mask;
  f.warp_value = value;
  f.warp_src = src_lane;
  fiber_suspend(b, f);
  return f.warp_result;
}

void* dynamic_shared() { return running_block("extern __shared__").shared.data(); }

void* static_shared(const void* tag, size_t bytes, size_t align) {
  Block& b = running_block("__shared__");
  for (const auto& [t, offset] : b.statics)
    if (t == tag) return b.shared.data() + offset;
  const size_t offset = (b.dynamic_bytes + b.static_used + align - 1) / align * align;
  if (offset + bytes > b.limit)
    kernel_fault(("shared memory exceeds the limit of " + std::to_string(b.limit) + " bytes (" +
                  std::to_string(b.dynamic_bytes) + " dynamic + static __shared__ variables)")
                     .c_str());
  std::memset(b.shared.data() + offset, 0xFF, bytes);
  b.static_used = offset + bytes - b.dynamic_bytes;
  b.statics.emplace_back(tag, offset);
  return b.shared.data() + offset;
}

}  // namespace ckf_emu
