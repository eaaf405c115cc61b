// Bias and ReLU of the fp32 linear layers on the GPU (the mapper's MLPs; twin of the bias and
// relu steps of core/mlp.cpp and cpu::linear_forward / linear_backward): the GEMM computes
// x W^T, these add the bias, apply the relu, route the gradient through it and sum the bias
// gradient.
#pragma once
#include <cuda_runtime.h>

namespace ckf::cuda {

// out (N, D) += bias (D); when act is non-null, act (N, D) = relu(out) as well.
void bias_relu_forward(float* out, float* act, const float* bias, int N, int D, cudaStream_t stream);

// d (N, D) = pre (N, D) > 0 ? d : 0, in place: the gradient through the relu.
void relu_backward(float* d, const float* pre, int N, int D, cudaStream_t stream);

// dbias (D) += the column sums of dout (N, D). One thread per column adds the rows in order, so
// the result is deterministic (no atomics); the mapper's N is a batch's soft tokens, small.
void bias_backward(float* dbias, const float* dout, int N, int D, cudaStream_t stream);

}  // namespace ckf::cuda
