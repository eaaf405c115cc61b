#include "core/ckf_logits.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "core/llama_decode.h"

namespace ckf {

void ModelLogits::prompt_logits(const std::vector<CkfExample>& examples, float* logits) {
  ckf_batch_build(model_, mapper_, cf_, examples, CkfOutputs::next_token, acts_);
  llama_forward(model_, acts_.batch, acts_.llama, LlamaRunMode{});
  llama_logits_gather(model_, acts_.llama, logits);
}

void ModelLogits::candidate_logits(const std::vector<CkfExample>& candidates, int prefix_len, float* logits) {
  CKF_CHECK(!candidates.empty(), "candidate_logits: no candidates");
  for (size_t j = 0; j < candidates.size(); ++j) {
    const CkfExample& c = candidates[j];
    CKF_CHECK(prefix_len >= 1 && int(c.prompt.size()) > prefix_len,
              "candidate " << j << ": prompt of " << c.prompt.size() << " tokens has no suffix after the shared prefix of "
                           << prefix_len);
    CKF_CHECK(c.task == candidates[0].task, "candidate " << j << ": task " << c.task << " != " << candidates[0].task);
    CKF_CHECK(std::equal(c.prompt.begin(), c.prompt.begin() + prefix_len, candidates[0].prompt.begin()),
              "candidate " << j << ": prefix differs from candidate 0's");
  }
  if (share_prefix_) decode_shared(candidates, prefix_len, logits);
  else prompt_logits(candidates, logits);
}

void ModelLogits::decode_shared(const std::vector<CkfExample>& candidates, int prefix_len, float* logits) {
  // The batch build gives every candidate's tokens and soft tokens; the decoder then walks them.
  ckf_batch_build(model_, mapper_, cf_, candidates, CkfOutputs::next_token, acts_);
  const LlamaBatch& b = acts_.batch;
  const int C = model_.config.d_model, V = vocab();
  std::vector<int> soft_row(size_t(b.B) * b.T, -1);  // (B, T) row of soft_vectors replacing a position
  for (size_t s = 0; s < b.soft.size(); ++s) soft_row[size_t(b.soft[s].seq) * b.T + b.soft[s].pos] = int(s);
  LlamaDecoder dec = llama_decoder_create(model_, candidates[0].task, b.T);
  std::vector<float> scratch(V);  // (V) logits of positions whose prediction is not wanted
  auto step = [&](int seq, int pos, float* out) {
    const int row = soft_row[size_t(seq) * b.T + pos];
    const float* soft = row >= 0 ? b.soft_vectors.data<const float>() + int64_t(row) * C : nullptr;
    llama_decode_step(model_, dec, b.tokens[size_t(seq) * b.T + pos], soft, out);
  };
  for (int pos = 0; pos < prefix_len; ++pos) step(0, pos, scratch.data());
  for (int j = 0; j < b.B; ++j) {
    llama_decoder_rewind(dec, prefix_len);
    for (int pos = prefix_len; pos < b.lengths[j]; ++pos)
      step(j, pos, pos + 1 == b.lengths[j] ? logits + int64_t(j) * V : scratch.data());
  }
}

}  // namespace ckf
