// Softmax cross-entropy over the selected rows (answer positions) on the GPU; twin of
// kernels/cpu/cross_entropy.h. Logits are fp32 (M rows only, so the vocabulary projection can keep
// full precision), dlogits bf16 for the backward GEMMs.
//
// Vocabulary-parallel use (each rank holds columns [vocab_start, vocab_start + V) of the logits):
//   cross_entropy_shard_max      -> all-reduce MAX of row_max
//   cross_entropy_shard_sum_exp  -> all-reduce SUM of sum_exp and target_logit
//   cross_entropy_finish         -> losses and lse, identical on every rank
//   cross_entropy_backward       -> this shard's columns of dlogits.
// cross_entropy_forward is that sequence for a single shard. Targets must already be validated
// (in [0, vocabulary) or ignore_label; the host that builds them checks): a target outside every
// shard only contributes a zero target logit, it never reads out of bounds.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace ckf::cuda {

// row_max (M) = max over this shard's logits (M, V).
void cross_entropy_shard_max(float* row_max, const float* logits, int M, int V, cudaStream_t stream);

// sum_exp (M) = sum exp(logits - row_max) over this shard, row_max the global maximum;
// target_logit (M) = logits[target - vocab_start] when the target is in this shard, else 0.
void cross_entropy_shard_sum_exp(float* sum_exp, float* target_logit, const float* logits, const float* row_max,
                                 const int32_t* targets, int M, int V, int vocab_start, int32_t ignore_label,
                                 cudaStream_t stream);

// lse (M) = row_max + log(sum_exp); losses (M) = lse - target_logit, 0 for ignored rows (lse too).
// losses may alias target_logit.
void cross_entropy_finish(float* losses, float* lse, const float* row_max, const float* sum_exp,
                          const float* target_logit, const int32_t* targets, int M, int32_t ignore_label,
                          cudaStream_t stream);

// Single shard: losses (M), lse (M) saved for backward; scratch (2, M) fp32.
void cross_entropy_forward(float* losses, float* lse, float* scratch, const float* logits, const int32_t* targets,
                           int M, int V, int32_t ignore_label, cudaStream_t stream);

// dlogits (M, V) bf16 = dlosses[m] * (softmax - onehot(target)) over this shard's columns; ignored
// rows get 0. Written, not accumulated.
void cross_entropy_backward(__nv_bfloat16* dlogits, const float* logits, const float* lse, const int32_t* targets,
                            const float* dlosses, int M, int V, int vocab_start, int32_t ignore_label,
                            cudaStream_t stream);

}  // namespace ckf::cuda
