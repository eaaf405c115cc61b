// State the emulated CUDA runtime shares between its files: the one device's limits, the sticky
// last error of each host thread, per-kernel attributes, and launch validation.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

namespace ckf_emu {

// The emulated device: sm_90-like limits.
constexpr const char* kDeviceName = "ckf CUDA emulator";
constexpr size_t kTotalMemory = size_t{80} << 30;         // bytes cudaMemGetInfo reports as total
constexpr size_t kDefaultSharedBytes = 48 << 10;          // static + dynamic shared memory per block
constexpr size_t kMaxOptinSharedBytes = 227 << 10;        // after cudaFuncSetAttribute
constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr unsigned kMaxBlockDim[3] = {1024, 1024, 64};
constexpr unsigned kMaxGridDim[3] = {2147483647u, 65535u, 65535u};

// Sets the calling thread's last error (returned by cudaGetLastError) and returns err.
cudaError_t record_error(cudaError_t err);

// Shared memory a launch of `fn` may use: 48 KiB, or the cudaFuncAttributeMaxDynamicSharedMemorySize
// set for it plus nothing more (the runtime's rule: dynamic opt-in on top of no static use checked here).
size_t shared_limit(const void* fn);

// The runtime's launch checks: block and grid dimensions, shared memory, a live stream.
cudaError_t check_launch(dim3 grid, dim3 block, size_t dynamic_smem, size_t limit, cudaStream_t stream);

}  // namespace ckf_emu
