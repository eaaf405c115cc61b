// GEMM on the GPU through cuBLAS, row-major like kernels/cpu/matmul.h: c (M, N) = alpha op(a) op(b) + beta c.
// Operands are fp32 or bf16 (a and b share a type; c is fp32 or bf16); accumulation is always fp32.
#pragma once
#include <cublas_v2.h>

namespace ckf::cuda {

enum class GemmType { f32, bf16 };

void gemm(cublasHandle_t handle, void* c, GemmType c_type, const void* a, const void* b, GemmType ab_type, int M,
          int N, int K, bool trans_a, bool trans_b, float alpha = 1.0f, float beta = 0.0f);

}  // namespace ckf::cuda
