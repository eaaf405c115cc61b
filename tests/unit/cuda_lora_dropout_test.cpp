// CUDA LoRA dropout against its CPU twin, core/lora.h's lora_forward, whose mask (N, in) is read
// back from the CPU call itself: rows offset by row0, an adapter sliced by columns (tensor
// parallelism: in_offset != 0), odd widths. The forward output is one bf16 rounding of x * mask
// on both sides, so it must match exactly (which also checks that the GPU draws bit-identical
// random numbers); the backward dx + g * mask may be fused on the GPU: 2^-8 rel + 1e-6 abs.
#include "tests/unit/cuda_test_util.h"

#ifdef CKF_WITH_CUDA

#include <random>
#include <string>
#include <vector>

#include "core/lora.h"
#include "kernels/cuda/lora_dropout.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

using CudaLoraDropout = CudaTest;

struct Case {
  int N, in_global;
  int64_t row0;
  float p;
  LoraShard shard;
};

const Case kCases[] = {{1, 6, 0, 0.1f, {}}, {7, 64, 5, 0.5f, {}}, {33, 1154, 100, 0.25f, {LoraSplit::in_cols, 1, 2}}};

TEST_F(CudaLoraDropout, MasksMatchTheCpuLoraForward) {
  std::mt19937 rng(120);
  const uint64_t seed = 77;
  for (const Case& k : kCases) {
    const LoraSpec spec{{LoraTarget::q}, 4, 8.0f, k.p};
    const LoraAdapter a = lora_adapter_create(k.in_global, 5, spec, 3, 1234, k.shard);
    const int in = static_cast<int>(a.A.dim(1));
    const size_t n = size_t(k.N) * in;
    auto x = bf16_round(random_floats(n, rng, -2, 2));
    std::vector<float> out(size_t(k.N) * 5, 0.0f), h(size_t(k.N) * 4), mask(n);
    lora_forward(out.data(), h.data(), mask.data(), x.data(), k.N, k.row0, a, k.p, seed);
    int dropped = 0;
    for (float m : mask) dropped += m == 0.0f;
    if (n > 100) {
      ASSERT_TRUE(dropped > 0 && dropped < int(n)) << "a mask with nothing or everything dropped";
    }

    std::vector<float> want(n);
    for (size_t i = 0; i < n; i++) want[i] = x[i] * mask[i];
    const cuda::DropoutKey key{k.p, seed, a.stream, k.row0, a.in_global, a.in_offset};
    Bf16Buffer d_x = upload_bf16(x), d_out(n);
    cuda::lora_dropout_forward(d_out.data(), d_x.data(), k.N, in, key, stream());

    auto g = bf16_round(random_floats(n, rng)), dx = bf16_round(random_floats(n, rng));
    std::vector<float> dx_want(n);
    for (size_t i = 0; i < n; i++) dx_want[i] = dx[i] + g[i] * mask[i];
    Bf16Buffer d_g = upload_bf16(g), d_dx = upload_bf16(dx);
    cuda::lora_dropout_backward(d_dx.data(), d_g.data(), k.N, in, key, stream());
    sync();
    const std::string name = " N=" + std::to_string(k.N) + " in=" + std::to_string(in);
    expect_close(download_bf16(d_out), to_double(bf16_round(want)), 0.0, 0.0, "dropout out" + name);
    expect_close(download_bf16(d_dx), to_double(dx_want), 1e-6, 1.0 / 256, "dropout dx" + name);
  }
}

TEST_F(CudaLoraDropout, RejectsARateOutsideTheOpenUnitInterval) {
  Bf16Buffer x(6), out(6);
  expect_error_containing(
      [&] {
        cuda::lora_dropout_forward(out.data(), x.data(), 1, 6, {0.0f, 1, 2, 0, 6, 0}, stream());
      },
      "rate 0");
  expect_error_containing(
      [&] {
        cuda::lora_dropout_backward(out.data(), x.data(), 1, 6, {1.0f, 1, 2, 0, 6, 0}, stream());
      },
      "rate 1");
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaLoraDropout)

#endif
