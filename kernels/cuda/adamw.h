// AdamW over many fp32 tensors in one launch; twin of kernels/cpu/adamw.h (same operation order,
// same AdamWConfig). The trainable tensors (LoRA, mapper) are small and numerous, so one launch for
// all of them instead of one per tensor. The launch also applies the clipping factor to the
// gradients and zeroes them, so an optimizer step reads and writes every gradient once.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cpu/adamw.h"

namespace ckf::cuda {

// One tensor's update; the list of these lives in device memory.
struct AdamWTensor {
  float* param;                // (n)
  float* grad;                 // (n) read, then zeroed
  float* m;                    // (n) first moment, zero before step 1
  float* v;                    // (n) second moment, zero before step 1
  __nv_bfloat16* param_bf16;   // (n) bf16 copy of the updated param for the forward GEMMs, or nullptr
  int64_t n;
};

// Updates tensors[0, count) (device array) from grad * grad_scale (the clipping factor, 1 = none,
// as kernels/cpu/grad_norm.h's grad_scale applies it before the CPU update), then zeroes every grad.
// max_n >= every n bounds the grid. step counts from 1 (0 throws).
void adamw_update(const AdamWTensor* tensors, int count, int64_t max_n, const cpu::AdamWConfig& cfg, int64_t step,
                  float grad_scale, cudaStream_t stream);

// Zeroes the grads of tensors[0, count) and nothing else: a step skipped on non-finite gradients.
void adamw_zero_grads(const AdamWTensor* tensors, int count, int64_t max_n, cudaStream_t stream);

}  // namespace ckf::cuda
