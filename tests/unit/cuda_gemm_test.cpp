// cuBLAS GEMMs against the CPU twins (kernels/cpu/matmul.h): plain and strided-batched gemm with
// fp32 and bf16 operands, the frozen base linear (forward, dX = dY W) and the LoRA products.
// Tolerances: fp32 outputs 1e-5 * sqrt(K) abs + 1e-5 rel (only summation order differs; cuBLAS's
// default math mode is true fp32, no TF32); bf16 outputs add one bf16 rounding, 2^-8 relative.
#include "tests/unit/cuda_test_util.h"

#ifdef CKF_WITH_CUDA

#include <random>
#include <string>
#include <tuple>

#include "kernels/cpu/matmul.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/lora.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

using CudaGemm = CudaTest;

struct GemmShape {
  int M, N, K;
};
const GemmShape kGemmShapes[] = {{1, 1, 1}, {7, 33, 6}, {64, 576, 33}, {129, 65, 576}};

std::string shape_name(const GemmShape& s, int mode) {
  return "M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K) +
         " mode=" + std::to_string(mode);
}

TEST_F(CudaGemm, F32MatchesCpu) {
  std::mt19937 rng(80);
  for (const GemmShape& s : kGemmShapes)
    for (int mode = 0; mode < 4; mode++) {
      const bool ta = mode & 1, tb = mode & 2;
      auto a = random_floats(static_cast<size_t>(s.M) * s.K, rng), b = random_floats(static_cast<size_t>(s.K) * s.N, rng);
      auto c = random_floats(static_cast<size_t>(s.M) * s.N, rng);
      cuda::DeviceBuffer<float> da(a), db(b), dc(c);
      cuda::gemm(cublas(), dc.data(), cuda::GemmType::f32, da.data(), db.data(), cuda::GemmType::f32, s.M, s.N, s.K,
                 ta, tb, 0.5f, 2.0f);
      cpu::gemm(c.data(), a.data(), b.data(), s.M, s.N, s.K, ta, tb, 0.5f, 2.0f);
      expect_close(dc.download(), to_double(c), 1e-5 * std::sqrt(s.K), 1e-5, "f32 gemm " + shape_name(s, mode));
    }
}

TEST_F(CudaGemm, Bf16MatchesCpu) {
  std::mt19937 rng(81);
  for (const GemmShape& s : kGemmShapes)
    for (int mode = 0; mode < 4; mode++) {
      const bool ta = mode & 1, tb = mode & 2;
      auto a = bf16_round(random_floats(static_cast<size_t>(s.M) * s.K, rng));
      auto b = bf16_round(random_floats(static_cast<size_t>(s.K) * s.N, rng));
      std::vector<float> want(static_cast<size_t>(s.M) * s.N);
      cpu::gemm(want.data(), a.data(), b.data(), s.M, s.N, s.K, ta, tb);
      Bf16Buffer da = upload_bf16(a), db = upload_bf16(b), dc16(want.size());
      cuda::DeviceBuffer<float> dc32(want.size());
      cuda::gemm(cublas(), dc32.data(), cuda::GemmType::f32, da.data(), db.data(), cuda::GemmType::bf16, s.M, s.N, s.K,
                 ta, tb);
      cuda::gemm(cublas(), dc16.data(), cuda::GemmType::bf16, da.data(), db.data(), cuda::GemmType::bf16, s.M, s.N,
                 s.K, ta, tb);
      const double atol = 1e-5 * std::sqrt(s.K);
      expect_close(dc32.download(), to_double(want), atol, 1e-5, "bf16 -> f32 gemm " + shape_name(s, mode));
      expect_close(download_bf16(dc16), to_double(want), atol, 1.0 / 256, "bf16 -> bf16 gemm " + shape_name(s, mode));
    }
}

