// RMSNorm against a double-precision forward and central finite differences of it.
// Tolerances: forward 1e-5 abs + 1e-5 rel; gradients 1e-4 abs + 1e-3 rel (fp32 kernel vs double).
#include <gtest/gtest.h>

#include "kernels/cpu/rmsnorm.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf::test;

namespace {

std::vector<double> rmsnorm_ref(const std::vector<double>& x, const std::vector<double>& w, int N, int C,
                                double eps) {
  std::vector<double> y(x.size());
  for (int n = 0; n < N; n++) {
    double ss = 0.0;
    for (int c = 0; c < C; c++) ss += x[n * C + c] * x[n * C + c];
    const double r = 1.0 / std::sqrt(ss / C + eps);
    for (int c = 0; c < C; c++) y[n * C + c] = x[n * C + c] * r * w[c];
  }
  return y;
}

const std::tuple<int, int> kShapes[] = {{1, 6}, {7, 64}, {33, 7}, {3, 576}};

TEST(RmsNorm, ForwardMatchesDouble) {
  std::mt19937 rng(20);
  for (auto [N, C] : kShapes) {
    auto x = random_floats(N * C, rng, -2, 2), w = random_floats(C, rng);
    std::vector<float> y(N * C), rstd(N);
    ckf::cpu::rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
    expect_close(y, rmsnorm_ref(to_double(x), to_double(w), N, C, 1e-5), 1e-5, 1e-5, "rmsnorm C=" + std::to_string(C));
  }
}

TEST(RmsNorm, BackwardMatchesFiniteDifferences) {
  std::mt19937 rng(21);
  for (auto [N, C] : kShapes) {
    auto x = random_floats(N * C, rng, -2, 2), w = random_floats(C, rng), dy = random_floats(N * C, rng);
    std::vector<float> y(N * C), rstd(N);
    ckf::cpu::rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
    auto dx0 = random_floats(N * C, rng), dw0 = random_floats(C, rng);  // backward accumulates
    auto dx = dx0, dw = dw0;
    ckf::cpu::rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), N, C);
    for (int i = 0; i < N * C; i++) dx[i] -= dx0[i];
    for (int i = 0; i < C; i++) dw[i] -= dw0[i];
    const auto xd = to_double(x), wd = to_double(w), dyd = to_double(dy);
    expect_grad_matches(dx, [&](const auto& v) { return dot(dyd, rmsnorm_ref(v, wd, N, C, 1e-5)); }, xd,
                        sample_indices(xd.size(), 200, rng), 1e-4, 1e-3, "dinp C=" + std::to_string(C));
    expect_grad_matches(dw, [&](const auto& v) { return dot(dyd, rmsnorm_ref(xd, v, N, C, 1e-5)); }, wd,
                        sample_indices(wd.size(), 200, rng), 1e-4, 1e-3, "dweight C=" + std::to_string(C));
  }
}

}  // namespace
