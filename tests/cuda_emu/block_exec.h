// The emulator's kernel execution (see tests/cuda_emu/README.md): blocks run one after another
// on the calling host thread; inside a block every CUDA thread is a fiber. A thread runs until it
// reaches a __syncthreads, a warp operation (__shfl*_sync, __syncwarp) or its end; the scheduler
// then releases complete warp operations and, when every thread waits at it, the block barrier.
// Anything else is a deadlock on a GPU and aborts with a message naming the kernel and block.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace ckf_emu {

// What the builtins read: the current CUDA thread's coordinates (set at every fiber switch).
struct ThreadCoords {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
};
extern thread_local ThreadCoords tl_coords;

// Launches `fn` (its identity, for cudaFuncSetAttribute limits) as kernel `name`: validates the
// configuration like the runtime (on error sets the last error and returns it, running nothing),
// then runs body(ctx) once per CUDA thread of every block.
using ThreadBody = void (*)(void* ctx);
cudaError_t launch_kernel(const void* fn, const char* name, dim3 grid, dim3 block, size_t dynamic_smem,
                          cudaStream_t stream, ThreadBody body, void* ctx);

// The calling CUDA thread waits at the block barrier.
void block_barrier();

// Warp operations: the calling lane offers `value` (up to 8 bytes) and asks for lane `src_lane`'s
// value; returns it once every lane of `mask` has called the same operation. kind names the
// operation for diagnostics (all lanes must agree).
uint64_t warp_exchange(const char* kind, uint32_t mask, uint64_t value, int src_lane);

// Shared memory of the running block: the dynamic area (extern __shared__) and static
// __shared__ variables, one per `tag` (a per-declaration address), poisoned with 0xFF.
void* dynamic_shared();
void* static_shared(const void* tag, size_t bytes, size_t align);

// Aborts the process naming the running kernel and block (a fault a GPU would not survive).
[[noreturn]] void kernel_fault(const char* what);

}  // namespace ckf_emu
