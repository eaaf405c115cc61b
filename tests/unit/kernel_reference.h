// Shared helpers of the CPU kernel tests: random inputs, closeness checks of an fp32 kernel result
// against a double-precision reference, and central finite differences of a double reference loss.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace ckf::test {

// Uniform in [lo, hi): random, never all zeros.
inline std::vector<float> random_floats(size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

inline std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

// Every element must satisfy |got - want| <= atol + rtol * |want|; reports the first few violations.
inline void expect_close(const std::vector<float>& got, const std::vector<double>& want, double atol, double rtol,
                         const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < got.size(); i++) {
    if (std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i])) continue;
    if (bad++ < 5) ADD_FAILURE() << what << "[" << i << "]: got " << got[i] << ", want " << want[i];
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " elements out of tolerance";
}

// All indices of an n-element tensor when small, else `count` distinct random ones.
inline std::vector<size_t> sample_indices(size_t n, size_t count, std::mt19937& rng) {
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t{0});
  if (n <= count) return idx;
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(count);
  return idx;
}

// Checks an analytic gradient `grad` (fp32, from a kernel) of the scalar loss(x) at the indices
// `idx` against central differences (loss(x + h) - loss(x - h)) / 2h evaluated in double.
// Truncation error is O(h^2) ~ 1e-12 and rounding ~ 1e-16 / h, far below the fp32 tolerances used.
template <class Loss>
void expect_grad_matches(const std::vector<float>& grad, Loss loss, std::vector<double> x,
                         const std::vector<size_t>& idx, double atol, double rtol, const std::string& what,
                         double h = 1e-6) {
  ASSERT_EQ(grad.size(), x.size()) << what;
  int bad = 0;
  for (size_t i : idx) {
    const double x0 = x[i];
    x[i] = x0 + h;
    const double up = loss(x);
    x[i] = x0 - h;
    const double down = loss(x);
    x[i] = x0;
    const double want = (up - down) / (2 * h);
    if (std::fabs(grad[i] - want) <= atol + rtol * std::fabs(want)) continue;
    if (bad++ < 5) ADD_FAILURE() << what << "[" << i << "]: kernel " << grad[i] << ", finite difference " << want;
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << idx.size() << " checked entries out of tolerance";
}

}  // namespace ckf::test
