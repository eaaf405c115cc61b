// Row gather: every per-sample column, the prompt columns included, of a gathered table equals
// the source row it came from (compared element by element against direct indexing of the source).
#include "io/sample_rows.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/check.h"

using namespace ckf;

namespace {

std::vector<int32_t> random_tokens(std::mt19937& gen, int n) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& t : v) t = int32_t(gen() % 1000);
  return v;
}

// N samples of a table with C candidates (topk-like when C > 0) and random prompt columns of
// random lengths (some empty).
SampleTable random_table(Task task, int N, int H, int C, uint32_t seed) {
  std::mt19937 gen(seed);
  SampleTable t;
  t.task = task;
  t.history_len = H;
  t.num_candidates = C;
  t.has_prompts = true;
  t.prompts.placeholder_id = 999;
  for (int i = 0; i < N; ++i) {
    std::vector<int32_t> hist(static_cast<size_t>(H)), cand(static_cast<size_t>(C));
    std::vector<float> hr(static_cast<size_t>(H));
    for (auto& h : hist) h = int32_t(gen() % 50);
    for (auto& r : hr) r = float(gen() % 10) * 0.5f;
    for (auto& c : cand) c = int32_t(gen() % 50);
    t.push(int32_t(gen() % 20), int32_t(gen() % 50), float(gen() % 2), hist, hr, cand);
    PromptColumns& p = t.prompts;
    p.soft.push(random_tokens(gen, 3 + int(gen() % 9)));
    p.text.push(random_tokens(gen, 2 + int(gen() % 7)));
    p.answer.push(random_tokens(gen, int(gen() % 3)));
    for (int s = 0, S = int(gen() % 4); s < S; ++s) {
      p.slot_position.push_back(int32_t(gen() % 3));
      p.slot_kind.push_back(int8_t(gen() % 2));
      p.slot_id.push_back(int32_t(gen() % 20));
    }
    p.slot_offset.push_back(int64_t(p.slot_id.size()));
    for (int j = 0; j < C; ++j) {
      p.suffix_soft.push(random_tokens(gen, 1 + int(gen() % 5)));
      p.suffix_text.push(random_tokens(gen, 1 + int(gen() % 5)));
      p.suffix_answer.push(random_tokens(gen, 1));
      p.suffix_slot.push_back(int32_t(gen() % 1));
    }
  }
  return t;
}

std::vector<int32_t> vec(std::span<const int32_t> s) { return {s.begin(), s.end()}; }

void expect_row_equal(const SampleTable& got, size_t g, const SampleTable& src, size_t r) {
  const size_t H = size_t(src.history_len), C = size_t(src.num_candidates);
  EXPECT_EQ(got.user[g], src.user[r]);
  EXPECT_EQ(got.target[g], src.target[r]);
  EXPECT_EQ(got.label[g], src.label[r]);
  for (size_t h = 0; h < H; ++h) EXPECT_EQ(got.history[g * H + h], src.history[r * H + h]);
  for (size_t h = 0; h < H; ++h) EXPECT_EQ(got.history_rating[g * H + h], src.history_rating[r * H + h]);
  for (size_t c = 0; c < C; ++c) EXPECT_EQ(got.candidates[g * C + c], src.candidates[r * C + c]);
  const PromptColumns &a = got.prompts, &b = src.prompts;
  EXPECT_EQ(vec(a.soft.row(g)), vec(b.soft.row(r)));
  EXPECT_EQ(vec(a.text.row(g)), vec(b.text.row(r)));
  EXPECT_EQ(vec(a.answer.row(g)), vec(b.answer.row(r)));
  ASSERT_EQ(a.slot_offset[g + 1] - a.slot_offset[g], b.slot_offset[r + 1] - b.slot_offset[r]);
  for (int64_t s = 0; s < b.slot_offset[r + 1] - b.slot_offset[r]; ++s) {
    EXPECT_EQ(a.slot_position[size_t(a.slot_offset[g] + s)], b.slot_position[size_t(b.slot_offset[r] + s)]);
    EXPECT_EQ(a.slot_kind[size_t(a.slot_offset[g] + s)], b.slot_kind[size_t(b.slot_offset[r] + s)]);
    EXPECT_EQ(a.slot_id[size_t(a.slot_offset[g] + s)], b.slot_id[size_t(b.slot_offset[r] + s)]);
  }
  for (size_t j = 0; j < C; ++j) {
    EXPECT_EQ(vec(a.suffix_soft.row(g * C + j)), vec(b.suffix_soft.row(r * C + j)));
    EXPECT_EQ(vec(a.suffix_text.row(g * C + j)), vec(b.suffix_text.row(r * C + j)));
    EXPECT_EQ(vec(a.suffix_answer.row(g * C + j)), vec(b.suffix_answer.row(r * C + j)));
    EXPECT_EQ(a.suffix_slot[g * C + j], b.suffix_slot[r * C + j]);
  }
}

}  // namespace

TEST(SampleRows, GatherCarriesEveryColumnIncludingPrompts) {
  for (auto [task, H, C] :
       {std::tuple{Task::Ctr, 5, 0}, std::tuple{Task::Topk, 3, 4}, std::tuple{Task::Sequential, 7, 3}}) {
    const SampleTable src = random_table(task, 11, H, C, uint32_t(H * 31 + C));
    const std::vector<size_t> order = {7, 0, 10, 3, 3, 5};  // out of order, one row twice
    SampleTable got;
    for (size_t r : order) sample_table_append_row(got, src, r);
    ASSERT_EQ(got.size(), order.size());
    EXPECT_TRUE(got.has_prompts);
    EXPECT_EQ(got.prompts.placeholder_id, 999);
    EXPECT_EQ(got.prompts.soft.rows(), order.size());
    EXPECT_EQ(got.prompts.suffix_slot.size(), order.size() * size_t(C));
    for (size_t g = 0; g < order.size(); ++g) expect_row_equal(got, g, src, order[g]);
  }
}

TEST(SampleRows, RefusesMixingTablesWithAndWithoutPrompts) {
  const SampleTable with = random_table(Task::Ctr, 3, 2, 0, 1);
  SampleTable without = with;
  without.has_prompts = false;
  without.prompts.clear();
  SampleTable got;
  sample_table_append_row(got, with, 0);
  EXPECT_THROW(sample_table_append_row(got, without, 1), Error);
}
