// Training examples from hand-made SampleTable rows: the soft and text variants of a ctr sample,
// and a topk sample split pointwise into one example per (unpadded) candidate, compared with the
// token lists written out by hand here.
#include "train/train_examples.h"

#include <gtest/gtest.h>

#include "core/check.h"

using namespace ckf;

namespace {

constexpr int32_t P = 999;  // placeholder token

// One ctr sample: user 3, history {4, 7} (window 3, padded), soft prompt with a user and an item slot.
SampleTable ctr_table() {
  SampleTable t;
  t.task = Task::Ctr;
  t.history_len = 3;
  const std::vector<int32_t> hist{4, 7, -1}, none;
  const std::vector<float> hr{4.0f, 5.0f, 0.0f};
  t.push(3, 7, 1.0f, hist, hr, none);
  t.has_prompts = true;
  PromptColumns& p = t.prompts;
  p.placeholder_id = P;
  p.soft.push(std::vector<int32_t>{5, P, 6, P, 8});
  p.text.push(std::vector<int32_t>{11, 12, 13});
  p.answer.push(std::vector<int32_t>{42, 43});
  p.slot_position = {1, 3};
  p.slot_kind = {0, 1};
  p.slot_id = {3, 7};
  p.slot_offset = {0, 2};
  return t;
}

// One topk sample with candidates {21, 22} and one padded slot (C = 3).
SampleTable topk_table() {
  SampleTable t;
  t.task = Task::Topk;
  t.history_len = 2;
  t.num_candidates = 3;
  const std::vector<int32_t> hist{9, 10}, cand{21, 22, -1};
  const std::vector<float> hr{3.0f, 4.0f};
  t.push(2, 22, 1.0f, hist, hr, cand);
  t.has_prompts = true;
  PromptColumns& p = t.prompts;
  p.placeholder_id = P;
  p.soft.push(std::vector<int32_t>{1, P, 2});
  p.text.push(std::vector<int32_t>{30, 31});
  p.answer.push(std::vector<int32_t>{});
  p.slot_position = {1};
  p.slot_kind = {0};
  p.slot_id = {2};
  p.slot_offset = {0, 1};
  p.suffix_soft.push(std::vector<int32_t>{50, P, 51});
  p.suffix_soft.push(std::vector<int32_t>{52, P});
  p.suffix_soft.push(std::vector<int32_t>{});
  p.suffix_text.push(std::vector<int32_t>{60});
  p.suffix_text.push(std::vector<int32_t>{61, 62});
  p.suffix_text.push(std::vector<int32_t>{});
  p.suffix_answer.push(std::vector<int32_t>{70});
  p.suffix_answer.push(std::vector<int32_t>{71});
  p.suffix_answer.push(std::vector<int32_t>{});
  p.suffix_slot = {1, 1, 0};
  return t;
}

void expect_placeholders(const CkfExample& ex, const std::vector<Placeholder>& want) {
  ASSERT_EQ(ex.placeholders.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(ex.placeholders[i].pos, want[i].pos) << i;
    EXPECT_EQ(ex.placeholders[i].kind, want[i].kind) << i;
    EXPECT_EQ(ex.placeholders[i].id, want[i].id) << i;
  }
}

}  // namespace

TEST(TrainExamples, CtrSoftAndTextVariants) {
  const SampleTable t = ctr_table();
  std::vector<CkfExample> out;
  train_examples_append(t, 0, true, out);
  train_examples_append(t, 0, false, out);
  ASSERT_EQ(out.size(), 2u);
  for (const CkfExample& ex : out) {
    EXPECT_EQ(ex.task, "ctr");
    EXPECT_EQ(ex.user, 3);
    EXPECT_EQ(ex.history, (std::vector<int32_t>{4, 7}));
    EXPECT_EQ(ex.answer, (std::vector<int32_t>{42, 43}));
  }
  EXPECT_EQ(out[0].prompt, (std::vector<int32_t>{5, P, 6, P, 8}));
  expect_placeholders(out[0], {{1, PlaceholderKind::user, 3}, {3, PlaceholderKind::item, 7}});
  EXPECT_EQ(out[1].prompt, (std::vector<int32_t>{11, 12, 13}));
  EXPECT_TRUE(out[1].placeholders.empty());
}

TEST(TrainExamples, TopkIsPointwiseOverTheRealCandidates) {
  const SampleTable t = topk_table();
  std::vector<CkfExample> soft, text;
  train_examples_append(t, 0, true, soft);
  train_examples_append(t, 0, false, text);
  ASSERT_EQ(soft.size(), 2u);
  ASSERT_EQ(text.size(), 2u);
  EXPECT_EQ(soft[0].prompt, (std::vector<int32_t>{1, P, 2, 50, P, 51}));
  expect_placeholders(soft[0], {{1, PlaceholderKind::user, 2}, {4, PlaceholderKind::item, 21}});
  EXPECT_EQ(soft[1].prompt, (std::vector<int32_t>{1, P, 2, 52, P}));
  expect_placeholders(soft[1], {{1, PlaceholderKind::user, 2}, {4, PlaceholderKind::item, 22}});
  EXPECT_EQ(text[0].prompt, (std::vector<int32_t>{30, 31, 60}));
  EXPECT_EQ(text[1].prompt, (std::vector<int32_t>{30, 31, 61, 62}));
  EXPECT_TRUE(text[0].placeholders.empty() && text[1].placeholders.empty());
  for (auto* v : {&soft, &text}) {
    EXPECT_EQ((*v)[0].answer, (std::vector<int32_t>{70}));
    EXPECT_EQ((*v)[1].answer, (std::vector<int32_t>{71}));
    EXPECT_EQ((*v)[0].task, "topk");
    EXPECT_EQ((*v)[0].history, (std::vector<int32_t>{9, 10}));
  }
}

TEST(TrainExamples, RejectsRowsWithoutPromptsOrWithBadSlots) {
  SampleTable t = ctr_table();
  t.prompts.slot_position[1] = 5;  // past the 5-token prompt
  std::vector<CkfExample> out;
  EXPECT_THROW(train_examples_append(t, 0, true, out), Error);
  t = ctr_table();
  t.has_prompts = false;
  EXPECT_THROW(train_examples_append(t, 0, false, out), Error);
}
