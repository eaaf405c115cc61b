// Causal grouped-query attention against a naive double-precision forward (per query row: scores over
// earlier keys, max-subtracted softmax, weighted sum of values) and central finite differences of it.
// Tolerances: out and att 1e-5 abs + 1e-4 rel; gradients 1e-4 abs + 1e-3 rel on sampled entries.
#include <gtest/gtest.h>

#include "core/check.h"
#include "kernels/cpu/attention.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf::test;

namespace {

struct Shape {
  int B, T, H, KVH, D;
  std::string name() const {
    return "B" + std::to_string(B) + " T" + std::to_string(T) + " H" + std::to_string(H) + " KVH" +
           std::to_string(KVH) + " D" + std::to_string(D);
  }
};
const Shape kShapes[] = {{1, 1, 1, 1, 6}, {2, 7, 6, 2, 6}, {1, 33, 6, 2, 64}, {2, 33, 4, 4, 64}, {1, 7, 3, 1, 64}};

// out (B, T, H, D) and, when att_out is given, the probabilities (B, H, T, T).
std::vector<double> attention_ref(const std::vector<double>& q, const std::vector<double>& k,
                                  const std::vector<double>& v, const Shape& s,
                                  std::vector<double>* att_out = nullptr) {
  const auto [B, T, H, KVH, D] = s;
  std::vector<double> out(static_cast<size_t>(B) * T * H * D, 0.0);
  if (att_out) att_out->assign(static_cast<size_t>(B) * H * T * T, 0.0);
  std::vector<double> p(T);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++) {
      const int kvh = h * KVH / H;
      for (int t = 0; t < T; t++) {
        double mx = -1e300;
        for (int u = 0; u <= t; u++) {
          double sc = 0.0;
          for (int d = 0; d < D; d++) sc += q[((b * T + t) * H + h) * D + d] * k[((b * T + u) * KVH + kvh) * D + d];
          p[u] = sc / std::sqrt(static_cast<double>(D));
          mx = std::max(mx, p[u]);
        }
        double sum = 0.0;
        for (int u = 0; u <= t; u++) sum += p[u] = std::exp(p[u] - mx);
        for (int u = 0; u <= t; u++) {
          p[u] /= sum;
          if (att_out) (*att_out)[((b * H + h) * T + t) * T + u] = p[u];
          for (int d = 0; d < D; d++)
            out[((b * T + t) * H + h) * D + d] += p[u] * v[((b * T + u) * KVH + kvh) * D + d];
        }
      }
    }
  return out;
}

struct Inputs {
  std::vector<float> q, k, v;  // (B, T, H, D), (B, T, KVH, D), (B, T, KVH, D)
  Inputs(const Shape& s, std::mt19937& rng)
      : q(random_floats(static_cast<size_t>(s.B) * s.T * s.H * s.D, rng, -2, 2)),
        k(random_floats(static_cast<size_t>(s.B) * s.T * s.KVH * s.D, rng, -2, 2)),
        v(random_floats(static_cast<size_t>(s.B) * s.T * s.KVH * s.D, rng)) {}
};

TEST(Attention, ForwardMatchesNaiveDouble) {
  std::mt19937 rng(50);
  for (const Shape& s : kShapes) {
    Inputs in(s, rng);
    std::vector<float> out(in.q.size()), att(static_cast<size_t>(s.B) * s.H * s.T * s.T, 7.0f);
    ckf::cpu::attention_forward(out.data(), att.data(), in.q.data(), in.k.data(), in.v.data(), s.B, s.T, s.H, s.KVH,
                                s.D);
    std::vector<double> att_want;
    auto want = attention_ref(to_double(in.q), to_double(in.k), to_double(in.v), s, &att_want);
    expect_close(out, want, 1e-5, 1e-4, "out " + s.name());
    expect_close(att, att_want, 1e-5, 1e-4, "att " + s.name());  // includes the zeros above the diagonal
  }
}

// Large scores (|q.k| / 8 ~ 100s) overflow a softmax without max subtraction.
TEST(Attention, ForwardIsStableForLargeScores) {
  std::mt19937 rng(51);
  const Shape s{1, 7, 2, 1, 64};
  Inputs in(s, rng);
  for (float& x : in.q) x *= 40.0f;
  std::vector<float> out(in.q.size()), att(s.H * s.T * s.T);
  ckf::cpu::attention_forward(out.data(), att.data(), in.q.data(), in.k.data(), in.v.data(), s.B, s.T, s.H, s.KVH,
                              s.D);
  expect_close(out, attention_ref(to_double(in.q), to_double(in.k), to_double(in.v), s), 1e-4, 1e-4, "large");
}

TEST(Attention, BackwardMatchesFiniteDifferencesAndAccumulates) {
  std::mt19937 rng(52);
  for (const Shape& s : kShapes) {
    Inputs in(s, rng);
    auto dout = random_floats(in.q.size(), rng);
    std::vector<float> out(in.q.size()), att(static_cast<size_t>(s.B) * s.H * s.T * s.T);
    ckf::cpu::attention_forward(out.data(), att.data(), in.q.data(), in.k.data(), in.v.data(), s.B, s.T, s.H, s.KVH,
                                s.D);
    auto dq0 = random_floats(in.q.size(), rng), dk0 = random_floats(in.k.size(), rng),
         dv0 = random_floats(in.v.size(), rng);
    auto dq = dq0, dk = dk0, dv = dv0;
    ckf::cpu::attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), in.q.data(), in.k.data(),
                                 in.v.data(), att.data(), s.B, s.T, s.H, s.KVH, s.D);
    for (size_t i = 0; i < dq.size(); i++) dq[i] -= dq0[i];
    for (size_t i = 0; i < dk.size(); i++) dk[i] -= dk0[i], dv[i] -= dv0[i];
    const auto qd = to_double(in.q), kd = to_double(in.k), vd = to_double(in.v), dd = to_double(dout);
    expect_grad_matches(dq, [&](const auto& x) { return dot(dd, attention_ref(x, kd, vd, s)); }, qd,
                        sample_indices(qd.size(), 60, rng), 1e-4, 1e-3, "dq " + s.name());
    expect_grad_matches(dk, [&](const auto& x) { return dot(dd, attention_ref(qd, x, vd, s)); }, kd,
                        sample_indices(kd.size(), 60, rng), 1e-4, 1e-3, "dk " + s.name());
    expect_grad_matches(dv, [&](const auto& x) { return dot(dd, attention_ref(qd, kd, x, s)); }, vd,
                        sample_indices(vd.size(), 60, rng), 1e-4, 1e-3, "dv " + s.name());
  }
}

TEST(Attention, RejectsHeadsNotMultipleOfKvHeads) {
  std::vector<float> buf(64, 0.5f);
  EXPECT_THROW(ckf::cpu::attention_forward(buf.data(), buf.data(), buf.data(), buf.data(), buf.data(), 1, 1, 3, 2, 2),
               ckf::Error);
}

}  // namespace
