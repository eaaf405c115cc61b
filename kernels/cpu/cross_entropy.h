// Softmax cross-entropy over the rows that were selected (the answer positions); the caller computes
// logits only for those rows, so no (all tokens x vocab) matrix exists.
//
// Vocabulary-parallel use, as in kernels/cuda/cross_entropy.h (each rank holds the logit columns
// [vocab_start, vocab_start + V) of a larger vocabulary):
//   cross_entropy_shard_max      -> all-reduce MAX of row_max
//   cross_entropy_shard_sum_exp  -> all-reduce SUM of sum_exp and target_logit
//   cross_entropy_finish         -> losses and lse, identical on every rank
//   cross_entropy_shard_backward -> this shard's columns of dlogits.
// cross_entropy_forward / cross_entropy_backward are that sequence for a single shard. The shard
// functions take validated targets (in [0, vocabulary) or ignore_label).
#pragma once
#include <cstdint>

namespace ckf::cpu {

// losses (M) = -log softmax(logits (M, V))[targets]; rows whose target == ignore_label get loss 0.
// A target outside [0, V) (other than ignore_label) throws naming the row.
void cross_entropy_forward(float* losses, const float* logits, const int32_t* targets, int M, int V,
                           int32_t ignore_label);

// dlogits (M, V) = dlosses[m] * (softmax - onehot(target)); ignored rows get 0. Written, not accumulated.
void cross_entropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dlosses,
                            int M, int V, int32_t ignore_label);

// row_max (M) = max over this shard's logits (M, V).
void cross_entropy_shard_max(float* row_max, const float* logits, int M, int V);

// sum_exp (M) = sum exp(logits - row_max) over this shard (row_max the global maximum; summed in
// double: V is ~50k terms); target_logit (M) = logits[target - vocab_start] when the target is in
// this shard, else 0.
void cross_entropy_shard_sum_exp(float* sum_exp, float* target_logit, const float* logits, const float* row_max,
                                 const int32_t* targets, int M, int V, int vocab_start, int32_t ignore_label);

// lse (M) = row_max + log(sum_exp); losses (M) = lse - target_logit, 0 for ignored rows.
void cross_entropy_finish(float* losses, float* lse, const float* row_max, const float* sum_exp,
                          const float* target_logit, const int32_t* targets, int M, int32_t ignore_label);

// dlogits (M, V) = dlosses[m] * (softmax - onehot(target)) over this shard's columns, from the
// global lse; ignored rows get 0. Written, not accumulated.
void cross_entropy_shard_backward(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                                  const float* dlosses, int M, int V, int vocab_start, int32_t ignore_label);

}  // namespace ckf::cpu
