// CUDA embedding gather with soft-token injection against kernels/cpu/embedding.h followed by the
// row replacement, and the soft tokens' backward against a gather of dout written in the test.
// Tolerances: forward exact (a copy; soft rows one bf16 rounding, the CPU side rounds the same);
// dsoft exact up to fp32 addition of one bf16 value onto a random fp32 (1e-7 rel).
#include "tests/unit/cuda_test_util.h"

#ifdef CKF_WITH_CUDA

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <tuple>

#include "kernels/cpu/embedding.h"
#include "kernels/cuda/embedding.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

using CudaEmbedding = CudaTest;

TEST_F(CudaEmbedding, ForwardAndSoftBackwardMatchCpu) {
  std::mt19937 rng(140);
  for (auto [N, V, C, S] : {std::tuple{1, 1, 1, 0}, std::tuple{1, 3, 5, 1}, std::tuple{23, 50, 33, 4},
                            std::tuple{300, 1000, 576, 17}}) {
    std::uniform_int_distribution<int32_t> id_dist(0, V - 1);
    std::vector<int32_t> ids(N), soft_pos(N);
    for (int32_t& id : ids) id = id_dist(rng);
    std::iota(soft_pos.begin(), soft_pos.end(), 0);
    std::shuffle(soft_pos.begin(), soft_pos.end(), rng);
    soft_pos.resize(S);  // S distinct positions in random order
    auto table = bf16_round(random_floats(static_cast<size_t>(V) * C, rng));
    auto soft = random_floats(static_cast<size_t>(S) * C, rng, -3, 3);  // fp32, not bf16-representable
    auto dout = bf16_round(random_floats(static_cast<size_t>(N) * C, rng));
    auto dsoft = random_floats(soft.size(), rng);

    std::vector<float> out(static_cast<size_t>(N) * C), dsoft_want = dsoft;
    cpu::embedding_forward(out.data(), ids.data(), table.data(), N, V, C);
    const auto soft16 = bf16_round(soft);
    for (int s = 0; s < S; s++) {
      std::copy_n(soft16.begin() + static_cast<size_t>(s) * C, C, out.begin() + static_cast<size_t>(soft_pos[s]) * C);
      for (int c = 0; c < C; c++)
        dsoft_want[static_cast<size_t>(s) * C + c] += dout[static_cast<size_t>(soft_pos[s]) * C + c];
    }

    cuda::DeviceBuffer<int32_t> d_ids(ids), d_pos(soft_pos);
    cuda::DeviceBuffer<float> d_soft(soft), d_dsoft(dsoft);
    Bf16Buffer d_table = upload_bf16(table), d_dout = upload_bf16(dout), d_out(out.size());
    cuda::embedding_forward(d_out.data(), d_ids.data(), d_table.data(), d_pos.data(), d_soft.data(), N, C, S, stream());
    cuda::embedding_backward_soft(d_dsoft.data(), d_dout.data(), d_pos.data(), S, C, stream());
    sync();
    const std::string name = "N=" + std::to_string(N) + " C=" + std::to_string(C) + " S=" + std::to_string(S);
    expect_close(download_bf16(d_out), to_double(out), 0.0, 0.0, "embedding out " + name);
    expect_close(d_dsoft.download(), to_double(dsoft_want), 0.0, 1e-7, "embedding dsoft " + name);
  }
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaEmbedding)

#endif
