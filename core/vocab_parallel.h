// Vocab-parallel embedding lookup and cross-entropy for the decoder (Megatron): tp rank r holds
// vocabulary rows [vocab_begin, vocab_begin + V/tp) of the (V, C) embedding table and of the LM
// head (the same table when tied). Logits exist only for the M requested rows and only as this
// rank's (M, V/tp) slice; the softmax over the whole vocabulary needs two small all-reduces
// (row max, then row sum-exp with the target logit), never the (M, V) matrix on one rank.
#pragma once
#include <cstdint>
#include <vector>

#include "core/llama_tp.h"

namespace ckf {

// This rank's vocabulary rows.
struct VocabSlice {
  int64_t begin = 0;  // first id held
  int64_t size = 0;   // V / tp
  bool owns(int64_t id) const { return id >= begin && id < begin + size; }
};

// local: the tp rank's config (llama_config_tp_local), whose vocab is the slice's size.
VocabSlice vocab_slice(const LlamaConfig& local, int tp_rank);

// out (N, C) = table[ids]: rows of owned ids from table_local (V/tp, C), zero elsewhere, then a
// sum over tp completes every row. ids must lie in [0, V) (llama_batch_validate checks them).
void vocab_parallel_embedding_forward(const LlamaTp& tp, const VocabSlice& vs, float* out, const int32_t* ids,
                                      int64_t N, const float* table_local, int64_t C);

// What backward needs of the full softmax.
struct VocabParallelCeActs {
  std::vector<float> lse;  // (M) log-sum-exp over all V logits
};

// losses (M) = -log softmax(logits)[target] over the whole vocabulary from logits_local
// (M, V/tp); rows whose target is ignore get 0. The shard arithmetic is kernels/cpu/cross_entropy.h's.
void vocab_parallel_cross_entropy_forward(const LlamaTp& tp, const VocabSlice& vs, float* losses,
                                          const float* logits_local, const int32_t* targets, int64_t M,
                                          int32_t ignore, VocabParallelCeActs& acts);

// dlogits_local (M, V/tp) = dlosses[m] * (softmax - onehot(target)) on this rank's columns. No collective.
void vocab_parallel_cross_entropy_backward(const VocabSlice& vs, float* dlogits_local, const float* logits_local,
                                           const int32_t* targets, const float* dlosses, int64_t M, int32_t ignore,
                                           const VocabParallelCeActs& acts);

}  // namespace ckf
