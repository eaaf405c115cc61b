// Causal grouped-query self-attention on the GPU, flash style: the (T, T) scores are never stored.
// bf16 storage, fp32 accumulation; twin of kernels/cpu/attention.h (query head h reads KV head
// h / (H / KVH), scale 1/sqrt(D)). Instead of the probabilities the forward saves each row's
// log-sum-exp, from which backward recomputes them tile by tile.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace ckf::cuda {

// out (B, T, H, D) bf16; lse (B, H, T) fp32 saved for backward; q (B, T, H, D), k and v (B, T, KVH, D).
// Throws when H is not a multiple of KVH or D is not in [1, 128].
void attention_forward(__nv_bfloat16* out, float* lse, const __nv_bfloat16* q, const __nv_bfloat16* k,
                       const __nv_bfloat16* v, int B, int T, int H, int KVH, int D, cudaStream_t stream);

// dq (B, T, H, D), dk and dv (B, T, KVH, D) are accumulated (+=) as in the CPU twin; out and lse are
// the forward's outputs; delta (B, H, T) fp32 is scratch (rowsum(dout * out)).
void attention_backward(__nv_bfloat16* dq, __nv_bfloat16* dk, __nv_bfloat16* dv, float* delta,
                        const __nv_bfloat16* dout, const __nv_bfloat16* q, const __nv_bfloat16* k,
                        const __nv_bfloat16* v, const __nv_bfloat16* out, const float* lse, int B, int T, int H,
                        int KVH, int D, cudaStream_t stream);

}  // namespace ckf::cuda
