// The cuBLAS subset of the CUDA emulator: handles and the mixed-precision GEMMs (cublasGemmEx,
// cublasGemmStridedBatchedEx) with fp32 compute, written from cuBLAS's documented column-major
// semantics: C = alpha op(A) op(B) + beta C with op(A) m x k (A is lda x k when not transposed,
// lda x m when transposed), op(B) k x n, C m x n with leading dimension ldc; C is not read when
// beta is 0. Inputs fp32 or bf16 (both the same), output fp32 or bf16 (rounded to nearest even),
// fp32 accumulation. Arguments are validated as cuBLAS does.
#include <cublas_v2.h>
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>
#include <vector>

struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t math_mode = CUBLAS_DEFAULT_MATH;
};

namespace {

float load(const void* p, cudaDataType t, int64_t i) {
  return t == CUDA_R_32F ? static_cast<const float*>(p)[i] : __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
}

// op(X) as a dense column-major rows x cols fp32 matrix (leading dimension rows).
void expand(std::vector<float>& out, const void* x, cudaDataType t, int ld, cublasOperation_t op, int rows, int cols) {
  out.resize(static_cast<size_t>(rows) * cols);
  for (int c = 0; c < cols; c++)
    for (int r = 0; r < rows; r++)
      out[static_cast<size_t>(c) * rows + r] =
          op == CUBLAS_OP_N ? load(x, t, r + static_cast<int64_t>(c) * ld) : load(x, t, c + static_cast<int64_t>(r) * ld);
}

bool valid_op(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }

struct Gemm {
  cublasOperation_t ta, tb;
  int m, n, k;
  const float *alpha, *beta;
  cudaDataType at, bt, ct;
  int lda, ldb, ldc;
  cublasComputeType_t compute;
};

cublasStatus_t gemm_check(const Gemm& g, cublasHandle_t handle) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!valid_op(g.ta) || !valid_op(g.tb) || g.m < 0 || g.n < 0 || g.k < 0 || !g.alpha || !g.beta)
    return CUBLAS_STATUS_INVALID_VALUE;
  if (g.lda < std::max(1, g.ta == CUBLAS_OP_N ? g.m : g.k) || g.ldb < std::max(1, g.tb == CUBLAS_OP_N ? g.k : g.n) ||
      g.ldc < std::max(1, g.m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (g.compute != CUBLAS_COMPUTE_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
  const bool in_ok = g.at == g.bt && (g.at == CUDA_R_32F || g.at == CUDA_R_16BF);
  const bool out_ok = g.ct == CUDA_R_32F || (g.ct == CUDA_R_16BF && g.at == CUDA_R_16BF);
  return in_ok && out_ok ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_SUPPORTED;
}

void gemm_run(const Gemm& g, const void* a, const void* b, void* c) {
  if (g.m == 0 || g.n == 0) return;
  std::vector<float> opa, opb, acc(g.m);
  expand(opa, a, g.at, g.lda, g.ta, g.m, g.k);  // (m, k) column-major
  expand(opb, b, g.bt, g.ldb, g.tb, g.k, g.n);  // (k, n) column-major
  for (int j = 0; j < g.n; j++) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int l = 0; l < g.k; l++) {
      const float blj = opb[static_cast<size_t>(j) * g.k + l];
      const float* col = opa.data() + static_cast<size_t>(l) * g.m;
      for (int i = 0; i < g.m; i++) acc[i] += col[i] * blj;
    }
    for (int i = 0; i < g.m; i++) {
      const int64_t ci = i + static_cast<int64_t>(j) * g.ldc;
      float v = *g.alpha * acc[i];
      if (*g.beta != 0.0f) v += *g.beta * load(c, g.ct, ci);
      if (g.ct == CUDA_R_32F)
        static_cast<float*>(c)[ci] = v;
      else
        static_cast<__nv_bfloat16*>(c)[ci] = __float2bfloat16_rn(v);
    }
  }
}

int64_t type_bytes(cudaDataType t) { return t == CUDA_R_32F ? 4 : 2; }

}  // namespace

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
  *handle = new cublasContext;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->math_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusName(cublasStatus_t st) {
  switch (st) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}
const char* cublasGetStatusString(cublasStatus_t st) {
  switch (st) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported (by the emulator)";
    default: return "unknown status (not emulated)";
  }
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                            int k, const void* alpha, const void* A, cudaDataType Atype, int lda, const void* B,
                            cudaDataType Btype, int ldb, const void* beta, void* C, cudaDataType Ctype, int ldc,
                            cublasComputeType_t computeType, cublasGemmAlgo_t) {
  const Gemm g{transa, transb, m, n, k, static_cast<const float*>(alpha), static_cast<const float*>(beta),
               Atype, Btype, Ctype, lda, ldb, ldc, computeType};
  if (cublasStatus_t st = gemm_check(g, handle); st != CUBLAS_STATUS_SUCCESS) return st;
  gemm_run(g, A, B, C);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                          int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype,
                                          int lda, long long strideA, const void* B, cudaDataType Btype, int ldb,
                                          long long strideB, const void* beta, void* C, cudaDataType Ctype, int ldc,
                                          long long strideC, int batchCount, cublasComputeType_t computeType,
                                          cublasGemmAlgo_t) {
  const Gemm g{transa, transb, m, n, k, static_cast<const float*>(alpha), static_cast<const float*>(beta),
               Atype, Btype, Ctype, lda, ldb, ldc, computeType};
  if (cublasStatus_t st = gemm_check(g, handle); st != CUBLAS_STATUS_SUCCESS) return st;
  if (batchCount < 0) return CUBLAS_STATUS_INVALID_VALUE;
  for (int i = 0; i < batchCount; i++)
    gemm_run(g, static_cast<const char*>(A) + i * strideA * type_bytes(Atype),
             static_cast<const char*>(B) + i * strideB * type_bytes(Btype),
             static_cast<char*>(C) + i * strideC * type_bytes(Ctype));
  return CUBLAS_STATUS_SUCCESS;
}
