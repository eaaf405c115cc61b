// Vocab-parallel embedding, LM head and cross-entropy (Megatron): tp rank r holds vocabulary rows
// [r*V/tp, (r+1)*V/tp) of the (V, C) table, which the LM head may share (tied, as in SmolLM2).
// Logits exist only for the M selected rows (the answer positions) and only as this rank's
// (M, V/tp) slice: neither (all tokens x V) nor (M x V) is ever materialised on one rank.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/param.h"
#include "dist/communicator.h"

namespace ckf {

struct VocabParallelEmbedding {
  int64_t vocab = 0, dim = 0;  // global V, C
  int64_t vocab_begin = 0;     // first vocabulary id held here (= weight.split_offset)
  int64_t vocab_local = 0;     // V / tp
  Param weight;                // (V/tp, C) split_dim 0
};

// Zero table shard (fill with param_load_shard); V must divide by the tp size.
VocabParallelEmbedding vocab_parallel_embedding_create(const std::string& name, int64_t vocab, int64_t dim,
                                                       const Communicator& tp);

// out (N, C) = table[ids (N)]: each rank writes the rows it owns, zero elsewhere, then an
// all-reduce over tp completes every row. An id outside [0, V) throws naming its position.
void vocab_parallel_embedding_forward(const VocabParallelEmbedding& e, float* out, const int32_t* ids, int64_t N,
                                      Communicator& tp);
// weight.grad (V/tp, C) += dout (N, C) rows of the ids this rank owns (dout is replicated).
void vocab_parallel_embedding_backward(VocabParallelEmbedding& e, const int32_t* ids, const float* dout, int64_t N);

// logits_local (M, V/tp) = hidden (M, C) @ weight_local^T. No collective.
void vocab_parallel_lm_head_forward(const VocabParallelEmbedding& head, float* logits_local, const float* hidden,
                                    int64_t M);
// Writes dhidden (M, C), the all-reduce over tp of dlogits_local (M, V/tp) @ weight_local;
// accumulates weight.grad when weight_grad is true (a frozen head passes false).
void vocab_parallel_lm_head_backward(VocabParallelEmbedding& head, float* dhidden, const float* dlogits_local,
                                     const float* hidden, int64_t M, bool weight_grad, Communicator& tp);

// Row statistics of the full softmax, kept for backward.
struct VocabParallelCeActs {
  std::vector<float> row_max;   // (M) max over all V logits
  std::vector<double> sum_exp;  // (M) sum over all V of exp(logit - max)
};

// losses (M) = -log softmax(logits)[target] over the whole vocabulary, from this rank's
// logits_local (M, V/tp): the row max and then (sum-exp, target logit) are all-reduced over tp,
// the target logit coming from the rank that owns it. Rows with target == ignore_label get 0;
// any other target outside [0, V) throws naming the row.
void vocab_parallel_cross_entropy_forward(const VocabParallelEmbedding& head, float* losses, const float* logits_local,
                                          const int32_t* targets, int64_t M, int32_t ignore_label, Communicator& tp,
                                          VocabParallelCeActs& acts);
// dlogits_local (M, V/tp) = dlosses[m] * (softmax - onehot(target)) on this rank's columns
// (written). No collective.
void vocab_parallel_cross_entropy_backward(const VocabParallelEmbedding& head, float* dlogits_local,
                                           const float* logits_local, const int32_t* targets, const float* dlosses,
                                           int64_t M, int32_t ignore_label, const VocabParallelCeActs& acts);

}  // namespace ckf
