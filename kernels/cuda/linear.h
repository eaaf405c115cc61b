// Linear layers of the frozen base model on the GPU, Hugging Face layout (weight (OC, C)); twin of
// cpu::linear_forward / cpu::linear_backward with dweight = dbias = nullptr: base weights never get
// a gradient, so no weight-gradient GEMM exists here. bf16 operands, fp32 accumulation.
#pragma once
#include <cublas_v2.h>
#include <cuda_bf16.h>

namespace ckf::cuda {

// out (N, OC) = inp (N, C) @ weight (OC, C)^T.
void linear_forward(cublasHandle_t handle, __nv_bfloat16* out, const __nv_bfloat16* inp,
                    const __nv_bfloat16* weight, int N, int C, int OC);

// dinp (N, C) += dout (N, OC) @ weight (OC, C).
void linear_backward_input(cublasHandle_t handle, __nv_bfloat16* dinp, const __nv_bfloat16* dout,
                           const __nv_bfloat16* weight, int N, int C, int OC);

}  // namespace ckf::cuda
