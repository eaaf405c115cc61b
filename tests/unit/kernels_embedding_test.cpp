// Embedding lookup and scatter-add: exact copies and double-precision sums; bad ids name the position.
#include <gtest/gtest.h>

#include "core/check.h"
#include "kernels/cpu/embedding.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

TEST(Embedding, ForwardCopiesRows) {
  std::mt19937 rng(10);
  for (auto [N, V, C] : {std::tuple{1, 1, 6}, std::tuple{7, 13, 64}, std::tuple{33, 5, 7}}) {
    auto table = random_floats(V * C, rng);
    std::vector<int32_t> ids(N);
    for (int i = 0; i < N; i++) ids[i] = static_cast<int32_t>(rng() % V);
    std::vector<float> out(N * C);
    cpu::embedding_forward(out.data(), ids.data(), table.data(), N, V, C);
    for (int i = 0; i < N; i++)
      for (int c = 0; c < C; c++) ASSERT_EQ(out[i * C + c], table[ids[i] * C + c]) << "token " << i << " col " << c;
  }
}

// Repeated ids (V small) must accumulate; the reference sums in double onto the initial table.
TEST(Embedding, BackwardAccumulatesRepeatedIds) {
  std::mt19937 rng(11);
  const int N = 33, V = 5, C = 6;
  auto dout = random_floats(N * C, rng), dtable = random_floats(V * C, rng);
  std::vector<int32_t> ids(N);
  for (int i = 0; i < N; i++) ids[i] = static_cast<int32_t>(rng() % V);
  auto want = to_double(dtable);
  for (int i = 0; i < N; i++)
    for (int c = 0; c < C; c++) want[ids[i] * C + c] += dout[i * C + c];
  cpu::embedding_backward(dtable.data(), ids.data(), dout.data(), N, V, C);
  expect_close(dtable, want, 1e-5, 1e-6, "dtable");
}

TEST(Embedding, OutOfRangeIdNamesPosition) {
  std::vector<float> table(4 * 3, 1.0f), out(3 * 3, 0.0f);
  for (int32_t bad : {4, -1}) {
    std::vector<int32_t> ids = {0, 3, bad};
    try {
      cpu::embedding_forward(out.data(), ids.data(), table.data(), 3, 4, 3);
      FAIL() << "no error for id " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("position 2"), std::string::npos) << e.what();
    }
    EXPECT_THROW(cpu::embedding_backward(table.data(), ids.data(), out.data(), 3, 4, 3), Error);
  }
}

}  // namespace
