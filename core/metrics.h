// Ranking and regression metrics used by `ckf cf` and `ckf eval`. All inputs are checked: a NaN
// score, a label other than 0/1 or a split with a single class is an error naming the metric.
#pragma once
#include <cstdint>
#include <span>

namespace ckf {

// Area under the ROC curve: the probability that a random positive scores above a random
// negative, ties counted 1/2. O(n log n) via average ranks. Needs both classes.
double metric_auc(std::span<const float> scores, std::span<const uint8_t> labels);

// Per-user AUC averaged over users with at least one positive and one negative, unweighted (the
// CoLLM / CKF convention). Users with a single class are skipped; at least one must remain.
double metric_uauc(std::span<const float> scores, std::span<const uint8_t> labels,
                   std::span<const int32_t> users);

struct TopkMetrics {
  double hr = 0;    // fraction of samples whose positive ranks in the top k
  double ndcg = 0;  // mean of 1 / log2(rank + 2) over those samples (rank counted from 0)
};

// One positive among candidates: scores (n_samples, n_candidates) row-major, the positive in
// column 0. rank = number of negatives scoring >= the positive, so ties are broken
// pessimistically (a tied negative counts as ranked above the positive).
TopkMetrics metric_topk(std::span<const float> scores, int64_t n_candidates, int k);

double metric_rmse(std::span<const float> pred, std::span<const float> target);
double metric_mae(std::span<const float> pred, std::span<const float> target);

}  // namespace ckf
