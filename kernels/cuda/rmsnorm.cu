#include "kernels/cuda/check.h"
#include "kernels/cuda/rmsnorm.h"

namespace ckf::cuda {

// One block per row: each thread sums squares over a strided slice, a shared-memory tree reduces.
__global__ void rmsnorm_forward_kernel(__nv_bfloat16* out, float* rstd, const __nv_bfloat16* inp,
                                       const __nv_bfloat16* weight, int C, float eps) {
  extern __shared__ float partial[];
  const int row = blockIdx.x;
  const __nv_bfloat16* x = inp + static_cast<size_t>(row) * C;
  float acc = 0.0f;
  for (int i = threadIdx.x; i < C; i += blockDim.x) {
    float v = __bfloat162float(x[i]);
    acc += v * v;
  }
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  const float r = rsqrtf(partial[0] / C + eps);
  if (threadIdx.x == 0) rstd[row] = r;
  __nv_bfloat16* y = out + static_cast<size_t>(row) * C;
  for (int i = threadIdx.x; i < C; i += blockDim.x)
    y[i] = __float2bfloat16(__bfloat162float(x[i]) * r * __bfloat162float(weight[i]));
}

void rmsnorm_forward(__nv_bfloat16* out, float* rstd, const __nv_bfloat16* inp, const __nv_bfloat16* weight, int N,
                     int C, float eps, cudaStream_t stream) {
  constexpr int threads = 256;  // a power of two, for the tree reduction
  rmsnorm_forward_kernel<<<N, threads, threads * sizeof(float), stream>>>(out, rstd, inp, weight, C, eps);
  CUDA_CHECK_LAUNCH("rmsnorm_forward_kernel");
}

}  // namespace ckf::cuda
