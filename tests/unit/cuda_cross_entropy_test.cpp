// CUDA cross-entropy against kernels/cpu/cross_entropy.h on the same fp32 logits, single-shard and
// vocabulary-parallel (the logits split into uneven column shards, the all-reduces done on the host).
// Tolerances: losses 1e-4 abs + 1e-5 rel (fp32 sums of ~V terms in a different order); dlogits
// (bf16) one bf16 rounding, 2^-8 rel + 1e-6 abs.
#include "tests/unit/cuda_test_util.h"

#ifdef CKF_WITH_CUDA

#include <algorithm>
#include <random>
#include <string>
#include <tuple>

#include "kernels/cpu/cross_entropy.h"
#include "kernels/cuda/cross_entropy.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

using CudaCrossEntropy = CudaTest;

constexpr int32_t kIgnore = -100;

// Random targets with every fifth row ignored; logits with a large offset so a missing max
// subtraction overflows.
struct Case {
  std::vector<float> logits;  // (M, V)
  std::vector<int32_t> targets;  // (M)
  std::vector<float> dlosses;  // (M)
};
Case make_case(int M, int V, std::mt19937& rng) {
  Case c{random_floats(static_cast<size_t>(M) * V, rng, 80.0f, 100.0f), std::vector<int32_t>(M),
         random_floats(M, rng, 0.5f, 2.0f)};
  std::uniform_int_distribution<int32_t> tdist(0, V - 1);
  for (int m = 0; m < M; m++) c.targets[m] = m % 5 == 4 ? kIgnore : tdist(rng);
  return c;
}

std::string shape_name(int M, int V) { return "M=" + std::to_string(M) + " V=" + std::to_string(V); }

TEST_F(CudaCrossEntropy, SingleShardMatchesCpu) {
  std::mt19937 rng(130);
  for (auto [M, V] : {std::tuple{1, 1}, std::tuple{6, 37}, std::tuple{13, 49152}}) {
    Case c = make_case(M, V, rng);
    std::vector<float> losses(M), dlogits(c.logits.size());
    cpu::cross_entropy_forward(losses.data(), c.logits.data(), c.targets.data(), M, V, kIgnore);
    cpu::cross_entropy_backward(dlogits.data(), c.logits.data(), c.targets.data(), c.dlosses.data(), M, V, kIgnore);
    cuda::DeviceBuffer<float> d_logits(c.logits), d_dlosses(c.dlosses), d_losses(M), d_lse(M), d_scratch(2 * M);
    cuda::DeviceBuffer<int32_t> d_targets(c.targets);
    Bf16Buffer d_dlogits(c.logits.size());
    cuda::cross_entropy_forward(d_losses.data(), d_lse.data(), d_scratch.data(), d_logits.data(), d_targets.data(), M,
                                V, kIgnore, stream());
    cuda::cross_entropy_backward(d_dlogits.data(), d_logits.data(), d_lse.data(), d_targets.data(), d_dlosses.data(),
                                 M, V, 0, kIgnore, stream());
    sync();
    expect_close(d_losses.download(), to_double(losses), 1e-4, 1e-5, "cross-entropy losses " + shape_name(M, V));
    expect_close(download_bf16(d_dlogits), to_double(dlogits), 1e-6, 1.0 / 256,
                 "cross-entropy dlogits " + shape_name(M, V));
  }
}

// Each shard runs the partial kernels on its columns; the host plays the all-reduces.
TEST_F(CudaCrossEntropy, VocabParallelMatchesCpu) {
  std::mt19937 rng(131);
  const int M = 11, V = 1001;
  const int bounds[] = {0, 300, 301, 1001};  // three shards of uneven width (one of width 1)
  Case c = make_case(M, V, rng);
  std::vector<float> losses(M), dlogits(c.logits.size());
  cpu::cross_entropy_forward(losses.data(), c.logits.data(), c.targets.data(), M, V, kIgnore);
  cpu::cross_entropy_backward(dlogits.data(), c.logits.data(), c.targets.data(), c.dlosses.data(), M, V, kIgnore);
  cuda::DeviceBuffer<int32_t> d_targets(c.targets);
  cuda::DeviceBuffer<float> d_dlosses(c.dlosses);
  std::vector<cuda::DeviceBuffer<float>> shards;
  for (int r = 0; r < 3; r++) {
    std::vector<float> cols(static_cast<size_t>(M) * (bounds[r + 1] - bounds[r]));
    for (int m = 0; m < M; m++)
      std::copy(c.logits.begin() + m * V + bounds[r], c.logits.begin() + m * V + bounds[r + 1],
                cols.begin() + m * (bounds[r + 1] - bounds[r]));
    shards.emplace_back(cols);
  }
  std::vector<float> gmax(M, -INFINITY), gsum(M, 0.0f), gtarget(M, 0.0f);
  cuda::DeviceBuffer<float> d_max(M), d_sum(M), d_target(M);
  for (int r = 0; r < 3; r++) {
    cuda::cross_entropy_shard_max(d_max.data(), shards[r].data(), M, bounds[r + 1] - bounds[r], stream());
    sync();
    auto mx = d_max.download();
    for (int m = 0; m < M; m++) gmax[m] = std::max(gmax[m], mx[m]);
  }
  d_max.upload(gmax);
  for (int r = 0; r < 3; r++) {
    cuda::cross_entropy_shard_sum_exp(d_sum.data(), d_target.data(), shards[r].data(), d_max.data(), d_targets.data(),
                                      M, bounds[r + 1] - bounds[r], bounds[r], kIgnore, stream());
    sync();
    auto s = d_sum.download(), t = d_target.download();
    for (int m = 0; m < M; m++) gsum[m] += s[m], gtarget[m] += t[m];
  }
  d_sum.upload(gsum);
  d_target.upload(gtarget);
  cuda::DeviceBuffer<float> d_losses(M), d_lse(M);
  cuda::cross_entropy_finish(d_losses.data(), d_lse.data(), d_max.data(), d_sum.data(), d_target.data(),
                             d_targets.data(), M, kIgnore, stream());
  sync();
  expect_close(d_losses.download(), to_double(losses), 1e-4, 1e-5, "vocab-parallel losses");
  for (int r = 0; r < 3; r++) {
    const int w = bounds[r + 1] - bounds[r];
    Bf16Buffer d_dlogits(static_cast<size_t>(M) * w);
    cuda::cross_entropy_backward(d_dlogits.data(), shards[r].data(), d_lse.data(), d_targets.data(), d_dlosses.data(),
                                 M, w, bounds[r], kIgnore, stream());
    sync();
    std::vector<double> want(static_cast<size_t>(M) * w);
    for (int m = 0; m < M; m++)
      for (int i = 0; i < w; i++) want[static_cast<size_t>(m) * w + i] = dlogits[static_cast<size_t>(m) * V + bounds[r] + i];
    expect_close(download_bf16(d_dlogits), want, 1e-6, 1.0 / 256, "vocab-parallel dlogits shard " + std::to_string(r));
  }
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaCrossEntropy)

#endif
