// Log-likelihood of a token sequence under the model: per-token log-probabilities from one
// forward pass, and perplexity of a long sequence over sliding windows.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/llama_model.h"

namespace ckf {

// (n-1): log p(tokens[i] | tokens[0..i)) for i = 1..n-1; 2 <= n <= config.max_seq.
std::vector<float> llama_token_logprobs(const LlamaModel& model, const std::string& task,
                                        const std::vector<int32_t>& tokens);

struct Perplexity {
  double nll = 0.0;    // sum of -log p over the scored tokens
  int64_t scored = 0;  // tokens scored: all but the first
  double ppl() const;  // exp(nll / scored)
};

// Windows of ctx tokens advancing by stride (1 <= stride < ctx); each window scores only the
// tokens no earlier window scored, so every token after the first is scored once, with at least
// ctx - stride tokens of context once the sequence is longer than ctx.
Perplexity llama_perplexity(const LlamaModel& model, const std::string& task, const std::vector<int32_t>& tokens,
                            int ctx, int stride);

}  // namespace ckf
