// Deterministic CKF evaluation of one task: every sample's prompt(s) go through a LogitsSource,
// the logits at the answer position become a score, and the scores become the task's metrics,
// overall and for warm and cold users. Scoring works on fixed blocks of samples, block k on rank
// k % ranks, so a sample's score does not depend on the rank count; the caller gathers the blocks
// (dist/gather_blocks.h) and computes the metrics from the scores in sample order.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/answer_tokens.h"
#include "core/ckf_logits.h"

namespace ckf {

enum class EvalKind : uint8_t { ctr, rating, sequential, topk };
const char* eval_kind_name(EvalKind k);

struct EvalSample {
  // ctr, rating, sequential: one prompt. topk: one prompt per candidate (shared prefix + suffix).
  std::vector<CkfExample> prompts;
  int prefix_len = 0;    // topk: tokens shared by all of prompts
  int candidates = 0;    // sequential, topk: real candidates (<= EvalInput::width)
  int32_t user = 0;
  // ctr, rating: the item asked about (1); sequential, topk: the candidates' item ids (candidates).
  std::vector<int32_t> items;
  bool cold = false;
  float label = 0;     // ctr: 1 or 0; rating: the true rating; sequential, topk: index of the true candidate
};

struct EvalInput {
  EvalKind kind = EvalKind::ctr;
  int width = 1;  // scores per sample: 1 (ctr, rating) or the candidate count (sequential, topk)
  std::vector<EvalSample> samples;
};

// ctr, topk: P(Yes) / (P(Yes) + P(No)) from logits (V).
float score_yes(const float* logits, const AnswerTokens& t);
// rating: the expected rating under the softmax restricted to the five digit tokens.
float score_rating(const float* logits, const AnswerTokens& t);

// Scores of the blocks this rank owns, block after block: (ceil(blocks / ranks) * block, width),
// the rows past the last sample of the last block left at 0. Sequential: the candidate letters'
// logits (the lowest float for letters past a sample's candidates); topk: score_yes per candidate.
std::vector<float> eval_score_blocks(LogitsSource& source, const EvalInput& input, const AnswerTokens& tokens,
                                     int block, int rank, int ranks);

// A metric value: NaN when the group cannot define it (one class only for AUC, no samples).
struct EvalGroup {
  std::string name;  // "all" | "warm" | "cold"
  int64_t samples = 0;
  std::vector<std::pair<std::string, double>> metrics;  // e.g. {"auc", 0.71}
};

struct EvalTaskResult {
  EvalKind kind = EvalKind::ctr;
  std::array<EvalGroup, 3> groups;  // all, warm, cold
};

// scores (N, width) in sample order. ctr: auc, uauc; rating: rmse, mae; sequential: hr@1, hr@5,
// ndcg@5; topk: hr@10, ndcg@10 (ties ranked pessimistically, core/metrics.h).
EvalTaskResult eval_metrics(const EvalInput& input, std::span<const float> scores);

}  // namespace ckf
