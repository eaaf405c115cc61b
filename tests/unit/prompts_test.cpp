// Prompt templates and their tokenization: exact template strings on a hand-made catalog, soft
// tokens at the placeholder positions with the right ids, the text variant equal to the prompt
// without placeholders, answers, history truncation, the shard round trip (schema 2, schema 1 still
// read), and the tokenizer-mismatch refusal. Tokenizer: tests/data/tokenizer/prompt_tokenizer.json
// (made by tests/golden/make_prompt_tokenizer.py with HF tokenizers); the SmolLM2 GGUF when present.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/check.h"
#include "io/prompt_encode.h"
#include "io/prompt_templates.h"
#include "io/samples.h"
#include "model_path.h"
#include "test_util.h"

using namespace ckf;
namespace fs = std::filesystem;

namespace {

const std::string kTokenizerJson = std::string(CKF_TEST_DATA_DIR) + "/tokenizer/prompt_tokenizer.json";

// 2 users, 5 items; item 4 has no title.
Catalog hand_catalog() {
  Catalog c;
  c.source = "movielens-latest";
  c.user_raw = {"7", "9"};
  c.item_raw = {"1", "2", "3", "5", "42"};
  c.title = {"Toy Story (1995)", "Jumanji (1995)", "Heat (1995)", "Casino (1995)", ""};
  c.user_offset = {0, 0, 0};
  return c;
}

SampleTable table_of(Task task, int32_t history_len, int32_t num_candidates) {
  SampleTable t;
  t.task = task;
  t.history_len = history_len;
  t.num_candidates = num_candidates;
  return t;
}

const std::string kChatOpen = "<|im_start|>user\n", kChatClose = "<|im_end|>\n<|im_start|>assistant\n";

// The prompt text with the placeholder spans removed.
std::string strip(const RenderedPrompt& r) {
  std::string out;
  size_t at = 0;
  for (const TextPlaceholder& p : r.placeholders) out += r.text.substr(at, p.byte_offset - at), at = p.byte_offset + p.byte_length;
  return out + r.text.substr(at);
}

fs::path scratch(const std::string& name) {
  fs::path d = fs::path(testing::TempDir()) / ("prompts_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace

TEST(PromptTemplates, ExactStrings) {
  Catalog c = hand_catalog();
  TemplateRenderer chat;
  std::vector<int32_t> hist = {0, 1};
  std::vector<float> hist_r = {4.0f, 3.5f};

  SampleTable ctr = table_of(Task::Ctr, 3, 0);
  ctr.push(1, 2, 0.0f, hist, hist_r, {});
  RenderedPrompt r = chat.render(ctr.at(0), c);
  EXPECT_EQ(r.text, kChatOpen +
                        "The user <user> has watched these movies, oldest first: Toy Story (1995) <item>; Jumanji "
                        "(1995) <item>.\nWill the user enjoy the movie Heat (1995) <item>? Answer Yes or No." +
                        kChatClose);
  EXPECT_EQ(r.answer, "No");
  EXPECT_EQ(strip(r), kChatOpen +
                          "The user has watched these movies, oldest first: Toy Story (1995); Jumanji (1995).\nWill "
                          "the user enjoy the movie Heat (1995)? Answer Yes or No." +
                          kChatClose);
  ASSERT_EQ(r.placeholders.size(), 4u);
  EXPECT_EQ(r.placeholders[0].kind, TextPlaceholder::Kind::User);
  EXPECT_EQ(r.placeholders[0].id, 1);
  EXPECT_EQ(r.placeholders[1].id, 0);
  EXPECT_EQ(r.placeholders[2].id, 1);
  EXPECT_EQ(r.placeholders[3].id, 2);
  for (size_t k = 1; k < 4; ++k) EXPECT_EQ(r.placeholders[k].kind, TextPlaceholder::Kind::Item);

  SampleTable rating = table_of(Task::Rating, 3, 0);
  rating.push(0, 4, 2.5f, hist, hist_r, {});
  r = TemplateRenderer(false).render(rating.at(0), c);
  EXPECT_EQ(r.text,
            "The user <user> has rated these movies from 1 to 5 stars, oldest first: Toy Story (1995) <item>: 4; "
            "Jumanji (1995) <item>: 3.5.\nHow many stars will the user give the movie item 42 <item>? Answer with one "
            "digit from 1 to 5.\nAnswer: ");
  EXPECT_EQ(r.answer, "3");  // 2.5 rounds half up

  SampleTable seq = table_of(Task::Sequential, 3, 3);
  std::vector<int32_t> cand = {3, 2, 4};
  seq.push(0, 2, 1.0f, hist, hist_r, cand);
  r = chat.render(seq.at(0), c);
  EXPECT_EQ(r.text, kChatOpen +
                        "The user <user> has watched these movies, oldest first: Toy Story (1995) <item>; Jumanji "
                        "(1995) <item>.\nWhich movie will the user watch next? Candidates:\nA. Casino (1995) <item>\nB. "
                        "Heat (1995) <item>\nC. item 42 <item>\nAnswer with the letter of one candidate." +
                        kChatClose);
  EXPECT_EQ(r.answer, "B");

  SampleTable topk = table_of(Task::Topk, 3, 2);
  std::vector<int32_t> cand2 = {3, 2};
  topk.push(1, 2, 1.0f, {}, {}, cand2);
  r = chat.render(topk.at(0), c);
  EXPECT_EQ(r.text, kChatOpen + "The user <user> has not watched any movies yet.\n");
  EXPECT_EQ(r.answer, "");
  ASSERT_EQ(r.suffixes.size(), 2u);
  EXPECT_EQ(r.suffixes[0].text, "Will the user enjoy the movie Casino (1995) <item>? Answer Yes or No." + kChatClose);
  EXPECT_EQ(r.suffixes[0].answer, "No");
  EXPECT_EQ(r.suffixes[1].answer, "Yes");
  EXPECT_EQ(r.suffixes[1].placeholders[0].id, 2);

  c.source = "amazon";
  r = chat.render(ctr.at(0), c);
  EXPECT_NE(r.text.find("has bought these products"), std::string::npos) << r.text;
}

TEST(PromptTemplates, RatingDigit) {
  const float in[] = {0.5f, 1.0f, 1.49f, 1.5f, 2.5f, 3.5f, 4.5f, 5.0f};
  const int want[] = {1, 1, 1, 2, 3, 4, 5, 5};
  for (size_t k = 0; k < 8; ++k) EXPECT_EQ(prompt_rating_digit(in[k]), want[k]) << in[k];
}

// Every task through the encoder: placeholder positions hold the placeholder id and refer to the
// rendered ids; the soft segments decode to the text between placeholders; the text variant
// decodes to the stripped prompt; answers decode to the rendered answers.
void check_encoding(const Tokenizer& tok, int32_t placeholder_id) {
  Catalog c = hand_catalog();
  TemplateRenderer renderer;
  std::vector<int32_t> hist = {0, 1, 4};
  std::vector<float> hist_r = {4.0f, 3.5f, 1.0f};
  std::vector<int32_t> cand = {3, 2, 4};
  for (Task task : kAllTasks) {
    SCOPED_TRACE(task_name(task));
    bool listed = task == Task::Sequential || task == Task::Topk;
    SampleTable t = table_of(task, 3, listed ? 3 : 0);
    t.push(1, 2, task == Task::Rating ? 4.5f : 1.0f, hist, hist_r, listed ? std::span<const int32_t>(cand) : std::span<const int32_t>());
    t.push(0, 3, task == Task::Rating ? 1.0f : task == Task::Ctr ? 0.0f : 0.0f, {hist.data(), 1}, {hist_r.data(), 1},
           listed ? std::span<const int32_t>(cand) : std::span<const int32_t>());
    PromptEncodeOptions opt;
    opt.placeholder_id = placeholder_id;
    opt.threads = 2;
    PromptStats st = prompt_encode(t, c, renderer, tok, opt);
    ASSERT_TRUE(t.has_prompts);
    EXPECT_EQ(st.samples, 2);
    EXPECT_EQ(st.truncated, 0);
    const PromptColumns& p = t.prompts;
    ASSERT_EQ(p.soft.rows(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      RenderedPrompt r = renderer.render(t.at(i), c);
      auto soft = p.soft.row(i);
      size_t slots = size_t(p.slot_offset[i + 1] - p.slot_offset[i]);
      ASSERT_EQ(slots, r.placeholders.size());
      size_t at = 0, prev = 0;
      for (size_t k = 0; k < slots; ++k) {
        size_t s = size_t(p.slot_offset[i]) + k;
        int32_t pos = p.slot_position[s];
        ASSERT_LT(size_t(pos), soft.size());
        EXPECT_EQ(soft[size_t(pos)], placeholder_id);
        EXPECT_EQ(p.slot_kind[s], int8_t(r.placeholders[k].kind));
        EXPECT_EQ(p.slot_id[s], r.placeholders[k].id);
        std::vector<int32_t> seg(soft.begin() + long(prev), soft.begin() + pos);
        EXPECT_EQ(tok.decode(seg), r.text.substr(at, r.placeholders[k].byte_offset - at));
        at = r.placeholders[k].byte_offset + r.placeholders[k].byte_length;
        prev = size_t(pos) + 1;
      }
      EXPECT_EQ(size_t(std::count(soft.begin(), soft.end(), placeholder_id)), slots);
      auto text = p.text.row(i);
      EXPECT_EQ(tok.decode({text.begin(), text.end()}), strip(r));
      EXPECT_EQ(std::count(text.begin(), text.end(), placeholder_id), 0);
      auto ans = p.answer.row(i);
      EXPECT_EQ(tok.decode({ans.begin(), ans.end()}), r.answer);
      if (task != Task::Topk) continue;
      for (size_t j = 0; j < 3; ++j) {
        size_t row = i * 3 + j;
        auto suf = p.suffix_soft.row(row);
        EXPECT_EQ(suf[size_t(p.suffix_slot[row])], placeholder_id);
        EXPECT_EQ(std::count(suf.begin(), suf.end(), placeholder_id), 1);
        auto st_ = p.suffix_text.row(row);
        EXPECT_EQ(tok.decode({st_.begin(), st_.end()}), strip(r.suffixes[j]));
        auto sa = p.suffix_answer.row(row);
        EXPECT_EQ(tok.decode({sa.begin(), sa.end()}), r.suffixes[j].answer);
      }
    }
    if (task == Task::Rating) {
      auto ans = p.answer.row(0);
      EXPECT_EQ(tok.decode({ans.begin(), ans.end()}), "5");  // 4.5 rounds half up
    }
  }
}

TEST(PromptEncode, TokenizerJsonFixture) {
  Tokenizer tok = tokenizer_load(kTokenizerJson);
  check_encoding(tok, tok.token_to_id("<|endoftext|>"));
}

TEST(PromptEncode, SmolLM2) {
  std::string path = test_model_gguf_path();
  if (!fs::exists(path)) GTEST_SKIP() << path << " absent (cluster/setup-model.sh fetches it)";
  Tokenizer tok = tokenizer_load(path);
  check_encoding(tok, tok.token_to_id("<|endoftext|>"));
  // Chat markers are single special tokens and each rating answer is one digit token.
  Catalog c = hand_catalog();
  SampleTable t = table_of(Task::Rating, 3, 0);
  t.push(0, 1, 3.0f, {}, {}, {});
  PromptEncodeOptions opt;
  opt.placeholder_id = 0;
  prompt_encode(t, c, TemplateRenderer(), tok, opt);
  EXPECT_EQ(t.prompts.soft.row(0)[0], tok.token_to_id("<|im_start|>"));
  EXPECT_EQ(t.prompts.answer.row(0).size(), 1u);
}

TEST(PromptEncode, HistoryTruncatedFromOldest) {
  Tokenizer tok = tokenizer_load(kTokenizerJson);
  Catalog c = hand_catalog();
  TemplateRenderer renderer;
  std::vector<int32_t> hist = {0, 1, 2, 3};
  std::vector<float> hist_r = {4, 4, 4, 4};
  SampleTable full = table_of(Task::Ctr, 4, 0);
  full.push(0, 4, 1.0f, hist, hist_r, {});
  PromptEncodeOptions opt;
  opt.placeholder_id = tok.token_to_id("<|endoftext|>");
  SampleTable t = full;
  PromptStats st = prompt_encode(t, c, renderer, tok, opt);
  size_t whole = t.prompts.soft.row(0).size();
  // A limit one token short of the whole prompt must drop exactly the oldest item (Toy Story).
  opt.max_prompt_tokens = int32_t(whole) - 1;
  st = prompt_encode(t, c, renderer, tok, opt);
  EXPECT_EQ(st.truncated, 1);
  SampleTable want = table_of(Task::Ctr, 4, 0);
  want.push(0, 4, 1.0f, {hist.data() + 1, 3}, {hist_r.data() + 1, 3}, {});
  auto text = t.prompts.text.row(0);
  EXPECT_EQ(tok.decode({text.begin(), text.end()}), strip(renderer.render(want.at(0), c)));
  EXPECT_LE(st.max_tokens, int64_t(whole) - 1);
  // Too short even without history.
  opt.max_prompt_tokens = 5;
  EXPECT_NE(error_of([&] { prompt_encode(t, c, renderer, tok, opt); }).find("without any history"), std::string::npos);
}

TEST(PromptShard, RoundTripVersionsAndTokenizerCheck) {
  fs::path dir = scratch("shard");
  Tokenizer tok = tokenizer_load(kTokenizerJson);
  Catalog c = hand_catalog();
  SampleTable t = table_of(Task::Topk, 3, 3);
  std::vector<int32_t> hist = {0, 1}, cand = {3, 2, 4};
  std::vector<float> hist_r = {4, 5};
  t.push(1, 2, 1.0f, hist, hist_r, cand);
  t.push(0, 4, 2.0f, {}, {}, cand);
  ShardInfo info{0, 1, 2, 5, ""};
  fs::path v1 = dir / "v1.h5", v2 = dir / "v2.h5";
  shard_write(t, info, v1);  // no prompts: schema 1, as before this change
  PromptEncodeOptions opt;
  opt.placeholder_id = tok.token_to_id("<|endoftext|>");
  prompt_encode(t, c, TemplateRenderer(), tok, opt);
  EXPECT_NE(error_of([&] { shard_write(t, info, v2); }).find("tokenizer identity"), std::string::npos);
  info.tokenizer = tok.identity();
  shard_write(t, info, v2);

  ShardInfo back;
  SampleTable r1 = shard_read(v1, &back);
  EXPECT_FALSE(r1.has_prompts);
  EXPECT_EQ(back.tokenizer, "");
  EXPECT_EQ(r1.candidates, t.candidates);
  EXPECT_NE(error_of([&] { shard_check_tokenizer(v1, back, tok.identity()); }).find("no tokenized prompts"),
            std::string::npos);

  SampleTable r2 = shard_read(v2, &back);
  ASSERT_TRUE(r2.has_prompts);
  EXPECT_EQ(back.tokenizer, tok.identity());
  const PromptColumns &a = t.prompts, &b = r2.prompts;
  EXPECT_EQ(b.placeholder_id, a.placeholder_id);
  for (auto [x, y] : {std::pair{&a.soft, &b.soft}, {&a.text, &b.text}, {&a.answer, &b.answer},
                      {&a.suffix_soft, &b.suffix_soft}, {&a.suffix_text, &b.suffix_text},
                      {&a.suffix_answer, &b.suffix_answer}}) {
    EXPECT_EQ(x->offset, y->offset);
    EXPECT_EQ(x->value, y->value);
  }
  EXPECT_EQ(b.slot_offset, a.slot_offset);
  EXPECT_EQ(b.slot_position, a.slot_position);
  EXPECT_EQ(b.slot_kind, a.slot_kind);
  EXPECT_EQ(b.slot_id, a.slot_id);
  EXPECT_EQ(b.suffix_slot, a.suffix_slot);

  shard_check_tokenizer(v2, back, tok.identity());
  std::string e = error_of([&] { shard_check_tokenizer(v2, back, "bpe-fnv1a64:0000000000000000"); });
  EXPECT_NE(e.find(v2.string()), std::string::npos) << e;
  EXPECT_NE(e.find(tok.identity()), std::string::npos) << e;
  EXPECT_NE(e.find("bpe-fnv1a64:0000000000000000"), std::string::npos) << e;

  // A placeholder position that does not hold the placeholder token is refused on read.
  t.prompts.slot_position[0] += 1;
  fs::path bad = dir / "bad.h5";
  shard_write(t, info, bad);
  EXPECT_NE(error_of([&] { shard_read(bad); }).find("is not a placeholder token"), std::string::npos);
}
