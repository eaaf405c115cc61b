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
}

CudaContext::~CudaContext() {
  cublasDestroy(cublas_);
  cudaStreamDestroy(stream_);
}

void CudaContext::synchronize() const { CUDA_CHECK(cudaStreamSynchronize(stream_)); }

}  // namespace ckf::cuda
