// CUDA RoPE against kernels/cpu/rope.h on the same bf16-rounded inputs, forward and backward, with
// positions up to 4000 (where an fp32 angle would be visibly off). Tolerance: one bf16 rounding of
// the output (2^-8 rel) + 2^-8 of the input scale abs (an output near 0 is a difference of two
// products of size ~1).
#include "tests/unit/cuda_test_util.h"

#ifdef CKF_WITH_CUDA

#include <random>
#include <string>
#include <tuple>

#include "kernels/cpu/rope.h"
#include "kernels/cuda/rope.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

using CudaRope = CudaTest;

TEST_F(CudaRope, ForwardAndBackwardMatchCpu) {
  std::mt19937 rng(100);
  std::uniform_int_distribution<int32_t> pos_dist(0, 4000);
  for (auto [N, H, D] : {std::tuple{1, 1, 2}, std::tuple{5, 3, 6}, std::tuple{37, 9, 64}, std::tuple{8, 2, 128}}) {
    std::vector<int32_t> pos(N);
    for (int32_t& p : pos) p = pos_dist(rng);
    cuda::DeviceBuffer<int32_t> d_pos(pos);
    for (bool forward : {true, false}) {
      auto x = bf16_round(random_floats(static_cast<size_t>(N) * H * D, rng));
      Bf16Buffer d_x = upload_bf16(x);
      if (forward) {
        cpu::rope_forward(x.data(), pos.data(), N, H, D, 10000.0f);
        cuda::rope_forward(d_x.data(), d_pos.data(), N, H, D, 10000.0f, stream());
      } else {
        cpu::rope_backward(x.data(), pos.data(), N, H, D, 10000.0f);
        cuda::rope_backward(d_x.data(), d_pos.data(), N, H, D, 10000.0f, stream());
      }
      sync();
      expect_close(download_bf16(d_x), to_double(x), 1.0 / 256, 1.0 / 256,
                   std::string(forward ? "rope forward" : "rope backward") + " N=" + std::to_string(N) +
                       " H=" + std::to_string(H) + " D=" + std::to_string(D));
    }
  }
}

// Checked on the host before any CUDA call: runs without a GPU too.
TEST(CudaRopeArgs, OddHeadSizeThrows) {
  expect_error_containing([] { cuda::rope_forward(nullptr, nullptr, 1, 1, 5, 10000.0f, nullptr); },
                          "head size 5 must be even");
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaRope)

#endif
