// Global gradient norm and clipping against closed forms.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/check.h"
#include "kernels/cpu/grad_norm.h"

using ckf::cpu::GradSpan;

namespace {

// Spans filled with constants: sum of squares is sum(n_i * c_i^2) exactly.
TEST(GradNorm, SumOfSquaresAndScaleClosedForm) {
  std::vector<float> a(7, 3.0f), b(33, -0.5f), c(1, 4.0f);
  const GradSpan spans[] = {{a.data(), 7}, {b.data(), 33}, {c.data(), 1}};
  const double want = 7 * 9.0 + 33 * 0.25 + 16.0;
  EXPECT_DOUBLE_EQ(ckf::cpu::grad_sum_squares(spans), want);
  const double norm = std::sqrt(want);
  const float scale = ckf::cpu::grad_clip_scale(norm, 1.0f);
  EXPECT_FLOAT_EQ(scale, static_cast<float>(1.0 / norm));
  ckf::cpu::grad_scale(spans, scale);
  EXPECT_NEAR(std::sqrt(ckf::cpu::grad_sum_squares(spans)), 1.0, 1e-6);  // clipped norm is max_norm
  EXPECT_FLOAT_EQ(a[6], static_cast<float>(3.0 / norm));
  EXPECT_FLOAT_EQ(b[0], static_cast<float>(-0.5 / norm));
}

TEST(GradNorm, NoClipBelowMaxNorm) {
  EXPECT_EQ(ckf::cpu::grad_clip_scale(0.5, 1.0f), 1.0f);
  EXPECT_EQ(ckf::cpu::grad_clip_scale(0.0, 1.0f), 1.0f);
  EXPECT_FLOAT_EQ(ckf::cpu::grad_clip_scale(4.0, 2.0f), 0.5f);
}

TEST(GradNorm, NonFiniteNormOrBadMaxNormThrows) {
  EXPECT_THROW(ckf::cpu::grad_clip_scale(std::numeric_limits<double>::quiet_NaN(), 1.0f), ckf::Error);
  EXPECT_THROW(ckf::cpu::grad_clip_scale(std::numeric_limits<double>::infinity(), 1.0f), ckf::Error);
  EXPECT_THROW(ckf::cpu::grad_clip_scale(1.0, 0.0f), ckf::Error);
}

}  // namespace
