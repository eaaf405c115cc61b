// Metrics against hand-computed cases and brute-force double references (all pairs for AUC,
// a full sort-free rank count for top-k) on random data with deliberate ties.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "core/check.h"
#include "core/metrics.h"

using namespace ckf;

namespace {

// O(P*N) reference: fraction of (positive, negative) pairs ordered correctly, ties 1/2.
double auc_pairs(const std::vector<float>& s, const std::vector<uint8_t>& y) {
  double good = 0, pairs = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = 0; j < s.size(); ++j)
      if (y[i] == 1 && y[j] == 0) {
        pairs += 1;
        good += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
      }
  return good / pairs;
}

// Scores on a coarse grid so that ties are frequent.
std::vector<float> tied_scores(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> q(-6, 6);
  std::vector<float> s(n);
  for (auto& v : s) v = 0.25f * float(q(rng));
  return s;
}

}  // namespace

TEST(Metrics, AucHandCases) {
  // Perfect, reversed, and all tied.
  EXPECT_DOUBLE_EQ(metric_auc(std::vector<float>{0.1f, 0.9f}, std::vector<uint8_t>{0, 1}), 1.0);
  EXPECT_DOUBLE_EQ(metric_auc(std::vector<float>{0.9f, 0.1f}, std::vector<uint8_t>{0, 1}), 0.0);
  EXPECT_DOUBLE_EQ(metric_auc(std::vector<float>{0.5f, 0.5f, 0.5f}, std::vector<uint8_t>{0, 1, 1}), 0.5);
  // Pairs (pos, neg): (0.8: 0.3 win, 0.8 tie, 0.9 loss) (0.4: win, loss, loss) -> (1 + .5 + 1) / 6.
  std::vector<float> s{0.8f, 0.4f, 0.3f, 0.8f, 0.9f};
  std::vector<uint8_t> y{1, 1, 0, 0, 0};
  EXPECT_DOUBLE_EQ(metric_auc(s, y), 2.5 / 6.0);
}

TEST(Metrics, AucMatchesAllPairsOnRandomData) {
  std::mt19937 rng(11);
  for (size_t n : {2u, 7u, 64u, 501u}) {
    for (int rep = 0; rep < 5; ++rep) {
      std::vector<float> s = tied_scores(rng, n);
      std::vector<uint8_t> y(n);
      std::bernoulli_distribution b(0.3);
      for (auto& v : y) v = b(rng);
      y[0] = 1, y[n - 1] = 0;
      EXPECT_NEAR(metric_auc(s, y), auc_pairs(s, y), 1e-12) << "n " << n;
    }
  }
}

TEST(Metrics, UaucAveragesUsersWithBothClassesUnweighted) {
  // User 7: AUC 1 over 4 samples; user 3: AUC 0 over 2 samples; user 5: positives only (skipped).
  std::vector<int32_t> u{7, 3, 7, 5, 7, 3, 7, 5};
  std::vector<float> s{0.9f, 0.1f, 0.2f, 0.3f, 0.8f, 0.7f, 0.1f, 0.6f};
  std::vector<uint8_t> y{1, 1, 0, 1, 1, 0, 0, 1};
  EXPECT_DOUBLE_EQ(metric_uauc(s, y, u), 0.5);

  std::mt19937 rng(5);
  for (size_t n : {9u, 100u, 333u}) {
    std::vector<float> sc = tied_scores(rng, n);
    std::vector<uint8_t> lab(n);
    std::vector<int32_t> usr(n);
    std::bernoulli_distribution b(0.5);
    std::uniform_int_distribution<int32_t> pick(0, int32_t(n / 4));
    for (size_t i = 0; i < n; ++i) lab[i] = b(rng), usr[i] = pick(rng);
    std::map<int32_t, std::pair<std::vector<float>, std::vector<uint8_t>>> by_user;
    for (size_t i = 0; i < n; ++i) by_user[usr[i]].first.push_back(sc[i]), by_user[usr[i]].second.push_back(lab[i]);
    double sum = 0;
    int count = 0;
    for (auto& [user, sy] : by_user) {
      int pos = 0;
      for (uint8_t v : sy.second) pos += v;
      if (pos == 0 || pos == int(sy.second.size())) continue;
      sum += auc_pairs(sy.first, sy.second), ++count;
    }
    ASSERT_GT(count, 0);
    EXPECT_NEAR(metric_uauc(sc, lab, usr), sum / count, 1e-12) << "n " << n;
  }
}

