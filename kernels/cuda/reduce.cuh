// Warp and block reductions in fp32 shared by the row-wise kernels (one block per row).
#pragma once
#include <cuda_runtime.h>

namespace ckf::cuda {

__device__ inline float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ inline float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Every thread of the block gets the total; blockDim.x must be a multiple of 32 (at most 1024).
// The leading __syncthreads lets a block call this several times in a row with one scratch array.
template <bool IsMax>
__device__ inline float block_reduce(float v) {
  __shared__ float scratch[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = IsMax ? warp_max(v) : warp_sum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : (IsMax ? -INFINITY : 0.0f);
  return IsMax ? warp_max(v) : warp_sum(v);
}

__device__ inline float block_sum(float v) { return block_reduce<false>(v); }
__device__ inline float block_max(float v) { return block_reduce<true>(v); }

}  // namespace ckf::cuda
