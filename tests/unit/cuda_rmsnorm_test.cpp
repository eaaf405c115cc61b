// CUDA RMSNorm (plain and residual-fused forward, backward) against kernels/cpu/rmsnorm.h on the
// same bf16-rounded inputs. Tolerances: bf16 outputs one bf16 rounding (2^-8 rel) + 1e-6 abs;
// rstd fp32 1e-5 rel; dinp is bf16 accumulated onto a random bf16 value: 2^-8 rel + 1e-2 of its
// scale abs; dweight fp32 (atomics in any order) 1e-4 rel + 1e-4 of its scale abs.
#include "tests/unit/cuda_test_util.h"

#ifdef CKF_WITH_CUDA

#include <random>
#include <string>
#include <tuple>

#include "kernels/cpu/rmsnorm.h"
#include "kernels/cuda/rmsnorm.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

using CudaRmsNorm = CudaTest;

const std::tuple<int, int> kShapes[] = {{1, 6}, {7, 64}, {33, 576}, {3, 1537}};
constexpr float kEps = 1e-5f;

std::string shape_name(int N, int C) { return "N=" + std::to_string(N) + " C=" + std::to_string(C); }

TEST_F(CudaRmsNorm, ForwardMatchesCpu) {
  std::mt19937 rng(90);
  for (auto [N, C] : kShapes) {
    auto x = bf16_round(random_floats(static_cast<size_t>(N) * C, rng, -3, 3));
    auto w = bf16_round(random_floats(C, rng, 0.5f, 1.5f));
    std::vector<float> want(x.size()), rstd_want(N);
    cpu::rmsnorm_forward(want.data(), rstd_want.data(), x.data(), w.data(), N, C, kEps);
    Bf16Buffer dx = upload_bf16(x), dw = upload_bf16(w), dout(x.size());
    cuda::DeviceBuffer<float> drstd(N);
    cuda::rmsnorm_forward(dout.data(), drstd.data(), dx.data(), dw.data(), N, C, kEps, stream());
    sync();
    expect_close(download_bf16(dout), to_double(want), 1e-6, 1.0 / 256, "rmsnorm out " + shape_name(N, C));
    expect_close(drstd.download(), to_double(rstd_want), 0.0, 1e-5, "rmsnorm rstd " + shape_name(N, C));
  }
}

// The CPU twin of the fused variant: round inp + residual to bf16, then the plain forward.
TEST_F(CudaRmsNorm, ResidualForwardMatchesCpu) {
  std::mt19937 rng(91);
  for (auto [N, C] : kShapes) {
    auto x = bf16_round(random_floats(static_cast<size_t>(N) * C, rng, -3, 3));
    auto res = bf16_round(random_floats(x.size(), rng, -3, 3));
    auto w = bf16_round(random_floats(C, rng, 0.5f, 1.5f));
    std::vector<float> sum(x.size()), want(x.size()), rstd_want(N);
    for (size_t i = 0; i < x.size(); i++) sum[i] = x[i] + res[i];
    sum = bf16_round(sum);
    cpu::rmsnorm_forward(want.data(), rstd_want.data(), sum.data(), w.data(), N, C, kEps);
    Bf16Buffer dx = upload_bf16(x), dres = upload_bf16(res), dw = upload_bf16(w), dout(x.size()), dsum(x.size());
    cuda::DeviceBuffer<float> drstd(N);
    cuda::rmsnorm_residual_forward(dsum.data(), dout.data(), drstd.data(), dx.data(), dres.data(), dw.data(), N, C,
                                   kEps, stream());
    sync();
    expect_close(download_bf16(dsum), to_double(sum), 0.0, 0.0, "residual sum " + shape_name(N, C));
    expect_close(download_bf16(dout), to_double(want), 1e-6, 1.0 / 256, "residual rmsnorm out " + shape_name(N, C));
    expect_close(drstd.download(), to_double(rstd_want), 0.0, 1e-5, "residual rmsnorm rstd " + shape_name(N, C));
  }
}

TEST_F(CudaRmsNorm, BackwardMatchesCpu) {
  std::mt19937 rng(92);
  for (auto [N, C] : kShapes) {
    const size_t n = static_cast<size_t>(N) * C;
    auto x = bf16_round(random_floats(n, rng, -3, 3)), w = bf16_round(random_floats(C, rng, 0.5f, 1.5f));
    auto dy = bf16_round(random_floats(n, rng)), dx = bf16_round(random_floats(n, rng));
    auto dw = random_floats(C, rng);
    std::vector<float> y(n), rstd(N);
    cpu::rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), N, C, kEps);
    Bf16Buffer d_x = upload_bf16(x), d_w = upload_bf16(w), d_dy = upload_bf16(dy), d_dx = upload_bf16(dx);
    cuda::DeviceBuffer<float> d_dw(dw), d_rstd(rstd);
    cpu::rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), N, C);
    cuda::rmsnorm_backward(d_dx.data(), d_dw.data(), d_dy.data(), d_x.data(), d_w.data(), d_rstd.data(), N, C,
                           stream());
    sync();
    expect_close(download_bf16(d_dx), to_double(dx), 1e-2 * max_abs(dx), 1.0 / 256, "rmsnorm dx " + shape_name(N, C));
    expect_close(d_dw.download(), to_double(dw), 1e-4 * max_abs(dw), 1e-4, "rmsnorm dw " + shape_name(N, C));
  }
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaRmsNorm)

#endif
