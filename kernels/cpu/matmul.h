// Dense matrix products on the CPU through OpenBLAS sgemm (row-major, fp32).
#pragma once
#include <cstdint>

namespace ckf::cpu {

// Threads OpenBLAS may use in this process; set 1 when ranks outnumber cores.
void blas_set_threads(int n);

// c (M, N) = alpha * op(a) @ op(b) + beta * c, op(x) = x or x^T.
// a is (M, K) or, transposed, (K, M); b is (K, N) or, transposed, (N, K).
void gemm(float* c, const float* a, const float* b, int M, int N, int K, bool trans_a, bool trans_b,
          float alpha = 1.0f, float beta = 0.0f);

// `batch` independent gemms; operand i starts at base + i * stride (strides in elements).
void gemm_strided_batched(float* c, const float* a, const float* b, int batch, int M, int N, int K,
                          bool trans_a, bool trans_b, int64_t stride_a, int64_t stride_b, int64_t stride_c,
                          float alpha = 1.0f, float beta = 0.0f);

// Linear layer in the Hugging Face layout: out (N, OC) = inp (N, C) @ weight (OC, C)^T [+ bias (OC)].
void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC);

// Accumulates (+=) into dinp (N, C) and, when non-null, dweight (OC, C) and dbias (OC).
// A frozen base layer passes dweight = dbias = nullptr: no weight gradient is computed.
void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int N, int C, int OC);

}  // namespace ckf::cpu
