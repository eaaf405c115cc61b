// Per-token log-probs, sliding-window perplexity and greedy generation against the double-precision
// reference forward (llama_reference.h): log-softmax of the reference logits, windows chosen here
// independently of the implementation, argmax of the reference over the growing prefix.
#include "core/llama_score.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "core/llama_generate.h"
#include "llama_reference.h"

namespace ckf::test {
namespace {

std::vector<int32_t> random_tokens(const LlamaConfig& cfg, int n, uint64_t seed) {
  std::vector<int32_t> t(n);
  for (int i = 0; i < n; ++i) t[i] = int32_t(rng_mix(seed * 977 + i) % uint64_t(cfg.vocab));
  return t;
}

// Reference next-token logits (V) after tokens[0..len), for task "a".
Vec ref_next_logits(const RefModel& ref, const std::vector<int32_t>& tokens, int len) {
  LlamaBatch b;
  b.B = 1;
  b.T = len;
  b.tokens.assign(tokens.begin(), tokens.begin() + len);
  b.lengths = {len};
  b.tasks = {"a"};
  b.outputs = {{0, len - 1, kIgnoreTarget}};
  return ref_forward(ref, b, {}).logits[0];
}

double ref_logprob(const Vec& logits, int32_t target) {
  double mx = logits[0], z = 0.0;
  for (double v : logits) mx = std::max(mx, v);
  for (double v : logits) z += std::exp(v - mx);
  return logits[target] - mx - std::log(z);
}

class LlamaScore : public ::testing::TestWithParam<LlamaConfig> {};

// |ours - reference| <= 1e-4 per token (fp32 vs double through a 2-3 layer model).
TEST_P(LlamaScore, TokenLogprobsMatchReference) {
  const LlamaConfig cfg = GetParam();
  LlamaModel model = tiny_model(cfg, {"a"}, 5);
  RefModel ref = ref_from_model(model);
  std::vector<int32_t> tokens = random_tokens(cfg, 11, 3);
  std::vector<float> lp = llama_token_logprobs(model, "a", tokens);
  ASSERT_EQ(lp.size(), tokens.size() - 1);
  for (int i = 1; i < int(tokens.size()); ++i)
    EXPECT_NEAR(lp[i - 1], ref_logprob(ref_next_logits(ref, tokens, i), tokens[i]), 1e-4) << "token " << i;
  EXPECT_THROW(llama_token_logprobs(model, "a", {tokens[0]}), Error);
}

// Token g is scored by the first window [begin, begin + ctx) (begin a multiple of stride) that
// ends after it, with context tokens[begin..g).
TEST_P(LlamaScore, PerplexityWindowsMatchReference) {
  const LlamaConfig cfg = GetParam();
  LlamaModel model = tiny_model(cfg, {"a"}, 6);
  RefModel ref = ref_from_model(model);
  std::vector<int32_t> tokens = random_tokens(cfg, 23, 4);
  for (auto [ctx, stride] : {std::pair{6, 4}, std::pair{7, 6}, std::pair{5, 1}, std::pair{16, 8}}) {
    double nll = 0.0;
    for (int g = 1; g < int(tokens.size()); ++g) {
      int begin = 0;
      while (begin + ctx <= g) begin += stride;
      std::vector<int32_t> window(tokens.begin() + begin, tokens.end());
      nll -= ref_logprob(ref_next_logits(ref, window, g - begin), tokens[g]);
    }
    Perplexity p = llama_perplexity(model, "a", tokens, ctx, stride);
    EXPECT_EQ(p.scored, int64_t(tokens.size()) - 1);
    EXPECT_NEAR(p.nll, nll, 1e-4 * tokens.size()) << "ctx " << ctx << " stride " << stride;
    EXPECT_NEAR(p.ppl(), std::exp(nll / double(tokens.size() - 1)), 1e-3 * p.ppl());
  }
  EXPECT_THROW(llama_perplexity(model, "a", tokens, 6, 6), Error);
  EXPECT_THROW(llama_perplexity(model, "a", tokens, cfg.max_seq + 1, 1), Error);
}

TEST_P(LlamaScore, GreedyFollowsReferenceArgmaxAndStops) {
  const LlamaConfig cfg = GetParam();
  LlamaModel model = tiny_model(cfg, {"a"}, 7);
  RefModel ref = ref_from_model(model);
  std::vector<int32_t> seq = random_tokens(cfg, 3, 5);
  std::vector<int32_t> got = llama_generate_greedy(model, "a", seq, 6, -1);
  ASSERT_EQ(got.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    Vec logits = ref_next_logits(ref, seq, int(seq.size()));
    const int32_t want = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    EXPECT_EQ(got[i], want) << "generated token " << i;
    seq.push_back(want);
  }
  // Stopping at the third token's id returns the tokens before its first occurrence.
  const int32_t stop = got[2];
  std::vector<int32_t> stopped = llama_generate_greedy(model, "a", random_tokens(cfg, 3, 5), 6, stop);
  const size_t first = size_t(std::find(got.begin(), got.end(), stop) - got.begin());
  EXPECT_EQ(stopped, std::vector<int32_t>(got.begin(), got.begin() + first));
  EXPECT_THROW(llama_generate_greedy(model, "a", seq, cfg.max_seq, -1), Error);
  EXPECT_THROW(llama_generate_greedy(model, "a", {}, 1, -1), Error);
}

INSTANTIATE_TEST_SUITE_P(Configs, LlamaScore, ::testing::Values(tiny_config(), odd_config()));

}  // namespace
}  // namespace ckf::test
