// Process-grid size checks and rank arithmetic, against hand-written expectations.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/check.h"
#include "dist/process_grid.h"
#include "test_util.h"

using namespace ckf;

namespace {

TEST(GridCheck, AcceptsDivisibleLayouts) {
  TpSplitDims smollm{9, 3, 49152, 1536};  // SmolLM2-135M
  EXPECT_NO_THROW(grid_check(8, 1, smollm));
  EXPECT_NO_THROW(grid_check(6, 3, smollm));
  EXPECT_EQ(grid_tp_ranks(4, 1), (std::vector<int>{4, 5, 6, 7}));
  EXPECT_EQ(grid_dp_ranks(2, 3, 1), (std::vector<int>{1, 3, 5}));
}

TEST(GridCheck, RejectsIndivisibleSizesByName) {
  TpSplitDims dims{8, 4, 32000, 11008};
  EXPECT_NE(error_of([&] { grid_check(6, 4, dims); }).find("--tp 4: the world of 6 ranks does not divide"),
            std::string::npos);
  EXPECT_NE(error_of([&] { grid_check(4, 0, dims); }).find("--tp 0"), std::string::npos);
  EXPECT_NE(error_of([&] { grid_check(8, 8, dims); }).find("n_kv_head (KV heads) 4 is not divisible by 8"),
            std::string::npos);
  EXPECT_NE(error_of([&] { grid_check(3, 3, {9, 3, 32000, 1536}); }).find("vocab_size 32000 is not divisible by 3"),
            std::string::npos);
  EXPECT_NE(error_of([&] { grid_check(3, 3, {9, 3, 32001, 1537}); }).find("ffn_dim (intermediate size) 1537"),
            std::string::npos);
  EXPECT_NE(error_of([&] { grid_check(2, 2, {6, 3, 100, 100}); }).find("n_kv_head"), std::string::npos);
  EXPECT_NE(error_of([&] { grid_check(2, 2, {5, 2, 100, 100}); }).find("n_head (attention heads) 5"), std::string::npos);
  EXPECT_NE(error_of([&] { grid_check(2, 1, {0, 2, 100, 100}); }).find("n_head (attention heads) is 0"),
            std::string::npos);
}

}  // namespace
