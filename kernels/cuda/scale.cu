#include "kernels/cuda/check.h"
#include "kernels/cuda/scale.h"

namespace ckf::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void scale_inplace_kernel(float* x, int64_t n, float s) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] *= s;
}

}  // namespace

void scale_inplace(float* x, int64_t n, float s, cudaStream_t stream) {
  if (n == 0) return;
  const unsigned blocks = static_cast<unsigned>((n + kThreads - 1) / kThreads);
  scale_inplace_kernel<<<blocks, kThreads, 0, stream>>>(x, n, s);
  CUDA_CHECK_LAUNCH("scale_inplace_kernel");
}

}  // namespace ckf::cuda
