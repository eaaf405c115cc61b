#include <algorithm>
#include <cmath>

#include "kernels/cuda/adamw.h"
#include "kernels/cuda/check.h"

namespace ckf::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocksPerTensor = 1024;  // grid-stride beyond that

// Grid (blocks, count): blockIdx.y picks the tensor, the x dimension strides over its elements.
// Operation order as the CPU twin (torch.optim.AdamW), the clipping factor first (the CPU scales the
// stored grads before the update; here nvcc may fuse that product into the moment updates).
__global__ void adamw_kernel(const AdamWTensor* tensors, float beta1, float beta2, float eps, float decay,
                             float step_size, float bc2_sqrt, float grad_scale) {
  const AdamWTensor t = tensors[blockIdx.y];
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < t.n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float g = t.grad[i] * grad_scale;
    float p = t.param[i] * decay;
    const float m = t.m[i] + (1.0f - beta1) * (g - t.m[i]);
    const float v = beta2 * t.v[i] + (1.0f - beta2) * g * g;
    p -= step_size * m / (sqrtf(v) / bc2_sqrt + eps);
    t.param[i] = p;
    t.m[i] = m;
    t.v[i] = v;
    t.grad[i] = 0.0f;
    if (t.param_bf16) t.param_bf16[i] = __float2bfloat16(p);
  }
}

__global__ void adamw_zero_grads_kernel(const AdamWTensor* tensors) {
  const AdamWTensor t = tensors[blockIdx.y];
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < t.n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    t.grad[i] = 0.0f;
}

// Grid of the multi-tensor launches; throws for more tensors than gridDim.y holds.
dim3 adamw_grid(int count, int64_t max_n, const char* what) {
  CKF_CHECK(count <= 65535, what << ": " << count << " tensors exceed one launch's 65535");
  const int64_t blocks = std::min<int64_t>((max_n + kThreads - 1) / kThreads, kMaxBlocksPerTensor);
  return dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(count));
}

}  // namespace

void adamw_update(const AdamWTensor* tensors, int count, int64_t max_n, const cpu::AdamWConfig& cfg, int64_t step,
                  float grad_scale, cudaStream_t stream) {
  CKF_CHECK(step >= 1, "adamw_update: step " << step << " must count from 1");
  const dim3 grid = adamw_grid(count, max_n, "adamw_update");
  if (count == 0 || max_n == 0) return;
  const float decay = 1.0f - cfg.lr * cfg.weight_decay;
  const float step_size = static_cast<float>(cfg.lr / (1.0 - std::pow(static_cast<double>(cfg.beta1), step)));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(cfg.beta2), step)));
  adamw_kernel<<<grid, kThreads, 0, stream>>>(tensors, cfg.beta1, cfg.beta2, cfg.eps, decay, step_size, bc2_sqrt,
                                              grad_scale);
  CUDA_CHECK_LAUNCH("adamw_kernel");
}

void adamw_zero_grads(const AdamWTensor* tensors, int count, int64_t max_n, cudaStream_t stream) {
  const dim3 grid = adamw_grid(count, max_n, "adamw_zero_grads");
  if (count == 0 || max_n == 0) return;
  adamw_zero_grads_kernel<<<grid, kThreads, 0, stream>>>(tensors);
  CUDA_CHECK_LAUNCH("adamw_zero_grads_kernel");
}

}  // namespace ckf::cuda
