// Small helpers shared by the multi-rank tests: random data and a relative-error check.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <span>
#include <vector>

#include "core/tensor.h"

namespace ckf::mpitest {

inline std::vector<float> random_vec(size_t n, std::mt19937_64& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// max |got - want| <= tol * max |want|, and want not all zero (the check would say nothing).
inline void expect_close(std::span<const float> got, const std::vector<double>& want, const char* what,
                         double tol = 1e-5) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0, err = 0;
  for (size_t i = 0; i < want.size(); i++) {
    scale = std::max(scale, std::abs(want[i]));
    err = std::max(err, std::abs(static_cast<double>(got[i]) - want[i]));
  }
  ASSERT_GT(scale, 0.0) << what << ": reference is all zero, the check would be vacuous";
  EXPECT_LE(err, tol * scale) << what << ": max error " << err << " against max |ref| " << scale;
}

inline void expect_close(const Tensor& got, const std::vector<double>& want, const char* what, double tol = 1e-5) {
  expect_close(std::span<const float>(got.data<float>(), static_cast<size_t>(got.numel())), want, what, tol);
}

}  // namespace ckf::mpitest
