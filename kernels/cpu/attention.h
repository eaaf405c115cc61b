// Causal self-attention with grouped-query heads: query head h reads KV head h / (H / KVH).
// Scale 1/sqrt(D), numerically stable softmax. Keeps the probabilities (B, H, T, T) for backward.
#pragma once

namespace ckf::cpu {

// out (B, T, H, D); att (B, H, T, T) probabilities (entries above the diagonal are 0);
// q (B, T, H, D), k and v (B, T, KVH, D).
void attention_forward(float* out, float* att, const float* q, const float* k, const float* v, int B, int T,
                       int H, int KVH, int D);

// dq (B, T, H, D), dk and dv (B, T, KVH, D) are accumulated (+=); att is the forward's output.
// Throws when H is not a multiple of KVH.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* att, int B, int T, int H, int KVH, int D);

}  // namespace ckf::cpu
