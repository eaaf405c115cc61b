#include "core/llama_score.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace ckf {

std::vector<float> llama_token_logprobs(const LlamaModel& model, const std::string& task,
                                        const std::vector<int32_t>& tokens) {
  const int n = int(tokens.size());
  CKF_CHECK(n >= 2, "score: need at least 2 tokens, got " << n);
  CKF_CHECK(n <= model.config.max_seq, "score: " << n << " tokens exceed the model's context " << model.config.max_seq);
  LlamaBatch batch;
  batch.B = 1;
  batch.T = n;
  batch.tokens = tokens;
  batch.lengths = {n};
  batch.tasks = {task};
  for (int p = 0; p + 1 < n; ++p) batch.outputs.push_back({0, p, tokens[p + 1]});
  LlamaActs acts;
  llama_forward(model, batch, acts, LlamaRunMode{});
  std::vector<float> out(n - 1);
  // The per-row cross-entropy is exactly -log p(target).
  for (int m = 0; m + 1 < n; ++m) out[m] = -acts.losses.data<const float>()[m];
  return out;
}

double Perplexity::ppl() const { return std::exp(nll / double(std::max<int64_t>(scored, 1))); }

Perplexity llama_perplexity(const LlamaModel& model, const std::string& task, const std::vector<int32_t>& tokens,
                            int ctx, int stride) {
  const int64_t n = int64_t(tokens.size());
  CKF_CHECK(n >= 2, "perplexity: need at least 2 tokens, got " << n);
  CKF_CHECK(ctx >= 2 && ctx <= model.config.max_seq,
            "perplexity: context " << ctx << " outside [2, " << model.config.max_seq << "]");
  // A window's first token is context only: stride < ctx keeps every later token inside some window.
  CKF_CHECK(stride >= 1 && stride < ctx, "perplexity: stride " << stride << " outside [1, ctx = " << ctx << ")");
  Perplexity p;
  int64_t scored_until = 1;  // tokens [1, scored_until) have a log-prob
  for (int64_t begin = 0; scored_until < n; begin += stride) {
    const int64_t end = std::min(n, begin + ctx);
    if (end <= scored_until) continue;
    std::vector<int32_t> window(tokens.begin() + begin, tokens.begin() + end);
    std::vector<float> lp = llama_token_logprobs(model, task, window);
    // lp[i] is the log-prob of global token begin + 1 + i.
    for (int64_t g = scored_until; g < end; ++g) p.nll -= double(lp[g - begin - 1]);
    p.scored += end - scored_until;
    scored_until = end;
  }
  return p;
}

}  // namespace ckf