TEST(Metrics, TopkHandCasesTiesArePessimistic) {
  // Row 0: positive best -> rank 0. Row 1: one negative above, one tied -> rank 2.
  // Row 2: all three negatives above -> rank 3.
  std::vector<float> s{0.9f, 0.1f, 0.2f, 0.3f,  //
                       0.5f, 0.7f, 0.5f, 0.1f,  //
                       0.0f, 0.1f, 0.2f, 0.3f};
  TopkMetrics k3 = metric_topk(s, 4, 3);
  EXPECT_DOUBLE_EQ(k3.hr, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(k3.ndcg, (1.0 + 1.0 / std::log2(4.0)) / 3.0);
  TopkMetrics k1 = metric_topk(s, 4, 1);
  EXPECT_DOUBLE_EQ(k1.hr, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(k1.ndcg, 1.0 / 3.0);
}

TEST(Metrics, TopkMatchesSortReference) {
  std::mt19937 rng(3);
  for (int64_t c : {1, 5, 100}) {
    for (int k : {1, 3, 10}) {
      size_t n = 37;
      std::vector<float> s = tied_scores(rng, n * size_t(c));
      double hr = 0, ndcg = 0;
      for (size_t r = 0; r < n; ++r) {
        // Reference: sort candidates by score descending, tied negatives first, find the positive.
        std::vector<std::pair<float, int>> order;
        for (int64_t j = 0; j < c; ++j) order.push_back({s[r * c + j], j == 0 ? 1 : 0});
        std::sort(order.begin(), order.end(), [](auto a, auto b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
        size_t rank = 0;
        while (order[rank].second != 1) ++rank;
        if (rank < size_t(k)) hr += 1, ndcg += 1.0 / std::log2(rank + 2.0);
      }
      TopkMetrics m = metric_topk(s, c, k);
      EXPECT_NEAR(m.hr, hr / n, 1e-12) << "c " << c << " k " << k;
      EXPECT_NEAR(m.ndcg, ndcg / n, 1e-12) << "c " << c << " k " << k;
    }
  }
}

TEST(Metrics, RmseMae) {
  std::vector<float> p{1.0f, 2.0f, 4.0f}, t{2.0f, 2.0f, 1.0f};
  EXPECT_DOUBLE_EQ(metric_rmse(p, t), std::sqrt(10.0 / 3.0));
  EXPECT_DOUBLE_EQ(metric_mae(p, t), 4.0 / 3.0);
}

TEST(Metrics, BadInputsAreErrors) {
  EXPECT_THROW(metric_auc(std::vector<float>{0.1f, NAN}, std::vector<uint8_t>{0, 1}), Error);
  EXPECT_THROW(metric_auc(std::vector<float>{0.1f, 0.2f}, std::vector<uint8_t>{1, 1}), Error);
  EXPECT_THROW(metric_auc(std::vector<float>{0.1f, 0.2f}, std::vector<uint8_t>{0, 2}), Error);
  EXPECT_THROW(metric_uauc(std::vector<float>{0.1f, 0.2f}, std::vector<uint8_t>{0, 1}, std::vector<int32_t>{1, 2}), Error);
  EXPECT_THROW(metric_topk(std::vector<float>{0.1f, 0.2f, 0.3f}, 2, 1), Error);
  EXPECT_THROW(metric_rmse(std::vector<float>{}, std::vector<float>{}), Error);
}
