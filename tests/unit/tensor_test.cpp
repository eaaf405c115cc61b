// Tensor storage and views; bf16/f16 rounding checked against a double-precision reference that
// picks the nearest representable value by brute force (ties to the even encoding).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/half.h"
#include "core/tensor.h"

using namespace ckf;

namespace {

// All finite f16 values as doubles, indexed by their non-negative encodings 0 .. 0x7bff.
double f16_value(uint16_t h) {
  int exp = (h >> 10) & 0x1f;
  int mant = h & 0x3ff;
  double v = exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
  return (h & 0x8000) ? -v : v;
}

// Nearest encoding to x among a sorted table of non-negative magnitudes; ties to even encoding.
template <class ValueFn>
uint16_t nearest_encoding(double x, uint16_t max_finite, uint16_t inf_code, double overflow_at, ValueFn value) {
  uint16_t sign = x < 0 ? 0x8000 : 0;
  double a = std::fabs(x);
  if (a >= overflow_at) return sign | inf_code;
  uint16_t lo = 0, hi = max_finite;
  while (lo < hi) {  // first encoding with value >= a
    uint16_t mid = static_cast<uint16_t>((lo + hi) / 2);
    if (value(mid) < a) lo = mid + 1; else hi = mid;
  }
  uint16_t best = lo;
  if (lo > 0) {
    double dl = a - value(lo - 1), dh = value(lo) - a;
    if (dl < dh || (dl == dh && ((lo - 1) & 1) == 0)) best = lo - 1;
  }
  return sign | best;
}

}  // namespace

TEST(Half, F16RoundingMatchesNearestRepresentable) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> mant(-1.0f, 1.0f);
  std::uniform_int_distribution<int> expo(-28, 17);
  for (int i = 0; i < 200000; ++i) {
    float x = std::ldexp(mant(rng), expo(rng));
    // 65520 is the midpoint between the largest f16 (65504) and the next step: it and above overflow.
    uint16_t want = nearest_encoding(x, 0x7bff, 0x7c00, 65520.0, f16_value);
    ASSERT_EQ(f32_to_f16(x), want) << "x = " << x;
    if ((want & 0x7fff) != 0x7c00) ASSERT_EQ(f16_to_f32(want), static_cast<float>(f16_value(want))) << "code " << want;
  }
  // Exact ties: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10 and must round to the even code (1.0).
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);
}

TEST(Half, Bf16RoundingMatchesNearestRepresentable) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> mant(-1.0f, 1.0f);
  std::uniform_int_distribution<int> expo(-130, 127);
  for (int i = 0; i < 200000; ++i) {
    float x = std::ldexp(mant(rng), expo(rng));
    uint16_t got = f32_to_bf16(x);
    // Reference: the two bf16 neighbours of x by truncation, pick the nearer in double, ties to even.
    uint32_t u = f32_bits(x);
    uint16_t down = static_cast<uint16_t>(u >> 16), up = static_cast<uint16_t>(down + 1);
    double dx = x, dd = std::fabs(dx - bf16_to_f32(down)), du = std::fabs(dx - bf16_to_f32(up));
    uint16_t want = (dd < du || (dd == du && (down & 1) == 0)) ? down : up;
    ASSERT_EQ(got, want) << "x = " << x;
  }
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

TEST(Tensor, OwnedIsAlignedZeroedAndViewsShareStorage) {
  Tensor t = Tensor::zeros({5, 3});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  for (int i = 0; i < 15; ++i) t.data<float>()[i] = static_cast<float>(i) + 0.5f;
  Tensor rows = t.slice_rows(2, 4);
  EXPECT_EQ(rows.shape(), (Shape{2, 3}));
  EXPECT_EQ(rows.data<float>()[0], 6.5f);
  rows.data<float>()[1] = -1.0f;
  EXPECT_EQ(t.data<float>()[7], -1.0f);
  EXPECT_THROW(t.slice_rows(3, 6), std::exception);
  EXPECT_THROW(t.reshape({4, 4}), std::exception);
  EXPECT_THROW(t.data<int32_t>(), std::exception);
  EXPECT_EQ(t.reshape({15}).numel(), 15);
}

TEST(Tensor, ConversionRoundTripsAndBorrowDoesNotOwn) {
  float raw[4] = {1.5f, -2.25f, 3.0e-3f, 65504.0f};
  Tensor view = Tensor::borrow(raw, {4}, DType::f32);
  EXPECT_FALSE(view.owns_storage());
  Tensor h = view.to(DType::f16);
  Tensor back = h.to(DType::f32);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(back.data<float>()[i], raw[i], std::fabs(raw[i]) * 1e-3);
  Tensor b = view.to(DType::bf16).to(DType::f32);
  EXPECT_EQ(b.data<float>()[0], 1.5f);
  int64_t big[2] = {1, int64_t(1) << 40};
  EXPECT_THROW(Tensor::borrow(big, {2}, DType::i64).to(DType::i32), std::exception);
}
