#include "kernels/cuda/check.h"
#include "kernels/cuda/embedding.h"

namespace ckf::cuda {

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__global__ void embedding_gather_kernel(__nv_bfloat16* out, const int32_t* ids, const __nv_bfloat16* table, int N,
                                        int C) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<int64_t>(N) * C) return;
  const int64_t n = idx / C, c = idx % C;
  out[idx] = table[static_cast<int64_t>(ids[n]) * C + c];
}

__global__ void embedding_inject_kernel(__nv_bfloat16* out, const int32_t* soft_pos, const float* soft, int S,
                                        int C) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<int64_t>(S) * C) return;
  const int64_t s = idx / C, c = idx % C;
  out[static_cast<int64_t>(soft_pos[s]) * C + c] = __float2bfloat16(soft[idx]);
}

// Each soft token owns its gradient row, so the scatter needs no atomics.
__global__ void embedding_backward_soft_kernel(float* dsoft, const __nv_bfloat16* dout, const int32_t* soft_pos,
                                               int S, int C) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<int64_t>(S) * C) return;
  const int64_t s = idx / C, c = idx % C;
  dsoft[idx] += __bfloat162float(dout[static_cast<int64_t>(soft_pos[s]) * C + c]);
}

}  // namespace

void embedding_forward(__nv_bfloat16* out, const int32_t* ids, const __nv_bfloat16* table, const int32_t* soft_pos,
                       const float* soft, int N, int C, int S, cudaStream_t stream) {
  const int64_t n = static_cast<int64_t>(N) * C, ns = static_cast<int64_t>(S) * C;
  if (n > 0) {
    embedding_gather_kernel<<<blocks_for(n), kThreads, 0, stream>>>(out, ids, table, N, C);
    CUDA_CHECK_LAUNCH("embedding_gather_kernel");
  }
  if (ns > 0) {
    embedding_inject_kernel<<<blocks_for(ns), kThreads, 0, stream>>>(out, soft_pos, soft, S, C);
    CUDA_CHECK_LAUNCH("embedding_inject_kernel");
  }
}

void embedding_backward_soft(float* dsoft, const __nv_bfloat16* dout, const int32_t* soft_pos, int S, int C,
                             cudaStream_t stream) {
  const int64_t ns = static_cast<int64_t>(S) * C;
  if (ns == 0) return;
  embedding_backward_soft_kernel<<<blocks_for(ns), kThreads, 0, stream>>>(dsoft, dout, soft_pos, S, C);
  CUDA_CHECK_LAUNCH("embedding_backward_soft_kernel");
}

}  // namespace ckf::cuda
