// Error checks for CUDA runtime, cuBLAS and NCCL calls: each names the call that failed.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/check.h"

#define CUDA_CHECK(call)                                                                              \
  do {                                                                                                \
    cudaError_t ckf_err_ = (call);                                                                    \
    CKF_CHECK(ckf_err_ == cudaSuccess, #call << ": " << cudaGetErrorName(ckf_err_) << ": "            \
                                             << cudaGetErrorString(ckf_err_));                        \
  } while (0)

#define CUBLAS_CHECK(call)                                                                            \
  do {                                                                                                \
    cublasStatus_t ckf_st_ = (call);                                                                  \
    CKF_CHECK(ckf_st_ == CUBLAS_STATUS_SUCCESS, #call << ": " << cublasGetStatusName(ckf_st_) << ": " \
                                                      << cublasGetStatusString(ckf_st_));             \
  } while (0)

// After a kernel launch: launch-configuration errors surface here, not at the next call.
#define CUDA_CHECK_LAUNCH(name) CUDA_CHECK(cudaGetLastError())
