// gemm, gemm_strided_batched and the linear layer against naive double-precision products; the
// linear backward against central finite differences of the double forward.
// Tolerance: |fp32 - double| <= 1e-5 * K-scaled atol + 1e-5 relative (sums of K products of O(1) terms).
#include <gtest/gtest.h>

#include "core/check.h"
#include "kernels/cpu/matmul.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

// c (M, N) = alpha op(a) op(b) + beta c in double, op chosen by the storage of a and b.
std::vector<double> gemm_ref(const std::vector<double>& a, const std::vector<double>& b, std::vector<double> c, int M,
                             int N, int K, bool ta, bool tb, double alpha, double beta) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double s = 0.0;
      for (int k = 0; k < K; k++) s += (ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
      c[i * N + j] = alpha * s + beta * c[i * N + j];
    }
  return c;
}

// out (N, OC) = inp (N, C) @ w (OC, C)^T + bias (OC) in double.
std::vector<double> linear_ref(const std::vector<double>& inp, const std::vector<double>& w,
                               const std::vector<double>& bias, int N, int C, int OC) {
  std::vector<double> out(static_cast<size_t>(N) * OC);
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OC; o++) {
      double s = bias.empty() ? 0.0 : bias[o];
      for (int c = 0; c < C; c++) s += inp[n * C + c] * w[o * C + c];
      out[n * OC + o] = s;
    }
  return out;
}

struct Shape {
  int M, N, K;
};
const Shape kShapes[] = {{1, 1, 1}, {7, 5, 3}, {33, 64, 6}, {64, 33, 65}, {1, 7, 33}};

TEST(Gemm, AllTransposesAlphaBetaMatchDouble) {
  std::mt19937 rng(1);
  for (const Shape& s : kShapes)
    for (int mode = 0; mode < 4; mode++) {
      const bool ta = mode & 1, tb = mode & 2;
      auto a = random_floats(static_cast<size_t>(s.M) * s.K, rng);
      auto b = random_floats(static_cast<size_t>(s.K) * s.N, rng);
      auto c = random_floats(static_cast<size_t>(s.M) * s.N, rng);
      auto want = gemm_ref(to_double(a), to_double(b), to_double(c), s.M, s.N, s.K, ta, tb, 0.75, -0.5);
      cpu::gemm(c.data(), a.data(), b.data(), s.M, s.N, s.K, ta, tb, 0.75f, -0.5f);
      expect_close(c, want, 1e-5 * s.K, 1e-5,
                   "gemm M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K) +
                       " mode=" + std::to_string(mode));
    }
}

TEST(Gemm, StridedBatchedMatchesPerBatchDouble) {
  std::mt19937 rng(2);
  const int batch = 3, M = 7, N = 9, K = 5;
  const int64_t sa = M * K + 4, sb = K * N + 1, sc = M * N + 2;  // padded strides: gaps must be skipped
  auto a = random_floats(batch * sa, rng), b = random_floats(batch * sb, rng), c = random_floats(batch * sc, rng);
  const auto c0 = c;
  cpu::gemm_strided_batched(c.data(), a.data(), b.data(), batch, M, N, K, true, false, sa, sb, sc, 1.0f, 1.0f);
  for (int i = 0; i < batch; i++) {
    auto ai = to_double({a.begin() + i * sa, a.begin() + i * sa + M * K});
    auto bi = to_double({b.begin() + i * sb, b.begin() + i * sb + K * N});
    auto ci = to_double({c0.begin() + i * sc, c0.begin() + i * sc + M * N});
    expect_close({c.begin() + i * sc, c.begin() + i * sc + M * N}, gemm_ref(ai, bi, ci, M, N, K, true, false, 1, 1),
                 1e-5 * K, 1e-5, "batch " + std::to_string(i));
    for (int64_t g = i * sc + M * N; g < (i + 1) * sc; g++) EXPECT_EQ(c[g], c0[g]) << "gap element " << g;
  }
}

