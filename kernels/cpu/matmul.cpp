#include "kernels/cpu/matmul.h"

#include <cblas.h>

#include "core/check.h"

namespace ckf::cpu {

void blas_set_threads(int n) {
  CKF_CHECK(n >= 1, "blas_set_threads: thread count " << n << " must be >= 1");
  openblas_set_num_threads(n);
}

void gemm(float* c, const float* a, const float* b, int M, int N, int K, bool trans_a, bool trans_b, float alpha,
          float beta) {
  CKF_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm: negative size M=" << M << " N=" << N << " K=" << K);
  if (M == 0 || N == 0) return;
  // Leading dimensions of the operands as stored row-major: the length of a stored row.
  const int lda = trans_a ? M : K;
  const int ldb = trans_b ? K : N;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha,
              a, lda > 0 ? lda : 1, b, ldb > 0 ? ldb : 1, beta, c, N);
}

void gemm_strided_batched(float* c, const float* a, const float* b, int batch, int M, int N, int K, bool trans_a,
                          bool trans_b, int64_t stride_a, int64_t stride_b, int64_t stride_c, float alpha,
                          float beta) {
  CKF_CHECK(batch >= 0, "gemm_strided_batched: negative batch " << batch);
  for (int i = 0; i < batch; i++)
    gemm(c + i * stride_c, a + i * stride_a, b + i * stride_b, M, N, K, trans_a, trans_b, alpha, beta);
}

void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC) {
  if (bias) {
    for (int n = 0; n < N; n++)
      for (int o = 0; o < OC; o++) out[static_cast<int64_t>(n) * OC + o] = bias[o];
  }
  gemm(out, inp, weight, N, OC, C, false, true, 1.0f, bias ? 1.0f : 0.0f);
}

void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int N, int C, int OC) {
  gemm(dinp, dout, weight, N, C, OC, false, false, 1.0f, 1.0f);  // (N, OC) @ (OC, C)
  if (dweight) gemm(dweight, dout, inp, OC, C, N, true, false, 1.0f, 1.0f);  // (N, OC)^T @ (N, C)
  if (dbias) {
    for (int n = 0; n < N; n++)
      for (int o = 0; o < OC; o++) dbias[o] += dout[static_cast<int64_t>(n) * OC + o];
  }
}

}  // namespace ckf::cpu
