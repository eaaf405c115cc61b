#include "kernels/cuda/gemm.h"
#include "kernels/cuda/lora.h"

namespace ckf::cuda {

void lora_down_forward(cublasHandle_t handle, __nv_bfloat16* h, const __nv_bfloat16* x, const __nv_bfloat16* a, int N,
                       int C, int r) {
  gemm(handle, h, GemmType::bf16, x, a, GemmType::bf16, N, r, C, false, true);
}

void lora_up_forward(cublasHandle_t handle, __nv_bfloat16* y, const __nv_bfloat16* h, const __nv_bfloat16* b,
                     float scale, int N, int r, int OC) {
  gemm(handle, y, GemmType::bf16, h, b, GemmType::bf16, N, OC, r, false, true, scale, 1.0f);
}

void lora_up_backward(cublasHandle_t handle, float* db, __nv_bfloat16* dh, const __nv_bfloat16* dy,
                      const __nv_bfloat16* h, const __nv_bfloat16* b, float scale, int N, int r, int OC) {
  gemm(handle, db, GemmType::f32, dy, h, GemmType::bf16, OC, r, N, true, false, scale, 1.0f);
  gemm(handle, dh, GemmType::bf16, dy, b, GemmType::bf16, N, r, OC, false, false, scale, 0.0f);
}

void lora_down_backward(cublasHandle_t handle, float* da, __nv_bfloat16* dx, const __nv_bfloat16* dh,
                        const __nv_bfloat16* x, const __nv_bfloat16* a, int N, int C, int r) {
  gemm(handle, da, GemmType::f32, dh, x, GemmType::bf16, r, C, N, true, false, 1.0f, 1.0f);
  gemm(handle, dx, GemmType::bf16, dh, a, GemmType::bf16, N, C, r, false, false, 1.0f, 1.0f);
}

}  // namespace ckf::cuda
