// RMSNorm on the GPU, bf16 storage with fp32 accumulation; twin of kernels/cpu/rmsnorm.h.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace ckf::cuda {

// out (N, C) bf16, rstd (N) fp32, inp (N, C) bf16, weight (C) bf16.
void rmsnorm_forward(__nv_bfloat16* out, float* rstd, const __nv_bfloat16* inp, const __nv_bfloat16* weight, int N,
                     int C, float eps, cudaStream_t stream);

}  // namespace ckf::cuda
