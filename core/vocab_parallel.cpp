#include "core/vocab_parallel.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace ckf {

VocabSlice vocab_slice(const LlamaConfig& cfg, const LlamaTp& tp) {
  const int64_t size = llama_config_tp_local(cfg, tp.size).vocab;
  return {int64_t{tp.rank} * size, size};
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
  const int64_t Vl = vs.size;
  acts.row_max.resize(M);
  for (int64_t m = 0; m < M; ++m)
    acts.row_max[m] = *std::max_element(logits_local + m * Vl, logits_local + (m + 1) * Vl);
  if (tp.size > 1) tp.comm->all_reduce_max(acts.row_max.data(), M);
  // One all-reduce carries both: (M) local sum-exp, then (M) target logit (0 where not owned).
  std::vector<float> sums(2 * M, 0.0f);
  for (int64_t m = 0; m < M; ++m) {
    const float* row = logits_local + m * Vl;
    double s = 0.0;
    for (int64_t j = 0; j < Vl; ++j) s += std::exp(double(row[j]) - acts.row_max[m]);
    sums[m] = float(s);
    if (targets[m] != ignore && vs.owns(targets[m])) sums[M + m] = row[targets[m] - vs.begin];
  }
  tp_all_reduce_sum(tp, sums.data(), 2 * M);
  acts.sum_exp.assign(sums.begin(), sums.begin() + M);
  for (int64_t m = 0; m < M; ++m)
    losses[m] = targets[m] == ignore
                    ? 0.0f
                    : float(std::log(double(sums[m])) + acts.row_max[m] - sums[M + m]);
}

void vocab_parallel_cross_entropy_backward(const VocabSlice& vs, float* dlogits_local, const float* logits_local,
                                           const int32_t* targets, const float* dlosses, int64_t M, int32_t ignore,
                                           const VocabParallelCeActs& acts) {
  CKF_CHECK(int64_t(acts.sum_exp.size()) == M,
            "vocab_parallel_cross_entropy_backward: forward saw " << acts.sum_exp.size() << " rows, backward " << M);
  const int64_t Vl = vs.size;
  for (int64_t m = 0; m < M; ++m) {
    float* d = dlogits_local + m * Vl;
    if (targets[m] == ignore) {
      std::fill_n(d, Vl, 0.0f);
      continue;
    }
    const float* row = logits_local + m * Vl;
    const double scale = double(dlosses[m]) / acts.sum_exp[m];
    for (int64_t j = 0; j < Vl; ++j) d[j] = float(std::exp(double(row[j]) - acts.row_max[m]) * scale);
    if (vs.owns(targets[m])) d[targets[m] - vs.begin] -= dlosses[m];
  }
}

}  // namespace ckf
