// Kernels that tests/unit/cuda_emu_test.cpp runs to check the CUDA emulator itself (CKF_CUDA=EMU):
// a correct and a racy block reduction, a divergent barrier, warp shuffles, launch limits.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

namespace ckf_emu_selftest {

// out[0] = sum of x[0..n) by one block of `threads` (a power of two) through shared memory; with
// with_sync false the tree reduction misses its __syncthreads (a race on a GPU).
void block_sum(float* out, const float* x, int n, int threads, bool with_sync);

// A kernel whose odd threads wait at __syncthreads while the even ones exit: a GPU deadlock.
void divergent_syncthreads();

// out_xor[w] and out_down[w] = sum of x over warp w's 32 lanes (n threads, n a multiple of 64),
// reduced with __shfl_xor_sync and with __shfl_down_sync + __shfl_sync (broadcast from lane 0).
void warp_sums(float* out_xor, float* out_down, const float* x, int n);

// A warp shuffle after half of the warp's lanes have exited: undefined on a GPU.
void shuffle_after_exit();

// Launches a kernel writing out[i] = i with `threads` threads per block over n elements and `smem`
// bytes of dynamic shared memory (after opting in to `opt_in` bytes when non-zero); returns
// cudaGetLastError() after the launch.
cudaError_t fill_iota(float* out, int n, int threads, size_t smem, int opt_in);

}  // namespace ckf_emu_selftest
