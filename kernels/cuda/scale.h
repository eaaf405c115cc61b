// x *= s on the GPU, fp32 in place: the 1/p of a gradient average after an NCCL sum (the CPU
// GradSync multiplies by the same float 1/p, so both paths round alike).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace ckf::cuda {

// x: (n) fp32 device memory.
void scale_inplace(float* x, int64_t n, float s, cudaStream_t stream);

}  // namespace ckf::cuda
