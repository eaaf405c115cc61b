#include "dist/vocab_parallel.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"
#include "dist/tensor_parallel.h"
#include "kernels/cpu/matmul.h"

namespace ckf {

VocabParallelEmbedding vocab_parallel_embedding_create(const std::string& name, int64_t vocab, int64_t dim,
                                                       const Communicator& tp) {
  VocabParallelEmbedding e;
  e.vocab = vocab;
  e.dim = dim;
  e.weight = param_shard(name + ".weight", {vocab, dim}, 0, tp.rank(), tp.size());
  e.vocab_begin = e.weight.split_offset;
  e.vocab_local = e.weight.value.dim(0);
  return e;
}

static void vocab_check_ids(const VocabParallelEmbedding& e, const int32_t* ids, int64_t N, const char* who) {
  for (int64_t i = 0; i < N; i++)
    CKF_CHECK(ids[i] >= 0 && ids[i] < e.vocab, who << " (" << e.weight.name << "): token id " << ids[i]
                                                   << " at position " << i << " is outside the vocabulary [0, "
                                                   << e.vocab << ")");
}

static bool vocab_owns(const VocabParallelEmbedding& e, int64_t id) {
  return id >= e.vocab_begin && id < e.vocab_begin + e.vocab_local;
}

void vocab_parallel_embedding_forward(const VocabParallelEmbedding& e, float* out, const int32_t* ids, int64_t N,
                                      Communicator& tp) {
  vocab_check_ids(e, ids, N, "vocab_parallel_embedding_forward");
  const float* table = e.weight.value.data<float>();
  for (int64_t i = 0; i < N; i++) {
    float* row = out + i * e.dim;
    if (vocab_owns(e, ids[i])) std::copy_n(table + (ids[i] - e.vocab_begin) * e.dim, e.dim, row);
    else std::fill_n(row, e.dim, 0.0f);
  }
  tp.all_reduce(std::span<float>(out, static_cast<size_t>(N * e.dim)));
}

void vocab_parallel_embedding_backward(VocabParallelEmbedding& e, const int32_t* ids, const float* dout, int64_t N) {
  vocab_check_ids(e, ids, N, "vocab_parallel_embedding_backward");
  float* dtable = e.weight.grad.data<float>();
  for (int64_t i = 0; i < N; i++) {
    if (!vocab_owns(e, ids[i])) continue;
    float* row = dtable + (ids[i] - e.vocab_begin) * e.dim;
    const float* d = dout + i * e.dim;
    for (int64_t c = 0; c < e.dim; c++) row[c] += d[c];
  }
}

void vocab_parallel_lm_head_forward(const VocabParallelEmbedding& head, float* logits_local, const float* hidden,
                                    int64_t M) {
  cpu::linear_forward(logits_local, hidden, head.weight.value.data<float>(), nullptr, static_cast<int>(M),
                      static_cast<int>(head.dim), static_cast<int>(head.vocab_local));
}

void vocab_parallel_lm_head_backward(VocabParallelEmbedding& head, float* dhidden, const float* dlogits_local,
                                     const float* hidden, int64_t M, bool weight_grad, Communicator& tp) {
  std::fill_n(dhidden, M * head.dim, 0.0f);
  cpu::linear_backward(dhidden, weight_grad ? head.weight.grad.data<float>() : nullptr, nullptr, dlogits_local, hidden,
                       head.weight.value.data<float>(), static_cast<int>(M), static_cast<int>(head.dim),
                       static_cast<int>(head.vocab_local));
  tp.all_reduce(std::span<float>(dhidden, static_cast<size_t>(M * head.dim)));
}

static void vocab_check_targets(const VocabParallelEmbedding& head, const int32_t* targets, int64_t M,
                                int32_t ignore_label) {
  for (int64_t m = 0; m < M; m++)
    CKF_CHECK(targets[m] == ignore_label || (targets[m] >= 0 && targets[m] < head.vocab),
              "vocab_parallel_cross_entropy (" << head.weight.name << "): target " << targets[m] << " of row " << m
                                               << " is outside the vocabulary [0, " << head.vocab << ")");
}

void vocab_parallel_cross_entropy_forward(const VocabParallelEmbedding& head, float* losses, const float* logits_local,
                                          const int32_t* targets, int64_t M, int32_t ignore_label, Communicator& tp,
                                          VocabParallelCeActs& acts) {
  vocab_check_targets(head, targets, M, ignore_label);
  const int64_t Vl = head.vocab_local;
  acts.row_max.assign(M, -std::numeric_limits<float>::infinity());
  for (int64_t m = 0; m < M; m++)
    acts.row_max[m] = *std::max_element(logits_local + m * Vl, logits_local + (m + 1) * Vl);
  tp.all_reduce(std::span<float>(acts.row_max), ReduceOp::max);
  // One all-reduce carries both: (M) local sum-exp then (M) target logit (0 where not owned).
  std::vector<double> sums(2 * M, 0.0);
  for (int64_t m = 0; m < M; m++) {
    const float* row = logits_local + m * Vl;
    double s = 0.0;
    for (int64_t j = 0; j < Vl; j++) s += std::exp(row[j] - acts.row_max[m]);
    sums[m] = s;
    if (targets[m] != ignore_label && vocab_owns(head, targets[m])) sums[M + m] = row[targets[m] - head.vocab_begin];
  }
  tp.all_reduce(std::span<double>(sums));
  acts.sum_exp.assign(sums.begin(), sums.begin() + M);
  for (int64_t m = 0; m < M; m++)
    losses[m] = targets[m] == ignore_label
                    ? 0.0f
                    : static_cast<float>(std::log(sums[m]) + acts.row_max[m] - sums[M + m]);
}

void vocab_parallel_cross_entropy_backward(const VocabParallelEmbedding& head, float* dlogits_local,
                                           const float* logits_local, const int32_t* targets, const float* dlosses,
                                           int64_t M, int32_t ignore_label, const VocabParallelCeActs& acts) {
  vocab_check_targets(head, targets, M, ignore_label);
  CKF_CHECK(static_cast<int64_t>(acts.sum_exp.size()) == M,
            "vocab_parallel_cross_entropy_backward: forward saw " << acts.sum_exp.size() << " rows, backward " << M);
  const int64_t Vl = head.vocab_local;
  for (int64_t m = 0; m < M; m++) {
    float* d = dlogits_local + m * Vl;
    if (targets[m] == ignore_label) {
      std::fill_n(d, Vl, 0.0f);
      continue;
    }
    const float* row = logits_local + m * Vl;
    const double inv = 1.0 / acts.sum_exp[m];
    for (int64_t j = 0; j < Vl; j++)
      d[j] = dlosses[m] * static_cast<float>(std::exp(row[j] - acts.row_max[m]) * inv);
    if (vocab_owns(head, targets[m])) d[targets[m] - head.vocab_begin] -= dlosses[m];
  }
}

}  // namespace ckf
