// The deterministic row scatter-sum (kernels/cuda/row_scatter.h), the backward of the LM head's row
// gather, against a loop written here: for m = 0..M-1, acc[rows[m]] += in[m] in fp32, then one bf16
// rounding per touched row. The kernel adds each row's sources in the same ascending m, so the
// comparison is bit-exact (tolerance 0); rows never gathered keep their previous (random) values.
// The plan is checked on its own: distinct ascending rows, each row's sources ascending, every m once.
// Random sums rarely depend on their order after the bf16 rounding, so one case makes the order
// visible: 2^24 + 1 - 2^24 is 0 in fp32 in ascending m, 1 in any other order.
#include "tests/unit/cuda_test_util.h"

#ifdef CKF_WITH_CUDA

#include <map>
#include <random>
#include <string>
#include <tuple>

#include "kernels/cuda/row_scatter.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

using CudaRowScatter = CudaTest;

// M random rows in [0, N): with M > N (or small N) many rows repeat.
std::vector<int32_t> random_rows(int M, int N, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> dist(0, N - 1);
  std::vector<int32_t> rows(M);
  for (int32_t& r : rows) r = dist(rng);
  return rows;
}

TEST(RowScatterPlan, GroupsEveryPositionUnderItsRowInAscendingOrder) {
  std::mt19937 rng(71);
  for (auto [M, N] :
       {std::tuple{0, 5}, std::tuple{1, 1}, std::tuple{9, 2}, std::tuple{40, 1000}, std::tuple{333, 57}}) {
    const std::vector<int32_t> rows = random_rows(M, N, rng);
    cuda::RowScatterPlan plan;
    cuda::row_scatter_plan(rows.data(), M, plan);
    const std::string name = "M=" + std::to_string(M) + " N=" + std::to_string(N);
    std::map<int32_t, std::vector<int32_t>> want;  // row -> its positions, ascending
    for (int m = 0; m < M; ++m) want[rows[m]].push_back(m);
    ASSERT_EQ(plan.rows.size(), want.size()) << name;
    ASSERT_EQ(plan.offsets.size(), want.size() + 1) << name;
    ASSERT_EQ(plan.srcs.size(), size_t(M)) << name;
    EXPECT_EQ(plan.offsets.front(), 0) << name;
    size_t r = 0;
    for (const auto& [row, ms] : want) {
      EXPECT_EQ(plan.rows[r], row) << name;
      const std::vector<int32_t> got(plan.srcs.begin() + plan.offsets[r], plan.srcs.begin() + plan.offsets[r + 1]);
      EXPECT_EQ(got, ms) << name << " row " << row;
      ++r;
    }
  }
}

TEST_F(CudaRowScatter, SumsRepeatedRowsBitExactAndLeavesOthers) {
  std::mt19937 rng(72);
  // (M gathered rows, N rows of out, C): single element, all M on few rows, odd sizes, a head-like shape.
  for (auto [M, N, C] : {std::tuple{1, 1, 1}, std::tuple{7, 2, 5}, std::tuple{37, 100, 33}, std::tuple{300, 64, 576},
                         std::tuple{50, 4096, 17}}) {
    const std::vector<int32_t> rows = random_rows(M, N, rng);
    const auto in = bf16_round(random_floats(size_t(M) * C, rng, -2, 2));
    const auto before = bf16_round(random_floats(size_t(N) * C, rng));

    std::map<int32_t, std::vector<float>> acc;  // row -> fp32 sum in ascending m
    for (int m = 0; m < M; ++m) {
      std::vector<float>& a = acc.try_emplace(rows[m], C, 0.0f).first->second;
      for (int c = 0; c < C; ++c) a[c] += in[size_t(m) * C + c];
    }
    std::vector<float> want = before;
    for (const auto& [row, a] : acc)
      for (int c = 0; c < C; ++c) want[size_t(row) * C + c] = a[c];
    want = bf16_round(want);

    cuda::RowScatterPlan plan;
    cuda::row_scatter_plan(rows.data(), M, plan);
    cuda::DeviceBuffer<int32_t> d_rows(plan.rows), d_offsets(plan.offsets), d_srcs(plan.srcs);
    Bf16Buffer d_in = upload_bf16(in), d_out = upload_bf16(before);
    cuda::row_scatter_sum(d_out.data(), d_in.data(), d_rows.data(), d_offsets.data(), d_srcs.data(),
                          int(plan.rows.size()), C, stream());
    sync();
    const std::string name = "M=" + std::to_string(M) + " N=" + std::to_string(N) + " C=" + std::to_string(C);
    expect_close(download_bf16(d_out), to_double(want), 0.0, 0.0, "row scatter " + name);
  }
}

TEST_F(CudaRowScatter, AddsInAscendingGatherOrder) {
  const float big = 16777216.0f;  // 2^24: big + 1 rounds back to big in fp32
  const std::vector<int32_t> rows = {1, 0, 1, 1};                             // row 1 at m = 0, 2, 3
  const std::vector<float> in = {big, 1.0f, 7.0f, 8.0f, 1.0f, 2.0f, -big, 3.0f};  // (4, 2)
  // Row 1, column 0: (big + 1) - big = 0 in ascending m (reversed: (-big + 1) + big = 1).
  const std::vector<double> want = {7.0, 8.0, 0.0, 6.0};
  cuda::RowScatterPlan plan;
  cuda::row_scatter_plan(rows.data(), 4, plan);
  cuda::DeviceBuffer<int32_t> d_rows(plan.rows), d_offsets(plan.offsets), d_srcs(plan.srcs);
  Bf16Buffer d_in = upload_bf16(in), d_out(4);
  cuda::row_scatter_sum(d_out.data(), d_in.data(), d_rows.data(), d_offsets.data(), d_srcs.data(), 2, 2, stream());
  sync();
  expect_close(download_bf16(d_out), want, 0.0, 0.0, "row scatter order");
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaRowScatter)

#endif
