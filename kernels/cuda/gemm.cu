#include "kernels/cuda/check.h"
#include "kernels/cuda/gemm.h"

namespace ckf::cuda {

static cudaDataType_t to_cuda(GemmType t) { return t == GemmType::f32 ? CUDA_R_32F : CUDA_R_16BF; }

void gemm(cublasHandle_t handle, void* c, GemmType c_type, const void* a, const void* b, GemmType ab_type, int M,
          int N, int K, bool trans_a, bool trans_b, float alpha, float beta) {
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands, keep the flags.
  int lda = trans_a ? M : K;  // leading dimension of A as stored row-major
  int ldb = trans_b ? K : N;
  CUBLAS_CHECK(cublasGemmEx(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M,
                            K, &alpha, b, to_cuda(ab_type), ldb, a, to_cuda(ab_type), lda, &beta, c, to_cuda(c_type),
                            N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace ckf::cuda
