#include "core/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/check.h"

namespace ckf {

static void check_scores(const char* metric, std::span<const float> scores) {
  for (size_t i = 0; i < scores.size(); ++i)
    CKF_CHECK(std::isfinite(scores[i]), metric << ": score " << i << " is " << scores[i]);
}

static void check_labels(const char* metric, std::span<const float> scores, std::span<const uint8_t> labels) {
  CKF_CHECK(scores.size() == labels.size(),
            metric << ": " << scores.size() << " scores but " << labels.size() << " labels");
  for (size_t i = 0; i < labels.size(); ++i)
    CKF_CHECK(labels[i] <= 1, metric << ": label " << i << " is " << int(labels[i]) << ", expected 0 or 1");
  check_scores(metric, scores);
}

// AUC of the samples idx (reordered in place). Returns NaN when a class is missing.
static double auc_of(std::span<const float> scores, std::span<const uint8_t> labels, std::span<int64_t> idx) {
  std::sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney: sum of the (1-based, tie-averaged) ranks of the positives.
  double pos_rank_sum = 0;
  int64_t n_pos = 0;
  for (size_t lo = 0; lo < idx.size();) {
    size_t hi = lo;
    int64_t pos_in_run = 0;
    while (hi < idx.size() && scores[idx[hi]] == scores[idx[lo]]) pos_in_run += labels[idx[hi++]];
    double avg_rank = 0.5 * double(lo + 1 + hi);  // mean of ranks lo+1 .. hi
    pos_rank_sum += avg_rank * double(pos_in_run);
    n_pos += pos_in_run;
    lo = hi;
  }
  int64_t n_neg = int64_t(idx.size()) - n_pos;
  if (n_pos == 0 || n_neg == 0) return NAN;
  return (pos_rank_sum - 0.5 * double(n_pos) * double(n_pos + 1)) / (double(n_pos) * double(n_neg));
}

double metric_auc(std::span<const float> scores, std::span<const uint8_t> labels) {
  check_labels("AUC", scores, labels);
  std::vector<int64_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  double auc = auc_of(scores, labels, idx);
  CKF_CHECK(!std::isnan(auc), "AUC: needs both positive and negative labels among " << scores.size() << " samples");
  return auc;
}

double metric_uauc(std::span<const float> scores, std::span<const uint8_t> labels, std::span<const int32_t> users) {
  check_labels("UAUC", scores, labels);
  CKF_CHECK(users.size() == scores.size(), "UAUC: " << scores.size() << " scores but " << users.size() << " users");
  std::vector<int64_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return users[a] < users[b]; });
  double sum = 0;
  int64_t n_users = 0;
  for (size_t lo = 0; lo < idx.size();) {
    size_t hi = lo;
    while (hi < idx.size() && users[idx[hi]] == users[idx[lo]]) ++hi;
    double auc = auc_of(scores, labels, std::span<int64_t>(idx).subspan(lo, hi - lo));
    if (!std::isnan(auc)) sum += auc, ++n_users;
    lo = hi;
  }
  CKF_CHECK(n_users > 0, "UAUC: no user has both a positive and a negative among " << scores.size() << " samples");
  return sum / double(n_users);
}

TopkMetrics metric_topk(std::span<const float> scores, int64_t n_candidates, int k) {
  CKF_CHECK(n_candidates >= 1 && k >= 1, "top-k: n_candidates " << n_candidates << " and k " << k << " must be >= 1");
  CKF_CHECK(scores.size() % size_t(n_candidates) == 0 && !scores.empty(),
            "top-k: " << scores.size() << " scores is not a positive multiple of " << n_candidates << " candidates");
  check_scores("top-k", scores);
  int64_t n = int64_t(scores.size()) / n_candidates;
  TopkMetrics m;
  for (int64_t s = 0; s < n; ++s) {
    const float* row = scores.data() + s * n_candidates;  // (n_candidates), positive first
    int64_t rank = 0;
    for (int64_t c = 1; c < n_candidates; ++c) rank += row[c] >= row[0];
    if (rank < k) {
      m.hr += 1;
      m.ndcg += 1.0 / std::log2(double(rank) + 2.0);
    }
  }
  m.hr /= double(n);
  m.ndcg /= double(n);
  return m;
}

static void check_regression(const char* metric, std::span<const float> pred, std::span<const float> target) {
  CKF_CHECK(pred.size() == target.size() && !pred.empty(),
            metric << ": " << pred.size() << " predictions for " << target.size() << " targets");
  check_scores(metric, pred);
  for (size_t i = 0; i < target.size(); ++i)
    CKF_CHECK(std::isfinite(target[i]), metric << ": target " << i << " is " << target[i]);
}

double metric_rmse(std::span<const float> pred, std::span<const float> target) {
  check_regression("RMSE", pred, target);
  double s = 0;
  for (size_t i = 0; i < pred.size(); ++i) s += (double(pred[i]) - target[i]) * (double(pred[i]) - target[i]);
  return std::sqrt(s / double(pred.size()));
}

double metric_mae(std::span<const float> pred, std::span<const float> target) {
  check_regression("MAE", pred, target);
  double s = 0;
  for (size_t i = 0; i < pred.size(); ++i) s += std::fabs(double(pred[i]) - target[i]);
  return s / double(pred.size());
}

}  // namespace ckf
