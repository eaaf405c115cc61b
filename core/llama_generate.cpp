#include "core/llama_generate.h"

#include <algorithm>

#include "core/check.h"
#include "core/llama_decode.h"

namespace ckf {

std::vector<int32_t> llama_generate_greedy(const LlamaModel& model, const std::string& task,
                                           const std::vector<int32_t>& prompt, int max_new, int32_t stop_id) {
  const LlamaConfig& cfg = model.config;
  CKF_CHECK(!prompt.empty(), "generate: the prompt has no tokens");
  CKF_CHECK(max_new >= 0, "generate: max_new " << max_new << " must be >= 0");
  CKF_CHECK(int64_t(prompt.size()) + max_new <= cfg.max_seq, "generate: prompt of " << prompt.size() << " tokens + "
                                                                                    << max_new << " new exceeds the model's context "
                                                                                    << cfg.max_seq);
  std::vector<int32_t> out;
  if (max_new == 0) return out;
  LlamaDecoder dec = llama_decoder_create(model, task, int(prompt.size()) + max_new);
  std::vector<float> logits(cfg.vocab);  // (V)
  for (int32_t t : prompt) llama_decode_step(model, dec, t, nullptr, logits.data());
  while (true) {
    const int32_t next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (next == stop_id) break;
    out.push_back(next);
    if (int(out.size()) == max_new) break;
    llama_decode_step(model, dec, next, nullptr, logits.data());
  }
  return out;
}

}  // namespace ckf
