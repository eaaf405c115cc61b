// core/optimizer and core/lr_schedule against a double-precision AdamW + clipping reference and
// the schedule's closed form.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include "core/check.h"
#include "core/optimizer.h"
#include "tests/unit/kernel_reference.h"

namespace ckf {
namespace {

std::vector<float> values(const Tensor& t) { return {t.data<float>(), t.data<float>() + t.numel()}; }

void fill(Tensor& t, const std::vector<float>& v) { std::copy(v.begin(), v.end(), t.data<float>()); }

TEST(LrSchedule, ClosedForm) {
  LrSchedule s{1e-3f, 1e-5f, 10, 110, LrDecay::cosine};
  const double peak = 1e-3, lo = 1e-5;
  EXPECT_NEAR(lr_at(s, 1), peak / 10, 1e-9);
  EXPECT_NEAR(lr_at(s, 5), peak * 0.5, 1e-9);
  EXPECT_NEAR(lr_at(s, 10), peak, 1e-9);
  EXPECT_NEAR(lr_at(s, 35), lo + (peak - lo) * 0.5 * (1 + std::cos(std::numbers::pi * 0.25)), 1e-9);
  EXPECT_NEAR(lr_at(s, 60), lo + (peak - lo) * 0.5, 1e-9);
  EXPECT_NEAR(lr_at(s, 110), lo, 1e-9);
  EXPECT_NEAR(lr_at(s, 500), lo, 1e-9);
  s.decay = LrDecay::linear;
  EXPECT_NEAR(lr_at(s, 35), lo + (peak - lo) * 0.75, 1e-9);
  EXPECT_NEAR(lr_at(s, 97), lo + (peak - lo) * (1 - 87.0 / 100), 1e-9);
  s.decay = LrDecay::constant;
  EXPECT_NEAR(lr_at(s, 97), peak, 1e-9);
  EXPECT_THROW(lr_at(s, 0), Error);
  EXPECT_THROW(lr_schedule_check(LrSchedule{1e-3f, 2e-3f, 0, 10, LrDecay::cosine}), Error);
  EXPECT_THROW(lr_schedule_check(LrSchedule{1e-3f, 0, 20, 10, LrDecay::cosine}), Error);
  EXPECT_THROW(lr_decay_parse("exp"), Error);
}

// Double reference of one step: global-norm clip over counted grads, then torch AdamW.
struct RefState {
  std::vector<std::vector<double>> p, m, v;
};

void ref_step(RefState& s, const std::vector<std::vector<double>>& grads, const OptimizerConfig& cfg, int64_t t) {
  double ss = 0;
  for (const auto& g : grads)
    for (double x : g) ss += x * x;
  const double norm = std::sqrt(ss);
  const double scale = norm > cfg.max_grad_norm ? cfg.max_grad_norm / norm : 1.0;
  const double lr = lr_at(cfg.schedule, t);
  const double b1 = cfg.adamw.beta1, b2 = cfg.adamw.beta2;
  for (size_t k = 0; k < grads.size(); k++)
    for (size_t i = 0; i < grads[k].size(); i++) {
      const double g = grads[k][i] * scale;
      double& p = s.p[k][i];
      double& m = s.m[k][i];
      double& v = s.v[k][i];
      p *= 1 - lr * cfg.adamw.weight_decay;
      m = b1 * m + (1 - b1) * g;
      v = b2 * v + (1 - b2) * g * g;
      p -= lr * (m / (1 - std::pow(b1, t))) / (std::sqrt(v / (1 - std::pow(b2, t))) + cfg.adamw.eps);
    }
}

OptimizerConfig test_config() {
  OptimizerConfig cfg;
  cfg.adamw = {0, 0.9f, 0.95f, 1e-8f, 0.1f};
  cfg.schedule = {1e-2f, 1e-3f, 2, 8, LrDecay::cosine};
  cfg.max_grad_norm = 3.0f;
  return cfg;
}

TEST(Optimizer, SeveralStepsMatchDoubleReferenceWithClipping) {
  std::mt19937 rng(7);
  std::vector<Param> params{Param::make("a", {3, 5}), Param::make("b", {7}), Param::make("c", {2, 3, 1})};
  RefState ref;
  for (Param& p : params) {
    auto v = test::random_floats(static_cast<size_t>(p.value.numel()), rng);
    fill(p.value, v);
    ref.p.push_back(test::to_double(v));
    ref.m.emplace_back(v.size(), 0.0);
    ref.v.emplace_back(v.size(), 0.0);
  }
  const OptimizerConfig cfg = test_config();
  AdamW opt({&params[0], &params[1], &params[2]}, cfg);
  int clipped = 0;
  for (int64_t t = 1; t <= 10; t++) {
    // Alternate small and large gradients so that some steps clip and some do not.
    const float mag = t % 2 ? 0.3f : 4.0f;
    std::vector<std::vector<double>> grads;
    for (Param& p : params) {
      auto g = test::random_floats(static_cast<size_t>(p.grad.numel()), rng, -mag, mag);
      fill(p.grad, g);
      grads.push_back(test::to_double(g));
    }
    StepResult r = opt.step([](double local) { return local; });
    ASSERT_TRUE(r.applied);
    clipped += r.clip_scale < 1.0f;
    ref_step(ref, grads, cfg, t);
    EXPECT_EQ(opt.step_count(), t);
    EXPECT_NEAR(r.lr, lr_at(cfg.schedule, t), 1e-9);
  }
  EXPECT_GT(clipped, 0);
  EXPECT_LT(clipped, 10);
  for (size_t k = 0; k < params.size(); k++) {
    test::expect_close(values(params[k].value), ref.p[k], 1e-6, 1e-5, params[k].name);
    test::expect_close(values(opt.moments_m()[k].value), ref.m[k], 1e-7, 1e-5, params[k].name + ".m");
    for (float g : values(params[k].grad)) EXPECT_EQ(g, 0.0f) << "grads are zeroed after the step";
  }
}

TEST(Optimizer, NormCountsOnlyFlaggedParamsThroughTheCallerReduction) {
  std::vector<Param> params{Param::make("split", {4}), Param::make("replicated", {3})};
  fill(params[0].grad, {1, 2, 3, 4});
  fill(params[1].grad, {5, 6, 7});
  AdamW opt({&params[0], &params[1]}, test_config(), {true, false});
  double seen = -1;
  // The "other ranks" contribute 100 to the sum of squares.
  StepResult r = opt.step([&](double local) {
    seen = local;
    return local + 100.0;
  });
  EXPECT_DOUBLE_EQ(seen, 1 + 4 + 9 + 16);
  EXPECT_DOUBLE_EQ(r.grad_norm, std::sqrt(130.0));
  EXPECT_NEAR(r.clip_scale, 3.0 / std::sqrt(130.0), 1e-6);
}

TEST(Optimizer, NonFiniteGradientSkipsTheStep) {
  for (bool counted : {true, false}) {
    std::mt19937 rng(3);
    std::vector<Param> params{Param::make("a", {5}), Param::make("b", {3})};
    for (Param& p : params) {
      fill(p.value, test::random_floats(static_cast<size_t>(p.value.numel()), rng));
      fill(p.grad, test::random_floats(static_cast<size_t>(p.value.numel()), rng));
    }
    AdamW opt({&params[0], &params[1]}, test_config(), {true, counted});
    ASSERT_TRUE(opt.step([](double x) { return x; }).applied);
    const auto before = values(params[0].value);
    const auto m_before = values(opt.moments_m()[0].value);
    fill(params[0].grad, test::random_floats(5, rng));
    params[1].grad.data<float>()[1] = counted ? std::numeric_limits<float>::quiet_NaN()
                                              : std::numeric_limits<float>::infinity();
    StepResult r = opt.step([](double x) { return x; });
    EXPECT_FALSE(r.applied) << "counted=" << counted;
    EXPECT_FALSE(std::isfinite(r.grad_norm));
    EXPECT_EQ(opt.step_count(), 1);
    EXPECT_EQ(values(params[0].value), before);
    EXPECT_EQ(values(opt.moments_m()[0].value), m_before);
    for (const Param& p : params)
      for (float g : values(p.grad)) EXPECT_EQ(g, 0.0f);
  }
}

TEST(Optimizer, SkipWhenAnotherRankReportsNonFinite) {
  std::vector<Param> params{Param::make("a", {2})};
  fill(params[0].grad, {0.5f, -0.5f});
  AdamW opt({&params[0]}, test_config());
  EXPECT_FALSE(opt.step([](double) { return std::numeric_limits<double>::quiet_NaN(); }).applied);
  EXPECT_EQ(opt.step_count(), 0);
}

}  // namespace
}  // namespace ckf
