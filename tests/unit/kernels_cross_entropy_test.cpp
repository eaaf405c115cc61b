// Cross-entropy over selected rows against log-sum-exp in double and central finite differences;
// the ignore label yields zero loss and zero gradient; a bad target names its row; the shard API
// over uneven vocabulary shards, reduced as the tp collectives would, equals the single shard.
// Tolerances: loss 1e-5 abs + 1e-5 rel; gradient 1e-5 abs + 1e-3 rel.
#include <gtest/gtest.h>

#include "core/check.h"
#include "kernels/cpu/cross_entropy.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf::test;

namespace {

constexpr int32_t kIgnore = -100;

std::vector<double> cross_entropy_ref(const std::vector<double>& logits, const std::vector<int32_t>& targets, int M,
                                      int V) {
  std::vector<double> loss(M, 0.0);
  for (int m = 0; m < M; m++) {
    if (targets[m] == kIgnore) continue;
    double mx = -1e300, sum = 0.0;
    for (int i = 0; i < V; i++) mx = std::max(mx, logits[m * V + i]);
    for (int i = 0; i < V; i++) sum += std::exp(logits[m * V + i] - mx);
    loss[m] = mx + std::log(sum) - logits[m * V + targets[m]];
  }
  return loss;
}

// Random targets with every third row ignored.
std::vector<int32_t> random_targets(int M, int V, std::mt19937& rng) {
  std::vector<int32_t> t(M);
  for (int m = 0; m < M; m++) t[m] = m % 3 == 1 ? kIgnore : static_cast<int32_t>(rng() % V);
  return t;
}

TEST(CrossEntropy, ForwardAndBackwardMatchDouble) {
  std::mt19937 rng(60);
  for (auto [M, V, offset] : {std::tuple{1, 7, 0.0f}, std::tuple{7, 33, 0.0f}, std::tuple{5, 1000, 500.0f}}) {
    auto logits = random_floats(M * V, rng, offset - 4, offset + 4);  // offset 500: exp overflows unless stable
    auto targets = random_targets(M, V, rng);
    auto dloss = random_floats(M, rng, 0.5f, 1.5f);
    std::vector<float> loss(M), dlogits(M * V, 9.0f);
    const auto ld = to_double(logits), dd = to_double(dloss);
    ckf::cpu::cross_entropy_forward(loss.data(), logits.data(), targets.data(), M, V, kIgnore);
    expect_close(loss, cross_entropy_ref(ld, targets, M, V), 1e-5, 1e-5, "loss V=" + std::to_string(V));
    ckf::cpu::cross_entropy_backward(dlogits.data(), logits.data(), targets.data(), dloss.data(), M, V, kIgnore);
    expect_grad_matches(dlogits, [&](const auto& x) { return dot(dd, cross_entropy_ref(x, targets, M, V)); }, ld,
                        sample_indices(ld.size(), 400, rng), 1e-5, 1e-3, "dlogits V=" + std::to_string(V), 1e-5);
    for (int m = 1; m < M; m += 3) {
      EXPECT_EQ(loss[m], 0.0f) << "ignored row " << m;
      for (int i = 0; i < V; i++) ASSERT_EQ(dlogits[m * V + i], 0.0f) << "ignored row " << m;
    }
  }
}

TEST(CrossEntropy, OutOfRangeTargetNamesRow) {
  const int M = 3, V = 4;
  std::vector<float> logits(M * V, 0.25f), loss(M), dlogits(M * V), dloss(M, 1.0f);
  for (int32_t bad : {V, -1}) {
    std::vector<int32_t> targets = {0, kIgnore, bad};
    try {
      ckf::cpu::cross_entropy_forward(loss.data(), logits.data(), targets.data(), M, V, kIgnore);
      FAIL() << "no error for target " << bad;
    } catch (const ckf::Error& e) {
      EXPECT_NE(std::string(e.what()).find("row 2"), std::string::npos) << e.what();
    }
    EXPECT_THROW(ckf::cpu::cross_entropy_backward(dlogits.data(), logits.data(), targets.data(), dloss.data(), M, V,
                                                  kIgnore),
                 ckf::Error);
  }
}

TEST(CrossEntropy, VocabShardsEqualTheSingleShard) {
  std::mt19937 rng(61);
  const int M = 6, V = 301;
  const int bounds[] = {0, 100, 101, 301};  // three shards, one of width 1
  auto logits = random_floats(M * V, rng, -6, 6);
  auto targets = random_targets(M, V, rng);
  targets[0] = 100;  // a target in the width-1 shard
  auto dloss = random_floats(M, rng, 0.5f, 1.5f);
  std::vector<float> loss(M), dlogits(M * V);
  ckf::cpu::cross_entropy_forward(loss.data(), logits.data(), targets.data(), M, V, kIgnore);
  ckf::cpu::cross_entropy_backward(dlogits.data(), logits.data(), targets.data(), dloss.data(), M, V, kIgnore);

  std::vector<std::vector<float>> shards(3);  // (M, width) column blocks
  for (int r = 0; r < 3; r++)
    for (int m = 0; m < M; m++)
      shards[r].insert(shards[r].end(), logits.begin() + m * V + bounds[r], logits.begin() + m * V + bounds[r + 1]);
  std::vector<float> row_max(M, -INFINITY), sum_exp(M, 0.0f), target_logit(M, 0.0f), part(M), part_t(M);
  for (int r = 0; r < 3; r++) {  // all-reduce MAX
    ckf::cpu::cross_entropy_shard_max(part.data(), shards[r].data(), M, bounds[r + 1] - bounds[r]);
    for (int m = 0; m < M; m++) row_max[m] = std::max(row_max[m], part[m]);
  }
  for (int r = 0; r < 3; r++) {  // all-reduce SUM
    ckf::cpu::cross_entropy_shard_sum_exp(part.data(), part_t.data(), shards[r].data(), row_max.data(), targets.data(),
                                          M, bounds[r + 1] - bounds[r], bounds[r], kIgnore);
    for (int m = 0; m < M; m++) sum_exp[m] += part[m], target_logit[m] += part_t[m];
  }
  std::vector<float> shard_loss(M), lse(M);
  ckf::cpu::cross_entropy_finish(shard_loss.data(), lse.data(), row_max.data(), sum_exp.data(), target_logit.data(),
                                 targets.data(), M, kIgnore);
  expect_close(shard_loss, to_double(loss), 1e-6, 1e-6, "sharded loss");
  for (int r = 0; r < 3; r++) {
    const int w = bounds[r + 1] - bounds[r];
    std::vector<float> d(M * w, 9.0f);
    ckf::cpu::cross_entropy_shard_backward(d.data(), shards[r].data(), lse.data(), targets.data(), dloss.data(), M, w,
                                           bounds[r], kIgnore);
    std::vector<double> want;
    for (int m = 0; m < M; m++)
      for (int i = bounds[r]; i < bounds[r + 1]; i++) want.push_back(dlogits[m * V + i]);
    expect_close(d, want, 1e-6, 1e-6, "sharded dlogits, shard " + std::to_string(r));
  }
}

}  // namespace
