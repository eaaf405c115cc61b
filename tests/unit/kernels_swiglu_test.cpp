// SwiGLU against silu(g) * u in double and central finite differences of it.
// Tolerances: forward 1e-6 abs + 1e-5 rel; gradients 1e-5 abs + 1e-4 rel.
#include <gtest/gtest.h>

#include "kernels/cpu/swiglu.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf::test;

namespace {

std::vector<double> swiglu_ref(const std::vector<double>& g, const std::vector<double>& u) {
  std::vector<double> out(g.size());
  for (size_t i = 0; i < g.size(); i++) out[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
  return out;
}

TEST(SwiGlu, ForwardAndBackwardMatchDouble) {
  std::mt19937 rng(40);
  for (int n : {1, 7, 33 * 6, 64 * 33}) {
    auto g = random_floats(n, rng, -6, 6), u = random_floats(n, rng, -2, 2), dy = random_floats(n, rng);
    std::vector<float> out(n), dg(n), du(n);
    const auto gd = to_double(g), ud = to_double(u), dyd = to_double(dy);
    ckf::cpu::swiglu_forward(out.data(), g.data(), u.data(), n);
    expect_close(out, swiglu_ref(gd, ud), 1e-6, 1e-5, "swiglu n=" + std::to_string(n));
    ckf::cpu::swiglu_backward(dg.data(), du.data(), dy.data(), g.data(), u.data(), n);
    auto all = sample_indices(n, n, rng);
    expect_grad_matches(dg, [&](const auto& v) { return dot(dyd, swiglu_ref(v, ud)); }, gd, all, 1e-5, 1e-4, "dgate");
    expect_grad_matches(du, [&](const auto& v) { return dot(dyd, swiglu_ref(gd, v)); }, ud, all, 1e-5, 1e-4, "dup");
  }
}

}  // namespace
