// GEMM on the GPU through cuBLAS, row-major like kernels/cpu/matmul.h: c (M, N) = alpha op(a) op(b) + beta c.
// Operands are fp32 or bf16 (a and b share a type; c is fp32 or bf16); accumulation is always fp32.
#pragma once
#include <cublas_v2.h>

#include <cstdint>

namespace ckf::cuda {

enum class GemmType { f32, bf16 };

void gemm(cublasHandle_t handle, void* c, GemmType c_type, const void* a, const void* b, GemmType ab_type, int M,
          int N, int K, bool trans_a, bool trans_b, float alpha = 1.0f, float beta = 0.0f);

// `batch` independent gemms; operand i starts at base + i * stride (strides in elements), as
// cpu::gemm_strided_batched.
void gemm_strided_batched(cublasHandle_t handle, void* c, GemmType c_type, const void* a, const void* b,
                          GemmType ab_type, int batch, int M, int N, int K, bool trans_a, bool trans_b,
                          int64_t stride_a, int64_t stride_b, int64_t stride_c, float alpha = 1.0f,
                          float beta = 0.0f);

}  // namespace ckf::cuda
