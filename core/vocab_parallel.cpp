#include "core/vocab_parallel.h"

#include <algorithm>
#include <vector>

#include "core/check.h"
#include "kernels/cpu/cross_entropy.h"

namespace ckf {

VocabSlice vocab_slice(const LlamaConfig& local, int tp_rank) {
  return {int64_t{tp_rank} * local.vocab, local.vocab};
}

void vocab_parallel_embedding_forward(const LlamaTp& tp, const VocabSlice& vs, float* out, const int32_t* ids,
                                      int64_t N, const float* table_local, int64_t C) {
  for (int64_t i = 0; i < N; ++i) {
    float* row = out + i * C;
    if (vs.owns(ids[i])) std::copy_n(table_local + (ids[i] - vs.begin) * C, C, row);
    else std::fill_n(row, C, 0.0f);
  }
  tp_all_reduce_sum(tp, out, N * C);
}

void vocab_parallel_cross_entropy_forward(const LlamaTp& tp, const VocabSlice& vs, float* losses,
                                          const float* logits_local, const int32_t* targets, int64_t M,
                                          int32_t ignore, VocabParallelCeActs& acts) {
  const int m = int(M), vl = int(vs.size);
  std::vector<float> row_max(M), sums(2 * M);  // sums: sum_exp (M), then target logit (M); one all-reduce
  cpu::cross_entropy_shard_max(row_max.data(), logits_local, m, vl);
  if (tp.size > 1) tp.comm->all_reduce_max(row_max.data(), M);
  cpu::cross_entropy_shard_sum_exp(sums.data(), sums.data() + M, logits_local, row_max.data(), targets, m, vl,
                                   int(vs.begin), ignore);
  tp_all_reduce_sum(tp, sums.data(), 2 * M);
  acts.lse.resize(M);
  cpu::cross_entropy_finish(losses, acts.lse.data(), row_max.data(), sums.data(), sums.data() + M, targets, m,
                            ignore);
}

void vocab_parallel_cross_entropy_backward(const VocabSlice& vs, float* dlogits_local, const float* logits_local,
                                           const int32_t* targets, const float* dlosses, int64_t M, int32_t ignore,
                                           const VocabParallelCeActs& acts) {
  CKF_CHECK(int64_t(acts.lse.size()) == M,
            "vocab_parallel_cross_entropy_backward: forward saw " << acts.lse.size() << " rows, backward " << M);
  cpu::cross_entropy_shard_backward(dlogits_local, logits_local, acts.lse.data(), targets, dlosses, int(M),
                                    int(vs.size), int(vs.begin), ignore);
}

}  // namespace ckf
