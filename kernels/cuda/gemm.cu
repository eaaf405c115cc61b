#include <algorithm>

#include "kernels/cuda/check.h"
#include "kernels/cuda/gemm.h"

namespace ckf::cuda {

namespace {

cudaDataType_t to_cuda(GemmType t) { return t == GemmType::f32 ? CUDA_R_32F : CUDA_R_16BF; }

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: the callers swap the operands
// and keep the flags; these are the leading dimensions of A and B as stored row-major.
struct Lead {
  int a, b;
};
Lead gemm_lead(int M, int N, int K, bool trans_a, bool trans_b) {
  CKF_CHECK(M >= 0 && N >= 0 && K >= 0, "cuda gemm: negative size M=" << M << " N=" << N << " K=" << K);
  // cuBLAS rejects leading dimensions of 0 even for empty operands.
  return {std::max(trans_a ? M : K, 1), std::max(trans_b ? K : N, 1)};
}

cublasOperation_t op(bool trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

}  // namespace

void gemm(cublasHandle_t handle, void* c, GemmType c_type, const void* a, const void* b, GemmType ab_type, int M,
          int N, int K, bool trans_a, bool trans_b, float alpha, float beta) {
  const Lead ld = gemm_lead(M, N, K, trans_a, trans_b);
  if (M == 0 || N == 0) return;
  CUBLAS_CHECK(cublasGemmEx(handle, op(trans_b), op(trans_a), N, M, K, &alpha, b, to_cuda(ab_type), ld.b, a,
                            to_cuda(ab_type), ld.a, &beta, c, to_cuda(c_type), N, CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT));
}

void gemm_strided_batched(cublasHandle_t handle, void* c, GemmType c_type, const void* a, const void* b,
                          GemmType ab_type, int batch, int M, int N, int K, bool trans_a, bool trans_b,
                          int64_t stride_a, int64_t stride_b, int64_t stride_c, float alpha, float beta) {
  CKF_CHECK(batch >= 0, "cuda gemm_strided_batched: negative batch " << batch);
  const Lead ld = gemm_lead(M, N, K, trans_a, trans_b);
  if (batch == 0 || M == 0 || N == 0) return;
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(handle, op(trans_b), op(trans_a), N, M, K, &alpha, b, to_cuda(ab_type),
                                          ld.b, stride_b, a, to_cuda(ab_type), ld.a, stride_a, &beta, c,
                                          to_cuda(c_type), N, stride_c, batch, CUBLAS_COMPUTE_32F,
                                          CUBLAS_GEMM_DEFAULT));
}

}  // namespace ckf::cuda
