// CUDA flash-style attention against kernels/cpu/attention.h on the same bf16-rounded q, k, v, dout,
// over shapes with grouped KV heads, T not a multiple of the 64-row tiles, and head sizes on both
// compiled paths (D <= 64 and 64 < D <= 128). The saved log-sum-exp is checked against a double
// computation in the test.
// Tolerances: out (bf16) 2^-7 rel + 2e-3 abs; dq, dk, dv (bf16, accumulated onto random values)
// 2^-7 rel + 1e-2 of the tensor's scale abs (the CPU's rowsum(P dP) is the GPU's rowsum(dout * out)
// with out rounded to bf16); lse 1e-4 abs + 1e-5 rel.
#include "tests/unit/cuda_test_util.h"

#ifdef CKF_WITH_CUDA

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "kernels/cpu/attention.h"
#include "kernels/cuda/attention.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

using CudaAttention = CudaTest;

struct Shape {
  int B, T, H, KVH, D;
};
const Shape kShapes[] = {{1, 1, 1, 1, 4}, {2, 17, 4, 2, 8}, {1, 70, 9, 3, 64}, {1, 130, 4, 1, 96}, {2, 65, 2, 2, 128}};

std::string shape_name(const Shape& s) {
  return "B=" + std::to_string(s.B) + " T=" + std::to_string(s.T) + " H=" + std::to_string(s.H) +
         " KVH=" + std::to_string(s.KVH) + " D=" + std::to_string(s.D);
}

// lse (B, H, T) of the causal scores q k^T / sqrt(D), in double.
std::vector<double> reference_lse(const std::vector<float>& q, const std::vector<float>& k, const Shape& s) {
  std::vector<double> lse(static_cast<size_t>(s.B) * s.H * s.T);
  const double scale = 1.0 / std::sqrt(static_cast<double>(s.D));
  for (int b = 0; b < s.B; b++)
    for (int h = 0; h < s.H; h++)
      for (int t = 0; t < s.T; t++) {
        std::vector<double> sc(t + 1);
        for (int u = 0; u <= t; u++) {
          double dot = 0;
          for (int d = 0; d < s.D; d++)
            dot += static_cast<double>(q[((static_cast<size_t>(b) * s.T + t) * s.H + h) * s.D + d]) *
                   k[((static_cast<size_t>(b) * s.T + u) * s.KVH + h / (s.H / s.KVH)) * s.D + d];
          sc[u] = dot * scale;
        }
        const double mx = *std::max_element(sc.begin(), sc.end());
        double sum = 0;
        for (double x : sc) sum += std::exp(x - mx);
        lse[(static_cast<size_t>(b) * s.H + h) * s.T + t] = mx + std::log(sum);
      }
  return lse;
}

TEST_F(CudaAttention, ForwardAndBackwardMatchCpu) {
  std::mt19937 rng(120);
  for (const Shape& s : kShapes) {
    const size_t nq = static_cast<size_t>(s.B) * s.T * s.H * s.D, nkv = static_cast<size_t>(s.B) * s.T * s.KVH * s.D;
    // q and k of size ~2 give peaked softmax rows, so the online rescaling is exercised.
    auto q = bf16_round(random_floats(nq, rng, -2, 2)), k = bf16_round(random_floats(nkv, rng, -2, 2));
    auto v = bf16_round(random_floats(nkv, rng)), dout = bf16_round(random_floats(nq, rng));
    // Small initial gradients: the accumulation (+=) is tested, the attention's share still dominates.
    auto dq = bf16_round(random_floats(nq, rng, -0.1f, 0.1f)), dk = bf16_round(random_floats(nkv, rng, -0.1f, 0.1f));
    auto dv = bf16_round(random_floats(nkv, rng, -0.1f, 0.1f));
    Bf16Buffer d_q = upload_bf16(q), d_k = upload_bf16(k), d_v = upload_bf16(v), d_dout = upload_bf16(dout),
               d_dq = upload_bf16(dq), d_dk = upload_bf16(dk), d_dv = upload_bf16(dv), d_out(nq);
    cuda::DeviceBuffer<float> d_lse(static_cast<size_t>(s.B) * s.H * s.T), d_delta(d_lse.size());
    cuda::attention_forward(d_out.data(), d_lse.data(), d_q.data(), d_k.data(), d_v.data(), s.B, s.T, s.H, s.KVH, s.D,
                            stream());
    cuda::attention_backward(d_dq.data(), d_dk.data(), d_dv.data(), d_delta.data(), d_dout.data(), d_q.data(),
                             d_k.data(), d_v.data(), d_out.data(), d_lse.data(), s.B, s.T, s.H, s.KVH, s.D, stream());
    sync();

    std::vector<float> out(nq), att(static_cast<size_t>(s.B) * s.H * s.T * s.T);
    cpu::attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(), s.B, s.T, s.H, s.KVH, s.D);
    cpu::attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(), att.data(),
                            s.B, s.T, s.H, s.KVH, s.D);
    const std::string name = shape_name(s);
    expect_close(download_bf16(d_out), to_double(out), 2e-3, 1.0 / 128, "attention out " + name);
    expect_close(d_lse.download(), reference_lse(q, k, s), 1e-4, 1e-5, "attention lse " + name);
    expect_close(download_bf16(d_dq), to_double(dq), 1e-2 * max_abs(dq), 1.0 / 128, "attention dq " + name);
    expect_close(download_bf16(d_dk), to_double(dk), 1e-2 * max_abs(dk), 1.0 / 128, "attention dk " + name);
    expect_close(download_bf16(d_dv), to_double(dv), 1e-2 * max_abs(dv), 1.0 / 128, "attention dv " + name);
  }
}

// Argument checks happen on the host before any CUDA call, so these run without a GPU too.
TEST(CudaAttentionArgs, BadHeadsOrHeadSizeThrow) {
  expect_error_containing(
      [] { cuda::attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, 1, 4, 6, 4, 64, nullptr); },
      "6 query heads are not a multiple of 4");
  expect_error_containing(
      [] { cuda::attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, 1, 4, 4, 4, 129, nullptr); },
      "head size 129 is outside [1, 128]");
  expect_error_containing(
      [] {
        cuda::attention_backward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                 nullptr, 1, 4, 4, 0, 64, nullptr);
      },
      "not a multiple of 0 key/value heads");
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaAttention)

#endif
