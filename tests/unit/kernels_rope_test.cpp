// RoPE against a literal double-precision transcription of Hugging Face LLaMA's apply_rotary_pos_emb:
// out = x * cat(cos, cos) + rotate_half(x) * cat(sin, sin), rotate_half(x) = cat(-x2, x1),
// freqs = pos * theta^(-arange(0, D, 2) / D). Backward against central finite differences.
// Tolerances: forward 1e-5 abs (angles up to ~2000 rad lose ~1e-4 rel in fp32 cos/sin => 2e-5 abs
// allowed there); gradients 1e-4 abs + 1e-4 rel.
#include <gtest/gtest.h>

#include "core/check.h"
#include "kernels/cpu/rope.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf::test;

namespace {

std::vector<double> rope_ref(const std::vector<double>& x, const std::vector<int32_t>& pos, int N, int H, int D,
                             double theta) {
  std::vector<double> out(x.size());
  const int half = D / 2;
  for (int n = 0; n < N; n++)
    for (int h = 0; h < H; h++) {
      const double* xv = &x[(n * H + h) * D];
      double* o = &out[(n * H + h) * D];
      for (int i = 0; i < D; i++) {
        const double f = pos[n] * std::pow(theta, -(2.0 * (i % half)) / D);
        const double rotated = i < half ? -xv[i + half] : xv[i - half];
        o[i] = xv[i] * std::cos(f) + rotated * std::sin(f);
      }
    }
  return out;
}

struct Case {
  int N, H, D;
  float theta;
  int max_pos;
};
const Case kCases[] = {{1, 1, 6, 10000.0f, 1}, {7, 6, 64, 10000.0f, 7}, {33, 2, 64, 100000.0f, 2048},
                       {5, 3, 2, 500000.0f, 100}};

std::vector<int32_t> random_positions(int N, int max_pos, std::mt19937& rng) {
  std::vector<int32_t> pos(N);
  for (int32_t& p : pos) p = static_cast<int32_t>(rng() % max_pos);
  return pos;
}

TEST(Rope, ForwardMatchesHuggingFaceFormula) {
  std::mt19937 rng(30);
  for (const Case& c : kCases) {
    auto x = random_floats(c.N * c.H * c.D, rng);
    auto pos = random_positions(c.N, c.max_pos, rng);
    auto want = rope_ref(to_double(x), pos, c.N, c.H, c.D, c.theta);
    ckf::cpu::rope_forward(x.data(), pos.data(), c.N, c.H, c.D, c.theta);
    expect_close(x, want, 2e-5, 1e-5, "rope D=" + std::to_string(c.D) + " theta=" + std::to_string(c.theta));
  }
}

TEST(Rope, BackwardMatchesFiniteDifferences) {
  std::mt19937 rng(31);
  for (const Case& c : kCases) {
    auto x = random_floats(c.N * c.H * c.D, rng), dy = random_floats(c.N * c.H * c.D, rng);
    auto pos = random_positions(c.N, c.max_pos, rng);
    auto dx = dy;
    ckf::cpu::rope_backward(dx.data(), pos.data(), c.N, c.H, c.D, c.theta);
    const auto dyd = to_double(dy);
    expect_grad_matches(dx, [&](const auto& v) { return dot(dyd, rope_ref(v, pos, c.N, c.H, c.D, c.theta)); },
                        to_double(x), sample_indices(x.size(), 300, rng), 1e-4, 1e-4, "rope dx D=" + std::to_string(c.D));
  }
}

TEST(Rope, RejectsOddHeadSizeAndNegativePosition) {
  std::vector<float> x(12, 1.0f);
  std::vector<int32_t> pos = {0, -3};
  EXPECT_THROW(ckf::cpu::rope_forward(x.data(), pos.data(), 1, 4, 3, 10000.0f), ckf::Error);
  EXPECT_THROW(ckf::cpu::rope_forward(x.data(), pos.data(), 2, 1, 6, 10000.0f), ckf::Error);
}

}  // namespace
