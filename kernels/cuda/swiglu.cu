#include "kernels/cuda/check.h"
#include "kernels/cuda/swiglu.h"

namespace ckf::cuda {

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__global__ void swiglu_forward_kernel(__nv_bfloat16* out, const __nv_bfloat16* gate, const __nv_bfloat16* up,
                                      int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float g = __bfloat162float(gate[i]);
  const float s = 1.0f / (1.0f + expf(-g));
  out[i] = __float2bfloat16(g * s * __bfloat162float(up[i]));
}

// d silu(g)/dg = s * (1 + g * (1 - s)) with s = sigmoid(g).
__global__ void swiglu_backward_kernel(__nv_bfloat16* dgate, __nv_bfloat16* dup, const __nv_bfloat16* dout,
                                       const __nv_bfloat16* gate, const __nv_bfloat16* up, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float g = __bfloat162float(gate[i]), u = __bfloat162float(up[i]), dy = __bfloat162float(dout[i]);
  const float s = 1.0f / (1.0f + expf(-g));
  dgate[i] = __float2bfloat16(dy * u * s * (1.0f + g * (1.0f - s)));
  dup[i] = __float2bfloat16(dy * g * s);
}

}  // namespace

void swiglu_forward(__nv_bfloat16* out, const __nv_bfloat16* gate, const __nv_bfloat16* up, int64_t n,
                    cudaStream_t stream) {
  if (n == 0) return;
  swiglu_forward_kernel<<<blocks_for(n), kThreads, 0, stream>>>(out, gate, up, n);
  CUDA_CHECK_LAUNCH("swiglu_forward_kernel");
}

void swiglu_backward(__nv_bfloat16* dgate, __nv_bfloat16* dup, const __nv_bfloat16* dout, const __nv_bfloat16* gate,
                     const __nv_bfloat16* up, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  swiglu_backward_kernel<<<blocks_for(n), kThreads, 0, stream>>>(dgate, dup, dout, gate, up, n);
  CUDA_CHECK_LAUNCH("swiglu_backward_kernel");
}

}  // namespace ckf::cuda
