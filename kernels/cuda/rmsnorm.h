// RMSNorm on the GPU, bf16 storage with fp32 accumulation; twin of kernels/cpu/rmsnorm.h.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace ckf::cuda {

// out (N, C) bf16, rstd (N) fp32, inp (N, C) bf16, weight (C) bf16.
void rmsnorm_forward(__nv_bfloat16* out, float* rstd, const __nv_bfloat16* inp, const __nv_bfloat16* weight, int N,
                     int C, float eps, cudaStream_t stream);

// Residual add fused with the norm that follows it in a LLaMA block:
// residual_out (N, C) = bf16(inp + residual), then out = rmsnorm(residual_out) exactly as rmsnorm_forward.
// The backward of the sum needs no kernel: pass the residual stream's gradient as dinp of
// rmsnorm_backward, which accumulates the norm's contribution into it.
void rmsnorm_residual_forward(__nv_bfloat16* residual_out, __nv_bfloat16* out, float* rstd,
                              const __nv_bfloat16* inp, const __nv_bfloat16* residual, const __nv_bfloat16* weight,
                              int N, int C, float eps, cudaStream_t stream);

// dinp (N, C) bf16 += ...; dweight (C) fp32 += ... when non-null (frozen norms pass nullptr).
// inp is the normalised input (residual_out of the fused variant), rstd from the forward.
void rmsnorm_backward(__nv_bfloat16* dinp, float* dweight, const __nv_bfloat16* dout, const __nv_bfloat16* inp,
                      const __nv_bfloat16* weight, const float* rstd, int N, int C, cudaStream_t stream);

}  // namespace ckf::cuda