// Strides larger than one operand (gaps between batch entries) to catch a stride mix-up.
TEST_F(CudaGemm, StridedBatchedMatchesCpu) {
  std::mt19937 rng(82);
  const int batch = 3;
  for (const GemmShape& s : kGemmShapes)
    for (int mode = 0; mode < 4; mode++) {
      const bool ta = mode & 1, tb = mode & 2;
      const int64_t sa = static_cast<int64_t>(s.M) * s.K + 5, sb = static_cast<int64_t>(s.K) * s.N + 3,
                    sc = static_cast<int64_t>(s.M) * s.N + 7;
      auto a = bf16_round(random_floats(batch * sa, rng)), b = bf16_round(random_floats(batch * sb, rng));
      auto c = random_floats(batch * sc, rng);
      cpu::gemm_strided_batched(c.data(), a.data(), b.data(), batch, s.M, s.N, s.K, ta, tb, sa, sb, sc, 1.5f, 0.0f);
      Bf16Buffer da = upload_bf16(a), db = upload_bf16(b);
      cuda::DeviceBuffer<float> dc(std::vector<float>(c.size(), 0.0f));
      cuda::gemm_strided_batched(cublas(), dc.data(), cuda::GemmType::f32, da.data(), db.data(), cuda::GemmType::bf16,
                                 batch, s.M, s.N, s.K, ta, tb, sa, sb, sc, 1.5f, 0.0f);
      // The gaps between outputs stay 0 on the GPU; on the CPU they hold the random initial values.
      auto got = dc.download();
      for (int i = 0; i < batch; i++)
        for (int64_t j = static_cast<int64_t>(s.M) * s.N; j < sc; j++) got[i * sc + j] = c[i * sc + j];
      expect_close(got, to_double(c), 1e-5 * std::sqrt(s.K), 1e-5, "strided batched " + shape_name(s, mode));
    }
}

// Frozen base layer: forward and the input gradient, against cpu::linear_* without weight gradient.
TEST_F(CudaGemm, LinearMatchesCpu) {
  std::mt19937 rng(83);
  for (auto [N, C, OC] : {std::tuple{1, 3, 2}, std::tuple{17, 64, 33}, std::tuple{65, 576, 192}}) {
    auto x = bf16_round(random_floats(static_cast<size_t>(N) * C, rng));
    auto w = bf16_round(random_floats(static_cast<size_t>(OC) * C, rng));
    auto dy = bf16_round(random_floats(static_cast<size_t>(N) * OC, rng));
    auto dx = bf16_round(random_floats(static_cast<size_t>(N) * C, rng));
    Bf16Buffer d_x = upload_bf16(x), d_w = upload_bf16(w), d_dy = upload_bf16(dy), d_dx = upload_bf16(dx),
               d_y(static_cast<size_t>(N) * OC);
    std::vector<float> y(d_y.size());
    cpu::linear_forward(y.data(), x.data(), w.data(), nullptr, N, C, OC);
    cpu::linear_backward(dx.data(), nullptr, nullptr, dy.data(), x.data(), w.data(), N, C, OC);
    cuda::linear_forward(cublas(), d_y.data(), d_x.data(), d_w.data(), N, C, OC);
    cuda::linear_backward_input(cublas(), d_dx.data(), d_dy.data(), d_w.data(), N, C, OC);
    const std::string name = "N=" + std::to_string(N) + " C=" + std::to_string(C) + " OC=" + std::to_string(OC);
    expect_close(download_bf16(d_y), to_double(y), 1e-5 * std::sqrt(C), 1.0 / 256, "linear out " + name);
    expect_close(download_bf16(d_dx), to_double(dx), 1e-5 * std::sqrt(OC) + 1.0 / 256, 1.0 / 256, "linear dx " + name);
  }
}

