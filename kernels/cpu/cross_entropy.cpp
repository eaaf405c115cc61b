#include "kernels/cpu/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/check.h"

namespace ckf::cpu {

static void cross_entropy_check_targets(const int32_t* targets, int M, int V, int32_t ignore_label,
                                        const char* who) {
  for (int m = 0; m < M; m++)
    CKF_CHECK(targets[m] == ignore_label || (targets[m] >= 0 && targets[m] < V),
              who << ": target " << targets[m] << " at row " << m << " is outside the vocabulary [0, " << V
                  << ") and is not the ignore label " << ignore_label);
}

// Single shard: lse (M) of every row and, in losses (M), the loss.
static void cross_entropy_lse(float* losses, float* lse, const float* logits, const int32_t* targets, int M, int V,
                              int32_t ignore_label) {
  std::vector<float> row_max(M), sums(2 * size_t(M));  // sums: sum_exp (M), then target_logit (M)
  cross_entropy_shard_max(row_max.data(), logits, M, V);
  cross_entropy_shard_sum_exp(sums.data(), sums.data() + M, logits, row_max.data(), targets, M, V, 0, ignore_label);
  cross_entropy_finish(losses, lse, row_max.data(), sums.data(), sums.data() + M, targets, M, ignore_label);
}

void cross_entropy_forward(float* losses, const float* logits, const int32_t* targets, int M, int V,
                           int32_t ignore_label) {
  cross_entropy_check_targets(targets, M, V, ignore_label, "cross_entropy_forward");
  std::vector<float> lse(M);
  cross_entropy_lse(losses, lse.data(), logits, targets, M, V, ignore_label);
}

void cross_entropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dlosses,
                            int M, int V, int32_t ignore_label) {
  cross_entropy_check_targets(targets, M, V, ignore_label, "cross_entropy_backward");
  std::vector<float> losses(M), lse(M);
  cross_entropy_lse(losses.data(), lse.data(), logits, targets, M, V, ignore_label);
  cross_entropy_shard_backward(dlogits, logits, lse.data(), targets, dlosses, M, V, 0, ignore_label);
}

void cross_entropy_shard_max(float* row_max, const float* logits, int M, int V) {
  for (int m = 0; m < M; m++) {
    const float* row = logits + static_cast<int64_t>(m) * V;
    row_max[m] = *std::max_element(row, row + V);
  }
}

void cross_entropy_shard_sum_exp(float* sum_exp, float* target_logit, const float* logits, const float* row_max,
                                 const int32_t* targets, int M, int V, int vocab_start, int32_t ignore_label) {
  for (int m = 0; m < M; m++) {
    const float* row = logits + static_cast<int64_t>(m) * V;
    double sum = 0.0;
    for (int i = 0; i < V; i++) sum += std::exp(row[i] - row_max[m]);
    sum_exp[m] = static_cast<float>(sum);
    const int32_t local = targets[m] - vocab_start;
    target_logit[m] = targets[m] != ignore_label && local >= 0 && local < V ? row[local] : 0.0f;
  }
}

void cross_entropy_finish(float* losses, float* lse, const float* row_max, const float* sum_exp,
                          const float* target_logit, const int32_t* targets, int M, int32_t ignore_label) {
  for (int m = 0; m < M; m++) {
    lse[m] = row_max[m] + std::log(sum_exp[m]);
    losses[m] = targets[m] == ignore_label ? 0.0f : lse[m] - target_logit[m];
  }
}

void cross_entropy_shard_backward(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                                  const float* dlosses, int M, int V, int vocab_start, int32_t ignore_label) {
  for (int m = 0; m < M; m++) {
    float* drow = dlogits + static_cast<int64_t>(m) * V;
    if (targets[m] == ignore_label) {
      std::fill(drow, drow + V, 0.0f);
      continue;
    }
    const float* row = logits + static_cast<int64_t>(m) * V;
    for (int i = 0; i < V; i++) drow[i] = dlosses[m] * std::exp(row[i] - lse[m]);
    const int32_t local = targets[m] - vocab_start;
    if (local >= 0 && local < V) drow[local] -= dlosses[m];
  }
}

}  // namespace ckf::cpu
