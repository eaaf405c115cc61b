// The per-device state every CUDA op runs with: one stream and a cuBLAS handle bound to it.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

namespace ckf::cuda {

class CudaContext {
 public:
  // Makes `device` current for the calling thread and creates the stream and handle on it.
  explicit CudaContext(int device = 0);
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  void synchronize() const;

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
};

}  // namespace ckf::cuda
