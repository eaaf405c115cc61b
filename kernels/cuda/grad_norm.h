// Sum of squares of many fp32 gradient tensors on the device, the global-norm half of gradient
// clipping (the device twin of kernels/cpu/grad_norm.h plus the "count in norm" rule of
// core/optimizer.h). Accumulated in fp64 and deterministic: a fixed partition of the elements over
// blocks, per-block partials reduced in shared memory in a fixed tree order, then the partials
// summed in a fixed order by a single block. No floating-point atomics, so repeated calls on the
// same gradients return bit-identical sums, and every rank of a run clips by the same factor.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace ckf::cuda {

// One tensor of the sum; the list of these lives in device memory.
struct GradNormTensor {
  const float* grad;  // (n)
  int64_t n;
  int32_t counted;    // 1: adds its squares; 0: adds NaN if an element is NaN/inf, else nothing
};

// Doubles of workspace grad_sum_squares needs for `count` tensors of at most max_n elements.
size_t grad_sum_squares_workspace(int count, int64_t max_n);

// *sum (one device double) = sum over the counted tensors of g^2, NaN when an uncounted tensor holds
// a NaN/inf, inf or NaN when a counted one does (as kernels/cpu's sum, so a non-finite gradient
// anywhere makes the norm non-finite). tensors: device array (count); max_n >= every n;
// workspace: grad_sum_squares_workspace(count, max_n) device doubles. count 0 gives 0.
void grad_sum_squares(double* sum, const GradNormTensor* tensors, int count, int64_t max_n, double* workspace,
                      cudaStream_t stream);

}  // namespace ckf::cuda
