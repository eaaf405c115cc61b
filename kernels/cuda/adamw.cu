#include <algorithm>
#include <cmath>

#include "kernels/cuda/adamw.h"
#include "kernels/cuda/check.h"

namespace ckf::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocksPerTensor = 1024;  // grid-stride beyond that

// Grid (blocks, count): blockIdx.y picks the tensor, the x dimension strides over its elements.
// Operation order as the CPU twin (torch.optim.AdamW).
__global__ void adamw_kernel(const AdamWTensor* tensors, float beta1, float beta2, float eps, float decay,
                             float step_size, float bc2_sqrt) {
  const AdamWTensor t = tensors[blockIdx.y];
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < t.n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float g = t.grad[i];
    float p = t.param[i] * decay;
    const float m = t.m[i] + (1.0f - beta1) * (g - t.m[i]);
    const float v = beta2 * t.v[i] + (1.0f - beta2) * g * g;
    p -= step_size * m / (sqrtf(v) / bc2_sqrt + eps);
    t.param[i] = p;
    t.m[i] = m;
    t.v[i] = v;
    if (t.param_bf16) t.param_bf16[i] = __float2bfloat16(p);
  }
}

}  // namespace

void adamw_update(const AdamWTensor* tensors, int count, int64_t max_n, const cpu::AdamWConfig& cfg, int64_t step,
                  cudaStream_t stream) {
  CKF_CHECK(step >= 1, "adamw_update: step " << step << " must count from 1");
  CKF_CHECK(count <= 65535, "adamw_update: " << count << " tensors exceed one launch's 65535");
  if (count == 0 || max_n == 0) return;
  const float decay = 1.0f - cfg.lr * cfg.weight_decay;
  const float step_size = static_cast<float>(cfg.lr / (1.0 - std::pow(static_cast<double>(cfg.beta1), step)));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(cfg.beta2), step)));
  const int64_t blocks = std::min<int64_t>((max_n + kThreads - 1) / kThreads, kMaxBlocksPerTensor);
  adamw_kernel<<<dim3(static_cast<unsigned>(blocks), count), kThreads, 0, stream>>>(tensors, cfg.beta1, cfg.beta2,
                                                                                    cfg.eps, decay, step_size, bc2_sqrt);
  CUDA_CHECK_LAUNCH("adamw_kernel");
}

}  // namespace ckf::cuda
