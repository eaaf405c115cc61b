#include "kernels/cuda/context.h"

#include "kernels/cuda/check.h"

namespace ckf::cuda {

CudaContext::CudaContext(int device) : device_(device) {
  CUDA_CHECK(cudaSetDevice(device));
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  if (cublasStatus_t st = cublasCreate(&cublas_); st != CUBLAS_STATUS_SUCCESS) {
    cudaStreamDestroy(stream_);
    CUBLAS_CHECK(st);
  }
  CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  // bf16-output GEMMs with a long reduction (the LM head's input gradient sums over the whole
  // vocabulary) must add split-K partials in fp32, as the CPU twin does, not in bf16.
  CUBLAS_CHECK(cublasSetMathMode(
      cublas_, static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
}

CudaContext::~CudaContext() {
  cublasDestroy(cublas_);
  cudaStreamDestroy(stream_);
}

void CudaContext::synchronize() const { CUDA_CHECK(cudaStreamSynchronize(stream_)); }

}  // namespace ckf::cuda
