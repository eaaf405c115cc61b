#include "kernels/cuda/check.h"
#include "kernels/cuda/cross_entropy.h"
#include "kernels/cuda/reduce.cuh"

namespace ckf::cuda {

namespace {

constexpr int kThreads = 512;  // one block per row; a row is a vocabulary (tens of thousands)

__global__ void cross_entropy_max_kernel(float* row_max, const float* logits, int V) {
  const float* row = logits + static_cast<int64_t>(blockIdx.x) * V;
  float mx = -INFINITY;
  for (int i = threadIdx.x; i < V; i += blockDim.x) mx = fmaxf(mx, row[i]);
  mx = block_max(mx);
  if (threadIdx.x == 0) row_max[blockIdx.x] = mx;
}

__global__ void cross_entropy_sum_exp_kernel(float* sum_exp, float* target_logit, const float* logits,
                                             const float* row_max, const int32_t* targets, int V, int vocab_start,
                                             int32_t ignore_label) {
  const int m = blockIdx.x;
  const float* row = logits + static_cast<int64_t>(m) * V;
  const float mx = row_max[m];
  float s = 0.0f;
  for (int i = threadIdx.x; i < V; i += blockDim.x) s += expf(row[i] - mx);
  s = block_sum(s);
  if (threadIdx.x != 0) return;
  sum_exp[m] = s;
  const int64_t local = static_cast<int64_t>(targets[m]) - vocab_start;
  const bool here = targets[m] != ignore_label && local >= 0 && local < V;
  target_logit[m] = here ? row[local] : 0.0f;
}

__global__ void cross_entropy_finish_kernel(float* losses, float* lse, const float* row_max, const float* sum_exp,
                                            const float* target_logit, const int32_t* targets, int M,
                                            int32_t ignore_label) {
  const int m = blockIdx.x * blockDim.x + threadIdx.x;
  if (m >= M) return;
  const bool ignored = targets[m] == ignore_label;
  const float l = row_max[m] + logf(sum_exp[m]);
  const float t = target_logit[m];  // read before losses[m] is written: the two may alias
  lse[m] = ignored ? 0.0f : l;
  losses[m] = ignored ? 0.0f : l - t;
}

__global__ void cross_entropy_backward_kernel(__nv_bfloat16* dlogits, const float* logits, const float* lse,
                                              const int32_t* targets, const float* dlosses, int V, int vocab_start,
                                              int32_t ignore_label) {
  const int m = blockIdx.x;
  const int64_t base = static_cast<int64_t>(m) * V;
  if (targets[m] == ignore_label) {  // not 0 * exp(logit - 0): that overflows to NaN for large logits
    for (int i = threadIdx.x; i < V; i += blockDim.x) dlogits[base + i] = __float2bfloat16(0.0f);
    return;
  }
  const float dl = dlosses[m], l = lse[m];
  const int64_t local = static_cast<int64_t>(targets[m]) - vocab_start;
  for (int i = threadIdx.x; i < V; i += blockDim.x) {
    const float g = dl * expf(logits[base + i] - l) - (i == local ? dl : 0.0f);
    dlogits[base + i] = __float2bfloat16(g);
  }
}

}  // namespace

void cross_entropy_shard_max(float* row_max, const float* logits, int M, int V, cudaStream_t stream) {
  if (M == 0) return;
  cross_entropy_max_kernel<<<M, kThreads, 0, stream>>>(row_max, logits, V);
  CUDA_CHECK_LAUNCH("cross_entropy_max_kernel");
}

void cross_entropy_shard_sum_exp(float* sum_exp, float* target_logit, const float* logits, const float* row_max,
                                 const int32_t* targets, int M, int V, int vocab_start, int32_t ignore_label,
                                 cudaStream_t stream) {
  if (M == 0) return;
  cross_entropy_sum_exp_kernel<<<M, kThreads, 0, stream>>>(sum_exp, target_logit, logits, row_max, targets, V,
                                                            vocab_start, ignore_label);
  CUDA_CHECK_LAUNCH("cross_entropy_sum_exp_kernel");
}

void cross_entropy_finish(float* losses, float* lse, const float* row_max, const float* sum_exp,
                          const float* target_logit, const int32_t* targets, int M, int32_t ignore_label,
                          cudaStream_t stream) {
  if (M == 0) return;
  constexpr int threads = 256;
  cross_entropy_finish_kernel<<<(M + threads - 1) / threads, threads, 0, stream>>>(
      losses, lse, row_max, sum_exp, target_logit, targets, M, ignore_label);
  CUDA_CHECK_LAUNCH("cross_entropy_finish_kernel");
}

void cross_entropy_forward(float* losses, float* lse, float* scratch, const float* logits, const int32_t* targets,
                           int M, int V, int32_t ignore_label, cudaStream_t stream) {
  float* row_max = scratch;   // (M)
  float* sum_exp = scratch + M;  // (M)
  cross_entropy_shard_max(row_max, logits, M, V, stream);
  cross_entropy_shard_sum_exp(sum_exp, losses, logits, row_max, targets, M, V, 0, ignore_label, stream);
  cross_entropy_finish(losses, lse, row_max, sum_exp, losses, targets, M, ignore_label, stream);
}

void cross_entropy_backward(__nv_bfloat16* dlogits, const float* logits, const float* lse, const int32_t* targets,
                            const float* dlosses, int M, int V, int vocab_start, int32_t ignore_label,
                            cudaStream_t stream) {
  if (M == 0) return;
  cross_entropy_backward_kernel<<<M, kThreads, 0, stream>>>(dlogits, logits, lse, targets, dlosses, V, vocab_start,
                                                             ignore_label);
  CUDA_CHECK_LAUNCH("cross_entropy_backward_kernel");
}

}  // namespace ckf::cuda
