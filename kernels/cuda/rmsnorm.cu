#include "kernels/cuda/check.h"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/rmsnorm.h"

namespace ckf::cuda {

namespace {

constexpr int kThreads = 256;  // one block per row; rows are a few hundred to a few thousand wide

// With `residual` non-null the normalised row is bf16(inp + residual), stored to residual_out; the
// statistics are taken over the rounded values so that backward, which reads residual_out, agrees.
__global__ void rmsnorm_forward_kernel(__nv_bfloat16* residual_out, __nv_bfloat16* out, float* rstd,
                                       const __nv_bfloat16* inp, const __nv_bfloat16* residual,
                                       const __nv_bfloat16* weight, int C, float eps) {
  const size_t base = static_cast<size_t>(blockIdx.x) * C;
  float acc = 0.0f;
  for (int i = threadIdx.x; i < C; i += blockDim.x) {
    float v = __bfloat162float(inp[base + i]);
    if (residual) {
      const __nv_bfloat16 sum = __float2bfloat16(v + __bfloat162float(residual[base + i]));
      residual_out[base + i] = sum;
      v = __bfloat162float(sum);
    }
    acc += v * v;
  }
  const float r = rsqrtf(block_sum(acc) / C + eps);
  if (threadIdx.x == 0) rstd[blockIdx.x] = r;
  const __nv_bfloat16* x = residual ? residual_out : inp;  // each thread rereads only what it wrote
  for (int i = threadIdx.x; i < C; i += blockDim.x)
    out[base + i] = __float2bfloat16(__bfloat162float(x[base + i]) * r * __bfloat162float(weight[i]));
}

// dx = r * (w * dy) - r^3 / C * x * sum(w * dy * x), as in the CPU twin.
__global__ void rmsnorm_backward_kernel(__nv_bfloat16* dinp, float* dweight, const __nv_bfloat16* dout,
                                        const __nv_bfloat16* inp, const __nv_bfloat16* weight, const float* rstd,
                                        int C) {
  const size_t base = static_cast<size_t>(blockIdx.x) * C;
  const float r = rstd[blockIdx.x];
  float acc = 0.0f;
  for (int i = threadIdx.x; i < C; i += blockDim.x)
    acc += __bfloat162float(weight[i]) * __bfloat162float(dout[base + i]) * __bfloat162float(inp[base + i]);
  const float k = block_sum(acc) * r * r * r / C;
  for (int i = threadIdx.x; i < C; i += blockDim.x) {
    const float x = __bfloat162float(inp[base + i]), dy = __bfloat162float(dout[base + i]);
    const float dx = r * __bfloat162float(weight[i]) * dy - k * x;
    dinp[base + i] = __float2bfloat16(__bfloat162float(dinp[base + i]) + dx);
    if (dweight) atomicAdd(&dweight[i], dy * x * r);
  }
}

}  // namespace

void rmsnorm_forward(__nv_bfloat16* out, float* rstd, const __nv_bfloat16* inp, const __nv_bfloat16* weight, int N,
                     int C, float eps, cudaStream_t stream) {
  if (N == 0) return;
  rmsnorm_forward_kernel<<<N, kThreads, 0, stream>>>(nullptr, out, rstd, inp, nullptr, weight, C, eps);
  CUDA_CHECK_LAUNCH("rmsnorm_forward_kernel");
}

void rmsnorm_residual_forward(__nv_bfloat16* residual_out, __nv_bfloat16* out, float* rstd,
                              const __nv_bfloat16* inp, const __nv_bfloat16* residual, const __nv_bfloat16* weight,
                              int N, int C, float eps, cudaStream_t stream) {
  if (N == 0) return;
  rmsnorm_forward_kernel<<<N, kThreads, 0, stream>>>(residual_out, out, rstd, inp, residual, weight, C, eps);
  CUDA_CHECK_LAUNCH("rmsnorm_forward_kernel");
}

void rmsnorm_backward(__nv_bfloat16* dinp, float* dweight, const __nv_bfloat16* dout, const __nv_bfloat16* inp,
                      const __nv_bfloat16* weight, const float* rstd, int N, int C, cudaStream_t stream) {
  if (N == 0) return;
  rmsnorm_backward_kernel<<<N, kThreads, 0, stream>>>(dinp, dweight, dout, inp, weight, rstd, C);
  CUDA_CHECK_LAUNCH("rmsnorm_backward_kernel");
}

}  // namespace ckf::cuda
