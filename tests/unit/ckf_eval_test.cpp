// CKF evaluation: the scoring math on fixed logits against metrics worked out by hand, the
// model-backed logits (shared-prefix decoding equals the batched forward; next-token logits equal
// the teacher-forced ones at the answer position), the prompt columns -> examples plumbing, the
// answer-token check and the JSON writer.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "core/check.h"
#include "core/ckf_eval.h"
#include "dist/gather_blocks.h"
#include "io/eval_answers.h"
#include "core/train/eval_input.h"
#include "io/eval_report.h"
#include "io/json_write.h"
#include "llama_reference.h"

namespace ckf::test {
namespace {

constexpr int kV = 40;
// Answer tokens spread over the vocabulary; the other logits are large so that a scorer reading
// a wrong token or normalising over the whole vocabulary gives other numbers.
AnswerTokens answer_tokens() {
  AnswerTokens t;
  t.yes = 7, t.no = 3;
  t.digits = {11, 12, 13, 14, 15};
  for (int c = 0; c < 12; ++c) t.letters.push_back(20 + c);
  return t;
}

// Fixed logits: the prompt's first token names the sample; topk candidates are told apart by their
// last token (the candidate index).
class FixedLogits : public LogitsSource {
 public:
  std::map<int, std::vector<float>> rows;                // sample -> (V)
  std::map<std::pair<int, int>, std::vector<float>> cand;  // (sample, candidate) -> (V)
  int calls = 0;
  int vocab() const override { return kV; }
  void prompt_logits(const std::vector<CkfExample>& ex, float* logits) override {
    ++calls;
    for (size_t i = 0; i < ex.size(); ++i) std::copy_n(rows.at(ex[i].prompt[0]).data(), kV, logits + i * kV);
  }
  void candidate_logits(const std::vector<CkfExample>& ex, int prefix_len, float* logits) override {
    ++calls;
    for (size_t i = 0; i < ex.size(); ++i) {
      EXPECT_EQ(int(ex[i].prompt.size()), prefix_len + 1);
      std::copy_n(cand.at({ex[i].prompt[0], ex[i].prompt.back()}).data(), kV, logits + i * kV);
    }
  }
};

std::vector<float> base_row(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(5.0f, 9.0f);
  std::vector<float> r(kV);
  for (float& x : r) x = u(rng);
  return r;
}

EvalSample sample(int id, int32_t user, bool cold, float label, int candidates = 0) {
  EvalSample s;
  s.prompts.push_back({"t", user, {}, {id, 1, 2}, {}, {}});
  s.user = user, s.cold = cold, s.label = label, s.candidates = candidates;
  return s;
}

std::vector<float> run(FixedLogits& src, const EvalInput& in, int block) {
  const auto local = eval_score_blocks(src, in, answer_tokens(), block, 0, 1);
  return gather_blocks(nullptr, local, int64_t(block) * in.width, int64_t(in.samples.size()) * in.width);
}

double metric(const EvalGroup& g, const std::string& name) {
  for (const auto& [n, v] : g.metrics)
    if (n == name) return v;
  ADD_FAILURE() << "no metric " << name;
  return 0;
}

}  // namespace

TEST(CkfEval, CtrAucAndUauc) {
  // d = l_yes - l_no; p = sigmoid(d) orders like d. Users 0, 1 warm, 2 cold.
  const float d[6] = {2.0f, -1.0f, 0.5f, 1.0f, -0.5f, 0.0f};
  const int32_t user[6] = {0, 0, 1, 1, 2, 2};
  const float label[6] = {1, 0, 1, 0, 1, 1};
  FixedLogits src;
  EvalInput in{EvalKind::ctr, 1, {}};
  const AnswerTokens t = answer_tokens();
  for (int i = 0; i < 6; ++i) {
    src.rows[i] = base_row(i);
    src.rows[i][t.no] = 1.0f + 0.25f * i;
    src.rows[i][t.yes] = src.rows[i][t.no] + d[i];
    in.samples.push_back(sample(i, user[i], user[i] == 2, label[i]));
  }
  for (int block : {1, 4, 6, 9}) {
    const std::vector<float> s = run(src, in, block);
    for (int i = 0; i < 6; ++i) EXPECT_NEAR(s[i], 1.0 / (1.0 + std::exp(-double(d[i]))), 1e-6) << i;
    const EvalTaskResult r = eval_metrics(in, s);
    // All: positives {2, .5, -.5, 0} vs negatives {-1, 1}: 4 + 1 pairs of 8 won. UAUC: user 0
    // wins 1/1, user 1 loses 0/1, user 2 has no negative (skipped).
    EXPECT_EQ(r.groups[0].samples, 6);
    EXPECT_DOUBLE_EQ(metric(r.groups[0], "auc"), 5.0 / 8.0);
    EXPECT_DOUBLE_EQ(metric(r.groups[0], "uauc"), 0.5);
    // Warm (users 0, 1): positives {2, .5} vs negatives {-1, 1}: 3 of 4.
    EXPECT_EQ(r.groups[1].samples, 4);
    EXPECT_DOUBLE_EQ(metric(r.groups[1], "auc"), 0.75);
    EXPECT_DOUBLE_EQ(metric(r.groups[1], "uauc"), 0.5);
    // Cold: positives only, both undefined.
    EXPECT_EQ(r.groups[2].samples, 2);
    EXPECT_TRUE(std::isnan(metric(r.groups[2], "auc")));
    EXPECT_TRUE(std::isnan(metric(r.groups[2], "uauc")));
  }
}

TEST(CkfEval, RatingExpectationRmseMae) {
  const AnswerTokens t = answer_tokens();
  FixedLogits src;
  src.rows[0] = base_row(10);
  src.rows[1] = base_row(11);
  for (int r = 0; r < 5; ++r) src.rows[0][t.digits[r]] = 0.3f;  // uniform: E = 3
  const double w[5] = {1, 1, 2, 4, 8};                              // E = 65 / 16
  for (int r = 0; r < 5; ++r) src.rows[1][t.digits[r]] = float(std::log(w[r]) - 2.0);
  EvalInput in{EvalKind::rating, 1, {sample(0, 0, false, 4.0f), sample(1, 1, true, 5.0f)}};
  const std::vector<float> s = run(src, in, 2);
  EXPECT_NEAR(s[0], 3.0, 1e-6);
  EXPECT_NEAR(s[1], 65.0 / 16.0, 1e-6);
  const EvalTaskResult r = eval_metrics(in, s);
  const double e1 = 5.0 - 65.0 / 16.0;  // 0.9375
  EXPECT_NEAR(metric(r.groups[0], "rmse"), std::sqrt((1.0 + e1 * e1) / 2.0), 1e-6);
  EXPECT_NEAR(metric(r.groups[0], "mae"), (1.0 + e1) / 2.0, 1e-6);
  EXPECT_NEAR(metric(r.groups[1], "rmse"), 1.0, 1e-6);
  EXPECT_NEAR(metric(r.groups[2], "mae"), e1, 1e-6);
  EXPECT_EQ(r.groups[2].samples, 1);
}

TEST(CkfEval, SequentialLettersRankTheTrueCandidate) {
  const AnswerTokens t = answer_tokens();
  const float letters[3][6] = {{1, 2, 5, 0, 0, 0}, {1, 3, 2, 0.5f, 4, 5}, {3, 0, 2, 1, 9, 9}};
  FixedLogits src;
  EvalInput in{EvalKind::sequential, 6, {}};
  const float label[3] = {2, 0, 1};
  const int cands[3] = {6, 6, 4};  // sample 2 lists 4 candidates: letters E, F must not count
  for (int i = 0; i < 3; ++i) {
    src.rows[i] = base_row(20 + i);
    for (int c = 0; c < 6; ++c) src.rows[i][t.letters[c]] = letters[i][c];
    in.samples.push_back(sample(i, i, i == 1, label[i], cands[i]));
  }
  const EvalTaskResult r = eval_metrics(in, run(src, in, 2));
  // Ranks (negatives scoring >= the true one): 0, 4, 3 (5 if E, F counted).
  EXPECT_DOUBLE_EQ(metric(r.groups[0], "hr@1"), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(metric(r.groups[0], "hr@5"), 1.0);
  EXPECT_NEAR(metric(r.groups[0], "ndcg@5"), (1.0 + 1.0 / std::log2(6.0) + 1.0 / std::log2(5.0)) / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(metric(r.groups[2], "hr@5"), 1.0);
  EXPECT_NEAR(metric(r.groups[2], "ndcg@5"), 1.0 / std::log2(6.0), 1e-12);
  EXPECT_EQ(r.groups[1].samples, 2);
}

TEST(CkfEval, TopkPointwiseYesRanksTheCandidates) {
  const AnswerTokens t = answer_tokens();
  FixedLogits src;
  EvalInput in{EvalKind::topk, 12, {}};
  // Sample 0: the true candidate 0 at d = 0; 8 negatives above, one tied (ranked above), two below
  // -> rank 9, a hit at 10. Sample 1: true candidate 3 with 10 negatives above -> rank 10, a miss.
  const float d0[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 0, -1, -2};
  const float d1[12] = {1, 2, 3, 0, 4, 5, 6, 7, 8, 9, 10, -3};
  const float* d[2] = {d0, d1};
  for (int i = 0; i < 2; ++i) {
    EvalSample s;
    s.user = i, s.cold = i == 1, s.label = i == 0 ? 0 : 3, s.candidates = 12, s.prefix_len = 3;
    for (int c = 0; c < 12; ++c) {
      s.prompts.push_back({"topk", i, {}, {i, 1, 2, c}, {}, {}});
      std::vector<float> row = base_row(100 + i * 12 + c);
      row[t.no] = (i == 0 && (c == 0 || c == 9)) ? 0.5f : 0.1f * c - 1.0f;  // the tie: equal yes and no
      row[t.yes] = row[t.no] + d[i][c];
      src.cand[{i, c}] = row;
    }
    in.samples.push_back(std::move(s));
  }
  const EvalTaskResult r = eval_metrics(in, run(src, in, 1));
  EXPECT_EQ(src.calls, 2);
  EXPECT_DOUBLE_EQ(metric(r.groups[0], "hr@10"), 0.5);
  EXPECT_NEAR(metric(r.groups[0], "ndcg@10"), 0.5 / std::log2(11.0), 1e-12);
  EXPECT_DOUBLE_EQ(metric(r.groups[1], "hr@10"), 1.0);
  EXPECT_DOUBLE_EQ(metric(r.groups[2], "hr@10"), 0.0);
}

TEST(CkfEval, RejectsAnswerTokensOutsideTheVocabulary) {
  FixedLogits src;
  src.rows[0] = base_row(1);
  EvalInput in{EvalKind::ctr, 1, {sample(0, 0, false, 1)}};
  AnswerTokens t = answer_tokens();
  t.yes = kV;
  EXPECT_THROW(eval_score_blocks(src, in, t, 1, 0, 1), Error);
}

namespace {

constexpr int kDcf = 5;

CfTables random_cf(int U, int I, uint64_t seed) {
  CfTables cf{Tensor::zeros({U, kDcf}), Tensor::zeros({I, kDcf})};
  rng_fill_uniform(cf.user_emb.data<float>(), cf.user_emb.numel(), -1.0f, 1.0f, seed, 1);
  rng_fill_uniform(cf.item_emb.data<float>(), cf.item_emb.numel(), -1.0f, 1.0f, seed, 2);
  return cf;
}

Mapper random_mapper(int d_model) {
  MapperConfig mc;
  mc.d_cf = kDcf, mc.d_model = d_model, mc.meta_hidden = 4, mc.proj_hidden = 6;
  Mapper m = mapper_create(mc);
  uint64_t stream = 0;
  for (Param* p : mapper_params(m)) {
    std::vector<float> noise(size_t(p->value.numel()));
    rng_fill_uniform(noise.data(), p->value.numel(), -0.3f, 0.3f, 9, ++stream);
    for (int64_t i = 0; i < p->value.numel(); ++i) p->value.data<float>()[i] += noise[size_t(i)];
  }
  return m;
}

// topk-like candidates: a 5-token prefix with a user and an item placeholder, then suffixes of
// 3, 4 and 1 tokens each holding one candidate item placeholder.
std::vector<CkfExample> candidates(int V) {
  const std::vector<int32_t> prefix = {3 % V, 0, 5 % V, 0, 9 % V};
  const std::vector<std::vector<int32_t>> suffix = {{0, 11, 12}, {13, 0, 14, 15}, {0}};
  const int32_t items[3] = {2, 0, 3};
  const int32_t suffix_slot[3] = {0, 1, 0};
  std::vector<CkfExample> out;
  for (int c = 0; c < 3; ++c) {
    CkfExample ex{"topk", 1, {0, 2}, prefix, {{1, PlaceholderKind::user, 1}, {3, PlaceholderKind::item, 1}}, {}};
    for (int32_t tok : suffix[c]) ex.prompt.push_back(tok % V);
    ex.placeholders.push_back({5 + suffix_slot[c], PlaceholderKind::item, items[c]});
    out.push_back(ex);
  }
  return out;
}

}  // namespace

TEST(CkfEvalModel, SharedPrefixDecodingEqualsTheBatchedForward) {
  for (const LlamaConfig& cfg : {tiny_config(), odd_config()}) {
    const LlamaModel model = tiny_model(cfg, {"ctr", "topk"}, 31);
    const Mapper mapper = random_mapper(cfg.d_model);
    const CfTables cf = random_cf(3, 4, 7);
    const auto cands = candidates(cfg.vocab);
    ModelLogits shared(model, mapper, cf, true), batched(model, mapper, cf, false);
    std::vector<float> a(3 * size_t(cfg.vocab)), b(a.size());
    shared.candidate_logits(cands, 5, a.data());
    batched.candidate_logits(cands, 5, b.data());
    double spread = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_NEAR(a[i], b[i], 1e-5) << "logit " << i;  // fp32, two summation orders
      spread = std::max(spread, std::fabs(double(a[i]) - a[i % cfg.vocab]));
    }
    EXPECT_GT(spread, 1e-3) << "candidates should get different logits";
  }
}

TEST(CkfEvalModel, NextTokenLogitsEqualTeacherForcedAtTheAnswerPosition) {
  const LlamaConfig cfg = tiny_config();
  const LlamaModel model = tiny_model(cfg, {"ctr", "topk"}, 5);
  const Mapper mapper = random_mapper(cfg.d_model);
  const CfTables cf = random_cf(3, 4, 3);
  std::vector<CkfExample> ex = candidates(cfg.vocab);
  ex[1].task = "ctr";
  for (CkfExample& e : ex) e.answer = {7, 8};
  CkfStepActs acts;
  ckf_forward(model, mapper, cf, ex, acts, {});  // rows 2s, 2s+1: answer tokens of example s
  ModelLogits src(model, mapper, cf, false);
  std::vector<float> got(ex.size() * size_t(cfg.vocab));
  src.prompt_logits(ex, got.data());
  for (size_t s = 0; s < ex.size(); ++s)
    for (int v = 0; v < cfg.vocab; ++v)
      ASSERT_NEAR(got[s * cfg.vocab + v], acts.llama.logits.data<const float>()[(2 * s) * cfg.vocab + v], 1e-5)
          << "example " << s << " token " << v;
}

namespace {

// One topk sample of 2 candidates (num_candidates 3, the last padded) with hand-made prompt columns.
SampleTable topk_table() {
  SampleTable t;
  t.task = Task::Topk;
  t.split = Split::Test;
  t.history_len = 2;
  t.num_candidates = 3;
  const int32_t hist[2] = {1, -1};
  const float hr[2] = {4, 0};
  const int32_t cands[3] = {2, 0, -1};
  t.push(1, 0, 1.0f, hist, hr, cands);
  t.has_prompts = true;
  PromptColumns& p = t.prompts;
  p.placeholder_id = 30;
  p.soft.push(std::vector<int32_t>{1, 30, 4, 30});
  p.text.push(std::vector<int32_t>{1, 4, 5});
  p.answer.push(std::vector<int32_t>{});
  p.slot_position = {1, 3};
  p.slot_kind = {0, 1};
  p.slot_id = {1, 1};
  p.slot_offset = {0, 2};
  for (int c = 0; c < 3; ++c) {
    p.suffix_soft.push(std::vector<int32_t>{8, 30, int32_t(9 + c)});
    p.suffix_text.push(std::vector<int32_t>{8, int32_t(9 + c)});
    p.suffix_answer.push(std::vector<int32_t>{c == 1 ? 7 : 3});
    p.suffix_slot.push_back(1);
  }
  return t;
}

}  // namespace

TEST(CkfEvalInput, TopkPromptsAreThePrefixThenEachCandidatesSuffix) {
  const SampleTable t = topk_table();
  const std::vector<uint8_t> cold = {0, 1, 0};
  const EvalInput soft = eval_input_from_table(t, PromptVariant::soft, cold, -1);
  ASSERT_EQ(soft.samples.size(), 1u);
  const EvalSample& s = soft.samples[0];
  EXPECT_EQ(soft.width, 3);
  EXPECT_TRUE(s.cold);
  EXPECT_EQ(s.candidates, 2);
  EXPECT_EQ(s.prefix_len, 4);
  ASSERT_EQ(s.prompts.size(), 2u);
  EXPECT_EQ(s.prompts[1].prompt, (std::vector<int32_t>{1, 30, 4, 30, 8, 30, 10}));
  ASSERT_EQ(s.prompts[1].placeholders.size(), 3u);
  EXPECT_EQ(s.prompts[1].placeholders[0].kind, PlaceholderKind::user);
  EXPECT_EQ(s.prompts[1].placeholders[2].pos, 5);
  EXPECT_EQ(s.prompts[1].placeholders[2].id, 0);  // candidate 1 is item 0
  EXPECT_EQ(s.prompts[0].history, (std::vector<int32_t>{1}));
  EXPECT_EQ(s.prompts[0].task, "topk");
  EXPECT_EQ(s.items, (std::vector<int32_t>{2, 0}));  // the real candidates, for CF scoring

  const EvalInput text = eval_input_from_table(t, PromptVariant::text, {}, -1);
  EXPECT_FALSE(text.samples[0].cold);
  EXPECT_EQ(text.samples[0].prefix_len, 3);
  EXPECT_EQ(text.samples[0].prompts[0].prompt, (std::vector<int32_t>{1, 4, 5, 8, 9}));
  EXPECT_TRUE(text.samples[0].prompts[0].placeholders.empty());
  EXPECT_EQ(eval_input_from_table(t, PromptVariant::soft, {}, 0).samples.size(), 0u);

  const EvalInput ids = eval_input_from_table(t, PromptVariant::none, cold, -1);
  ASSERT_EQ(ids.samples.size(), 1u);
  EXPECT_TRUE(ids.samples[0].prompts.empty());
  EXPECT_EQ(ids.samples[0].items, (std::vector<int32_t>{2, 0}));
  EXPECT_EQ(ids.samples[0].label, 1.0f);
  EXPECT_TRUE(ids.samples[0].cold);
}

TEST(CkfEvalInput, AnswerCheckNamesTheMismatchingSample) {
  SampleTable t = topk_table();
  t.label[0] = 1;  // the answers say candidate 1 (Yes = 7, No = 3)
  AnswerTokens tokens = answer_tokens();
  answer_tokens_check(t, tokens, -1);
  tokens.yes = 8;
  try {
    answer_tokens_check(t, tokens, -1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("topk sample 0"), std::string::npos) << e.what();
  }
}

TEST(CkfEvalReport, JsonWritesNullForUndefinedMetricsAndReadsBack) {
  EvalTaskResult r;
  r.kind = EvalKind::ctr;
  r.groups = {EvalGroup{"all", 3, {{"auc", 0.1 + 0.2}}}, EvalGroup{"warm", 2, {{"auc", 0.75}}},
              EvalGroup{"cold", 1, {{"auc", std::nan("")}}}};
  const Json j = eval_report_json({"test", "soft", "ck", 5}, {r});
  const std::string text = json_write(j);
  const Json back = json_parse(text);
  const Json& ctr = back.at("tasks").at("ctr");
  EXPECT_EQ(ctr.at("all").at("auc").as_number(), 0.1 + 0.2);  // shortest round-trip form
  EXPECT_EQ(ctr.at("warm").at("samples").as_int64(), 2);
  EXPECT_TRUE(ctr.at("cold").at("auc").is_null());
  EXPECT_EQ(back.at("split").as_string(), "test");
  EXPECT_EQ(json_write(json_parse(text)), text);
  EXPECT_EQ(json_write(Json(std::string("a\"\n\x01"))), "\"a\\\"\\n\\u0001\"\n");
}

}  // namespace ckf::test
