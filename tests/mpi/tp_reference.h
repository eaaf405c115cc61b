// Unsplit double-precision references for the tensor-parallel tests: every rank computes the whole
// layer from the full tensors with naive loops, then checks its own shard against it.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "dist/tensor_parallel.h"

namespace ckf::tpref {

inline std::vector<float> random_vec(size_t n, std::mt19937_64& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// A LoRA on an unsplit layer: full A (r, in), B (out, r), rows [begin, end), dropout (p, seed).
struct RefLora {
  const std::vector<float>* A;
  const std::vector<float>* B;
  int r;
  double scale;
  float p;
  uint64_t seed;
  int64_t begin, end;
  std::vector<double> dA, dB;  // (r, in), (out, r), accumulated by ref_linear_backward
};

// y (N, out) = x (N, in) W (out, in)^T + sum over loras of scale * B A dropout(x) on their rows.
inline std::vector<double> ref_linear_forward(const std::vector<double>& x, const std::vector<float>& W, int64_t N,
                                              int64_t in, int64_t out, const std::vector<RefLora>& loras) {
  std::vector<double> y(N * out, 0.0);
  for (int64_t n = 0; n < N; n++)
    for (int64_t o = 0; o < out; o++) {
      double s = 0;
      for (int64_t i = 0; i < in; i++) s += x[n * in + i] * W[o * in + i];
      y[n * out + o] = s;
    }
  for (const RefLora& l : loras)
    for (int64_t n = l.begin; n < l.end; n++)
      for (int k = 0; k < l.r; k++) {
        double u = 0;
        for (int64_t i = 0; i < in; i++)
          u += lora_dropout_scale(l.seed, n, i, l.p) * x[n * in + i] * (*l.A)[k * in + i];
        for (int64_t o = 0; o < out; o++) y[n * out + o] += l.scale * (*l.B)[o * l.r + k] * u;
      }
  return y;
}

// dx (N, in) from dy (N, out); accumulates every lora's dA, dB (sized on first use).
inline std::vector<double> ref_linear_backward(const std::vector<double>& dy, const std::vector<double>& x,
                                               const std::vector<float>& W, int64_t N, int64_t in, int64_t out,
                                               std::vector<RefLora>& loras) {
  std::vector<double> dx(N * in, 0.0);
  for (int64_t n = 0; n < N; n++)
    for (int64_t o = 0; o < out; o++)
      for (int64_t i = 0; i < in; i++) dx[n * in + i] += dy[n * out + o] * W[o * in + i];
  for (RefLora& l : loras) {
    l.dA.resize(l.r * in, 0.0);
    l.dB.resize(out * l.r, 0.0);
    for (int64_t n = l.begin; n < l.end; n++)
      for (int k = 0; k < l.r; k++) {
        double u = 0, du = 0;
        for (int64_t i = 0; i < in; i++)
          u += lora_dropout_scale(l.seed, n, i, l.p) * x[n * in + i] * (*l.A)[k * in + i];
        for (int64_t o = 0; o < out; o++) {
          l.dB[o * l.r + k] += l.scale * dy[n * out + o] * u;
          du += l.scale * dy[n * out + o] * (*l.B)[o * l.r + k];
        }
        for (int64_t i = 0; i < in; i++) {
          const double m = lora_dropout_scale(l.seed, n, i, l.p);
          l.dA[k * in + i] += du * m * x[n * in + i];
          dx[n * in + i] += du * m * (*l.A)[k * in + i];
        }
      }
  }
  return dx;
}

inline std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// Columns [c0, c0 + cols) of a (rows, full_cols) matrix.
inline std::vector<double> ref_cols(const std::vector<double>& m, int64_t rows, int64_t full_cols, int64_t c0,
                                    int64_t cols) {
  std::vector<double> out(rows * cols);
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++) out[i * cols + j] = m[i * full_cols + c0 + j];
  return out;
}

// Relative tolerance of every check: max |got - want| <= tol * max |want| (fp32 sums of a few
// dozen terms against double; an elementwise relative test would fail on cancellations).
constexpr double kRelTol = 1e-5;

inline void expect_close(std::span<const float> got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0, err = 0;
  for (size_t i = 0; i < want.size(); i++) {
    scale = std::max(scale, std::abs(want[i]));
    err = std::max(err, std::abs(static_cast<double>(got[i]) - want[i]));
  }
  ASSERT_GT(scale, 0.0) << what << ": reference is all zero, the check would be vacuous";
  EXPECT_LE(err, kRelTol * scale) << what << ": max error " << err << " against max |ref| " << scale;
}

inline void expect_close(const Tensor& got, const std::vector<double>& want, const char* what) {
  expect_close(std::span<const float>(got.data<float>(), static_cast<size_t>(got.numel())), want, what);
}

}  // namespace ckf::tpref
