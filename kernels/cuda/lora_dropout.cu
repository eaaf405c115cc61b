#include "core/rng.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/lora_dropout.h"

namespace ckf::cuda {

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__device__ float dropout_factor(const DropoutKey& key, int64_t n, int64_t c) {
  const uint64_t index = static_cast<uint64_t>(key.row0 + n) * key.in_global + key.in_offset + c;
  return rng_uniform(key.seed, key.stream, index) < key.p ? 0.0f : 1.0f / (1.0f - key.p);
}

__global__ void lora_dropout_forward_kernel(__nv_bfloat16* out, const __nv_bfloat16* x, int in, int64_t total,
                                            DropoutKey key) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  out[i] = __float2bfloat16(__bfloat162float(x[i]) * dropout_factor(key, i / in, i % in));
}

__global__ void lora_dropout_backward_kernel(__nv_bfloat16* dx, const __nv_bfloat16* g, int in, int64_t total,
                                             DropoutKey key) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const float d = __bfloat162float(g[i]) * dropout_factor(key, i / in, i % in);
  dx[i] = __float2bfloat16(__bfloat162float(dx[i]) + d);
}

void check_key(const DropoutKey& key, int in) {
  CKF_CHECK(key.p > 0.0f && key.p < 1.0f, "lora_dropout: rate " << key.p << " outside (0, 1)");
  CKF_CHECK(in > 0 && key.in_offset >= 0 && key.in_offset + in <= key.in_global,
            "lora_dropout: columns [" << key.in_offset << ", " << key.in_offset + in << ") outside an input of "
                                      << key.in_global);
}

}  // namespace

void lora_dropout_forward(__nv_bfloat16* out, const __nv_bfloat16* x, int N, int in, const DropoutKey& key,
                          cudaStream_t stream) {
  check_key(key, in);
  const int64_t total = static_cast<int64_t>(N) * in;
  if (total == 0) return;
  lora_dropout_forward_kernel<<<blocks_for(total), kThreads, 0, stream>>>(out, x, in, total, key);
  CUDA_CHECK_LAUNCH("lora_dropout_forward_kernel");
}

void lora_dropout_backward(__nv_bfloat16* dx, const __nv_bfloat16* g, int N, int in, const DropoutKey& key,
                           cudaStream_t stream) {
  check_key(key, in);
  const int64_t total = static_cast<int64_t>(N) * in;
  if (total == 0) return;
  lora_dropout_backward_kernel<<<blocks_for(total), kThreads, 0, stream>>>(dx, g, in, total, key);
  CUDA_CHECK_LAUNCH("lora_dropout_backward_kernel");
}

}  // namespace ckf::cuda
