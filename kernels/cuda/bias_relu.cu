#include "kernels/cuda/bias_relu.h"
#include "kernels/cuda/check.h"

namespace ckf::cuda {

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__global__ void bias_relu_forward_kernel(float* out, float* act, const float* bias, int D, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float v = out[i] + bias[i % D];
  out[i] = v;
  if (act) act[i] = fmaxf(v, 0.0f);
}

__global__ void relu_backward_kernel(float* d, const float* pre, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  if (!(pre[i] > 0.0f)) d[i] = 0.0f;
}

__global__ void bias_backward_kernel(float* dbias, const float* dout, int N, int D) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= D) return;
  float sum = 0.0f;
  for (int n = 0; n < N; ++n) sum += dout[static_cast<int64_t>(n) * D + j];
  dbias[j] += sum;
}

}  // namespace

void bias_relu_forward(float* out, float* act, const float* bias, int N, int D, cudaStream_t stream) {
  const int64_t n = static_cast<int64_t>(N) * D;
  if (n == 0) return;
  bias_relu_forward_kernel<<<blocks_for(n), kThreads, 0, stream>>>(out, act, bias, D, n);
  CUDA_CHECK_LAUNCH("bias_relu_forward_kernel");
}

void relu_backward(float* d, const float* pre, int N, int D, cudaStream_t stream) {
  const int64_t n = static_cast<int64_t>(N) * D;
  if (n == 0) return;
  relu_backward_kernel<<<blocks_for(n), kThreads, 0, stream>>>(d, pre, n);
  CUDA_CHECK_LAUNCH("relu_backward_kernel");
}

void bias_backward(float* dbias, const float* dout, int N, int D, cudaStream_t stream) {
  if (N == 0 || D == 0) return;
  bias_backward_kernel<<<blocks_for(D), kThreads, 0, stream>>>(dbias, dout, N, D);
  CUDA_CHECK_LAUNCH("bias_backward_kernel");
}

}  // namespace ckf::cuda
