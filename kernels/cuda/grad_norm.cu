#include <algorithm>
#include <cmath>

#include "kernels/cuda/check.h"
#include "kernels/cuda/grad_norm.h"

namespace ckf::cuda {

namespace {

constexpr int kThreads = 256;                  // a power of two: the shared-memory tree halves it
constexpr int64_t kMaxBlocksPerTensor = 128;   // grid-stride beyond kThreads * 128 elements

// Sum of v over the block in a fixed tree order (deterministic, unlike atomics); thread 0 gets it.
__device__ double block_sum_fixed_order(double v) {
  __shared__ double partial[kThreads];  // (kThreads)
  const int tid = static_cast<int>(threadIdx.x);
  partial[tid] = v;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (tid < half) partial[tid] += partial[tid + half];
    __syncthreads();
  }
  return partial[0];
}

// Grid (blocks, count): blockIdx.y picks the tensor, block x sums elements x*kThreads + k*stride.
// partials (count, blocks) gets one sum per block, written even by blocks past a small tensor's end.
__global__ void grad_sum_squares_partial_kernel(double* partials, const GradNormTensor* tensors) {
  const GradNormTensor t = tensors[blockIdx.y];
  double acc = 0.0;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < t.n;
       i += static_cast<int64_t>(gridDim.x) * kThreads) {
    const float g = t.grad[i];
    // An uncounted tensor adds no square (another rank counts it) but still poisons the sum.
    acc += t.counted ? static_cast<double>(g) * g : (isfinite(g) ? 0.0 : static_cast<double>(NAN));
  }
  acc = block_sum_fixed_order(acc);
  if (threadIdx.x == 0) partials[static_cast<int64_t>(blockIdx.y) * gridDim.x + blockIdx.x] = acc;
}

// One block: thread k sums partials k, k + kThreads, ... in order, then the fixed tree.
__global__ void grad_sum_squares_final_kernel(double* sum, const double* partials, int64_t n_partials) {
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < n_partials; i += kThreads) acc += partials[i];
  acc = block_sum_fixed_order(acc);
  if (threadIdx.x == 0) *sum = acc;
}

int64_t blocks_per_tensor(int64_t max_n) {
  return std::clamp<int64_t>((max_n + kThreads - 1) / kThreads, 1, kMaxBlocksPerTensor);
}

}  // namespace

size_t grad_sum_squares_workspace(int count, int64_t max_n) {
  return static_cast<size_t>(count) * static_cast<size_t>(blocks_per_tensor(max_n));
}

void grad_sum_squares(double* sum, const GradNormTensor* tensors, int count, int64_t max_n, double* workspace,
                      cudaStream_t stream) {
  CKF_CHECK(count >= 0 && max_n >= 0, "grad_sum_squares: " << count << " tensors, max_n " << max_n);
  CKF_CHECK(count <= 65535, "grad_sum_squares: " << count << " tensors exceed one launch's 65535");
  if (count == 0) {
    CUDA_CHECK(cudaMemsetAsync(sum, 0, sizeof(double), stream));
    return;
  }
  const int64_t blocks = blocks_per_tensor(max_n);
  grad_sum_squares_partial_kernel<<<dim3(static_cast<unsigned>(blocks), count), kThreads, 0, stream>>>(workspace,
                                                                                                     tensors);
  CUDA_CHECK_LAUNCH("grad_sum_squares_partial_kernel");
  grad_sum_squares_final_kernel<<<1, kThreads, 0, stream>>>(sum, workspace, blocks * count);
  CUDA_CHECK_LAUNCH("grad_sum_squares_final_kernel");
}

}  // namespace ckf::cuda