// LoRA: the CPU side composes cpu::gemm with the same bf16 rounding of the r-wide intermediates
// (h, dh) that the GPU stores. da, db are fp32 accumulated onto random values; y, dx bf16.
TEST_F(CudaGemm, LoraMatchesCpu) {
  std::mt19937 rng(84);
  const float scale = 4.0f;  // alpha / r = 64 / 16
  for (auto [N, C, OC, r] : {std::tuple{1, 5, 3, 1}, std::tuple{19, 64, 48, 4}, std::tuple{70, 576, 192, 16}}) {
    const size_t nx = static_cast<size_t>(N) * C, ny = static_cast<size_t>(N) * OC;
    auto x = bf16_round(random_floats(nx, rng)), a = bf16_round(random_floats(static_cast<size_t>(r) * C, rng));
    auto b = bf16_round(random_floats(static_cast<size_t>(OC) * r, rng));
    auto y = bf16_round(random_floats(ny, rng)), dy = bf16_round(random_floats(ny, rng));
    auto dx = bf16_round(random_floats(nx, rng));
    auto da = random_floats(static_cast<size_t>(r) * C, rng), db = random_floats(static_cast<size_t>(OC) * r, rng);
    Bf16Buffer d_x = upload_bf16(x), d_a = upload_bf16(a), d_b = upload_bf16(b), d_y = upload_bf16(y),
               d_dy = upload_bf16(dy), d_dx = upload_bf16(dx), d_h(static_cast<size_t>(N) * r), d_dh(d_h.size());
    cuda::DeviceBuffer<float> d_da(da), d_db(db);
    cuda::lora_down_forward(cublas(), d_h.data(), d_x.data(), d_a.data(), N, C, r);
    cuda::lora_up_forward(cublas(), d_y.data(), d_h.data(), d_b.data(), scale, N, r, OC);
    cuda::lora_up_backward(cublas(), d_db.data(), d_dh.data(), d_dy.data(), d_h.data(), d_b.data(), scale, N, r, OC);
    cuda::lora_down_backward(cublas(), d_da.data(), d_dx.data(), d_dh.data(), d_x.data(), d_a.data(), N, C, r);

    std::vector<float> h(d_h.size()), dh(d_h.size());
    cpu::gemm(h.data(), x.data(), a.data(), N, r, C, false, true);
    h = bf16_round(h);
    cpu::gemm(y.data(), h.data(), b.data(), N, OC, r, false, true, scale, 1.0f);
    cpu::gemm(db.data(), dy.data(), h.data(), OC, r, N, true, false, scale, 1.0f);
    cpu::gemm(dh.data(), dy.data(), b.data(), N, r, OC, false, false, scale, 0.0f);
    dh = bf16_round(dh);
    cpu::gemm(da.data(), dh.data(), x.data(), r, C, N, true, false, 1.0f, 1.0f);
    cpu::gemm(dx.data(), dh.data(), a.data(), N, C, r, false, false, 1.0f, 1.0f);

    // h and dh are compared after rounding: a one-ulp difference in them shifts y, da, db, dx by
    // 2^-8 of one product term, covered by the abs tolerances below (relative to each tensor's scale).
    const std::string name = "N=" + std::to_string(N) + " C=" + std::to_string(C) + " OC=" + std::to_string(OC) +
                             " r=" + std::to_string(r);
    expect_close(download_bf16(d_h), to_double(h), 1e-5 * std::sqrt(C), 1.0 / 128, "lora h " + name);
    expect_close(download_bf16(d_y), to_double(y), 1e-2 * max_abs(y), 1.0 / 256, "lora y " + name);
    expect_close(d_db.download(), to_double(db), 1e-2 * max_abs(db), 1e-3, "lora db " + name);
    expect_close(download_bf16(d_dh), to_double(dh), 1e-5 * std::sqrt(OC), 1.0 / 128, "lora dh " + name);
    expect_close(d_da.download(), to_double(da), 1e-2 * max_abs(da), 1e-3, "lora da " + name);
    expect_close(download_bf16(d_dx), to_double(dx), 1e-2 * max_abs(dx), 1.0 / 256, "lora dx " + name);
  }
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaGemm)

#endif