TEST(Linear, ForwardWithAndWithoutBias) {
  std::mt19937 rng(3);
  for (auto [N, C, OC] : {std::tuple{1, 6, 5}, std::tuple{7, 64, 33}, std::tuple{33, 17, 64}}) {
    auto inp = random_floats(N * C, rng), w = random_floats(OC * C, rng), bias = random_floats(OC, rng);
    std::vector<float> out(N * OC, 123.0f);  // garbage: forward must overwrite
    cpu::linear_forward(out.data(), inp.data(), w.data(), bias.data(), N, C, OC);
    expect_close(out, linear_ref(to_double(inp), to_double(w), to_double(bias), N, C, OC), 1e-5 * C, 1e-5, "bias");
    cpu::linear_forward(out.data(), inp.data(), w.data(), nullptr, N, C, OC);
    expect_close(out, linear_ref(to_double(inp), to_double(w), {}, N, C, OC), 1e-5 * C, 1e-5, "no bias");
  }
}

// Loss = sum(dout * linear(inp, w, bias)); the kernel accumulates into pre-filled gradients.
TEST(Linear, BackwardMatchesFiniteDifferencesAndAccumulates) {
  std::mt19937 rng(4);
  for (auto [N, C, OC] : {std::tuple{1, 6, 5}, std::tuple{7, 33, 6}}) {
    auto inp = random_floats(N * C, rng), w = random_floats(OC * C, rng), bias = random_floats(OC, rng);
    auto dout = random_floats(N * OC, rng);
    auto dinp0 = random_floats(N * C, rng), dw0 = random_floats(OC * C, rng), db0 = random_floats(OC, rng);
    auto dinp = dinp0, dw = dw0, db = db0;
    cpu::linear_backward(dinp.data(), dw.data(), db.data(), dout.data(), inp.data(), w.data(), N, C, OC);
    for (int i = 0; i < N * C; i++) dinp[i] -= dinp0[i];
    for (int i = 0; i < OC * C; i++) dw[i] -= dw0[i];
    for (int i = 0; i < OC; i++) db[i] -= db0[i];
    const auto di = to_double(inp), dwd = to_double(w), dbd = to_double(bias), dd = to_double(dout);
    auto all = [&](size_t n) { return sample_indices(n, n, rng); };
    expect_grad_matches(dinp, [&](const auto& x) { return dot(dd, linear_ref(x, dwd, dbd, N, C, OC)); }, di,
                        all(di.size()), 1e-4, 1e-4, "dinp");
    expect_grad_matches(dw, [&](const auto& x) { return dot(dd, linear_ref(di, x, dbd, N, C, OC)); }, dwd,
                        all(dwd.size()), 1e-4, 1e-4, "dweight");
    expect_grad_matches(db, [&](const auto& x) { return dot(dd, linear_ref(di, dwd, x, N, C, OC)); }, dbd,
                        all(dbd.size()), 1e-4, 1e-4, "dbias");
  }
}

TEST(Linear, FrozenWeightSkipsWeightGradient) {
  std::mt19937 rng(5);
  const int N = 5, C = 6, OC = 7;
  auto inp = random_floats(N * C, rng), w = random_floats(OC * C, rng), dout = random_floats(N * OC, rng);
  std::vector<float> dinp(N * C, 0.0f), dinp_full(N * C, 0.0f), dw(OC * C, 0.0f);
  cpu::linear_backward(dinp.data(), nullptr, nullptr, dout.data(), inp.data(), w.data(), N, C, OC);
  cpu::linear_backward(dinp_full.data(), dw.data(), nullptr, dout.data(), inp.data(), w.data(), N, C, OC);
  EXPECT_EQ(dinp, dinp_full);
}

TEST(Blas, RejectsNonPositiveThreadCount) {
  EXPECT_THROW(cpu::blas_set_threads(0), Error);
  EXPECT_NO_THROW(cpu::blas_set_threads(1));
}

}  // namespace
