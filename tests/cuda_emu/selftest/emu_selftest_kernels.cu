#include "tests/cuda_emu/selftest/emu_selftest_kernels.h"

namespace ckf_emu_selftest {

namespace {

__global__ void block_sum_kernel(float* out, const float* x, int n, bool with_sync) {
  extern __shared__ float partial[];  // (blockDim.x)
  float s = 0.0f;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += x[i];
  partial[threadIdx.x] = s;
  if (with_sync) __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    if (with_sync) __syncthreads();
  }
  if (threadIdx.x == 0) out[0] = partial[0];
}

__global__ void divergent_syncthreads_kernel() {
  if (threadIdx.x % 2 == 0) return;
  __syncthreads();
}

__global__ void warp_sums_kernel(float* out_xor, float* out_down, const float* x) {
  __shared__ float lanes[32];  // this warp's inputs, read back by lane 0 to check static shared memory
  const int i = blockIdx.x * blockDim.x + threadIdx.x, lane = threadIdx.x % 32;
  const float v = x[i];
  float a = v;
  for (int o = 16; o > 0; o >>= 1) a += __shfl_xor_sync(0xffffffffu, a, o);
  float b = v;
  for (int o = 16; o > 0; o >>= 1) b += __shfl_down_sync(0xffffffffu, b, o);
  b = __shfl_sync(0xffffffffu, b, 0);
  if (threadIdx.x < 32) lanes[lane] = v;
  __syncwarp();
  if (lane == 0) out_xor[i / 32] = a;
  if (lane == 1) out_down[i / 32] = b;
  if (threadIdx.x == 0) {
    float s = 0.0f;
    for (int l = 0; l < 32; l++) s += lanes[l];
    if (fabsf(s - a) > 1e-4f) out_xor[i / 32] = -100.0f;  // the static shared array disagrees with the shuffles
  }
}

__global__ void shuffle_after_exit_kernel(float* out) {
  if (threadIdx.x >= 16) return;
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
}

__global__ void fill_iota_kernel(float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = static_cast<float>(i);
}

}  // namespace

void block_sum(float* out, const float* x, int n, int threads, bool with_sync) {
  block_sum_kernel<<<1, threads, threads * sizeof(float)>>>(out, x, n, with_sync);
}

void divergent_syncthreads() { divergent_syncthreads_kernel<<<1, 64>>>(); }

void warp_sums(float* out_xor, float* out_down, const float* x, int n) {
  warp_sums_kernel<<<n / 64, 64>>>(out_xor, out_down, x);
}

void shuffle_after_exit() {
  float* out = nullptr;
  cudaMalloc(&out, 32 * sizeof(float));
  shuffle_after_exit_kernel<<<1, 32>>>(out);
}

cudaError_t fill_iota(float* out, int n, int threads, size_t smem, int opt_in) {
  if (opt_in > 0) {
    const cudaError_t err = cudaFuncSetAttribute(fill_iota_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, opt_in);
    if (err != cudaSuccess) return err;
  }
  fill_iota_kernel<<<(n + threads - 1) / threads, threads, smem>>>(out, n);
  return cudaGetLastError();
}

}  // namespace ckf_emu_selftest
