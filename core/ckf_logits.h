// Where evaluation gets its next-token logits: an interface, so the scoring math is testable with
// fixed logits, and its model-backed implementation (mapper soft tokens + the LLaMA decoder).
#pragma once
#include <cstdint>
#include <vector>

#include "core/ckf_step.h"

namespace ckf {

class LogitsSource {
 public:
  virtual ~LogitsSource() = default;
  virtual int vocab() const = 0;
  // logits (n, V): the next-token logits after the prompt of each of the n examples (answers unused).
  virtual void prompt_logits(const std::vector<CkfExample>& examples, float* logits) = 0;
  // logits (n, V) for n candidate prompts that share their first prefix_len tokens (and the
  // placeholders among them): same values as prompt_logits, but the prefix may be computed once.
  virtual void candidate_logits(const std::vector<CkfExample>& candidates, int prefix_len, float* logits) = 0;
};

// The CKF model. candidate_logits either shares the prefix's KV cache (share_prefix: the prefix
// runs once through the incremental decoder, then each candidate's suffix; P + n*S token steps)
// or runs all candidates as one batch (n*(P+S) tokens through the batched forward).
class ModelLogits : public LogitsSource {
 public:
  ModelLogits(const LlamaModel& model, const Mapper& mapper, const CfTables& cf, bool share_prefix)
      : model_(model), mapper_(mapper), cf_(cf), share_prefix_(share_prefix) {}
  int vocab() const override { return model_.config.vocab; }
  void prompt_logits(const std::vector<CkfExample>& examples, float* logits) override;
  void candidate_logits(const std::vector<CkfExample>& candidates, int prefix_len, float* logits) override;

 private:
  void decode_shared(const std::vector<CkfExample>& candidates, int prefix_len, float* logits);

  const LlamaModel& model_;
  const Mapper& mapper_;
  const CfTables& cf_;
  bool share_prefix_;
  CkfStepActs acts_;
};

}  // namespace ckf
