// LoRA adapter products on the GPU: y += scale * (x A^T) B^T with A (r, C), B (OC, r), r small.
// The trainable A and B are fp32 (with their AdamW state); the GEMMs read their bf16 copies
// (AdamWTensor::param_bf16) and accumulate in fp32; weight gradients are written in fp32.
// Split into the down (C -> r) and up (r -> OC) halves so that tensor parallelism can all-reduce
// the r-wide intermediate between them (row-parallel base) without touching these functions.
#pragma once
#include <cublas_v2.h>
#include <cuda_bf16.h>

namespace ckf::cuda {

// h (N, r) bf16 = x (N, C) @ a (r, C)^T.
void lora_down_forward(cublasHandle_t handle, __nv_bfloat16* h, const __nv_bfloat16* x, const __nv_bfloat16* a, int N,
                       int C, int r);

// y (N, OC) bf16 += scale * h (N, r) @ b (OC, r)^T.
void lora_up_forward(cublasHandle_t handle, __nv_bfloat16* y, const __nv_bfloat16* h, const __nv_bfloat16* b,
                     float scale, int N, int r, int OC);

// db (OC, r) fp32 += scale * dy (N, OC)^T @ h (N, r);  dh (N, r) bf16 = scale * dy @ b (OC, r).
void lora_up_backward(cublasHandle_t handle, float* db, __nv_bfloat16* dh, const __nv_bfloat16* dy,
                      const __nv_bfloat16* h, const __nv_bfloat16* b, float scale, int N, int r, int OC);

// da (r, C) fp32 += dh (N, r)^T @ x (N, C);  dx (N, C) bf16 += dh @ a (r, C).
void lora_down_backward(cublasHandle_t handle, float* da, __nv_bfloat16* dx, const __nv_bfloat16* dh,
                        const __nv_bfloat16* x, const __nv_bfloat16* a, int N, int C, int r);

}  // namespace ckf::cuda
