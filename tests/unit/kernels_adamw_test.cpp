// AdamW against (1) a hand-written double-precision transcription of the torch.optim.AdamW update
// over several steps and configurations, (2) a golden file written by torch.optim.AdamW itself
// (tests/golden/make_adamw_golden.py). Tolerances: 1e-6 abs + 1e-5 rel against double (fp32 rounding
// of a few operations per step); 1e-6 abs + 1e-6 rel against torch (same fp32 operation order).
#include <gtest/gtest.h>

#include <fstream>

#include "core/check.h"
#include "kernels/cpu/adamw.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf::test;
using ckf::cpu::AdamWConfig;

namespace {

struct AdamWRef {
  std::vector<double> p, m, v;
  // torch: p *= 1 - lr wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
  //        p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
  void step(const std::vector<float>& g, const AdamWConfig& c, int t) {
    for (size_t i = 0; i < p.size(); i++) {
      p[i] *= 1.0 - static_cast<double>(c.lr) * c.weight_decay;
      m[i] = c.beta1 * m[i] + (1.0 - c.beta1) * g[i];
      v[i] = c.beta2 * v[i] + (1.0 - c.beta2) * static_cast<double>(g[i]) * g[i];
      const double mhat = m[i] / (1.0 - std::pow(static_cast<double>(c.beta1), t));
      const double vhat = v[i] / (1.0 - std::pow(static_cast<double>(c.beta2), t));
      p[i] -= c.lr * mhat / (std::sqrt(vhat) + c.eps);
    }
  }
};

TEST(AdamW, SeveralStepsMatchDoubleReference) {
  std::mt19937 rng(70);
  const AdamWConfig configs[] = {{1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f}, {1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f},
                                 {3e-4f, 0.8f, 0.99f, 1e-6f, 0.01f}};
  for (const AdamWConfig& c : configs)
    for (int n : {1, 7, 33}) {
      auto p = random_floats(n, rng);
      std::vector<float> m(n, 0.0f), v(n, 0.0f);
      AdamWRef ref{to_double(p), std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
      for (int t = 1; t <= 8; t++) {
        auto g = random_floats(n, rng, -0.1f * t, 0.1f * t);
        ckf::cpu::adamw_update(p.data(), g.data(), m.data(), v.data(), n, c, t);
        ref.step(g, c, t);
        expect_close(p, ref.p, 1e-6, 1e-5, "param lr=" + std::to_string(c.lr) + " step " + std::to_string(t));
        expect_close(m, ref.m, 1e-7, 1e-5, "m step " + std::to_string(t));
        expect_close(v, ref.v, 1e-9, 1e-5, "v step " + std::to_string(t));
      }
    }
}

std::vector<float> read_floats(std::istream& in, int n) {
  std::vector<float> v(n);
  for (float& x : v) in >> x;
  return v;
}

TEST(AdamW, MatchesTorchGolden) {
  const std::string path = std::string(CKF_TEST_DATA_DIR) + "/adamw_golden.txt";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot open " << path;
  int n, steps;
  AdamWConfig c;
  in >> n >> steps >> c.lr >> c.beta1 >> c.beta2 >> c.eps >> c.weight_decay;
  auto p = read_floats(in, n);
  std::vector<float> m(n, 0.0f), v(n, 0.0f);
  for (int t = 1; t <= steps; t++) {
    auto g = read_floats(in, n);
    auto want = read_floats(in, n);
    ASSERT_TRUE(in) << path << " truncated at step " << t;
    ckf::cpu::adamw_update(p.data(), g.data(), m.data(), v.data(), n, c, t);
    expect_close(p, to_double(want), 1e-6, 1e-6, "torch step " + std::to_string(t));
  }
}

TEST(AdamW, RejectsStepZero) {
  float p = 1.0f, g = 0.5f, m = 0.0f, v = 0.0f;
  EXPECT_THROW(ckf::cpu::adamw_update(&p, &g, &m, &v, 1, AdamWConfig{}, 0), ckf::Error);
}

}  // namespace
