// Greedy decoding: the prompt goes through the KV-cache decoder one token at a time, then the
// argmax token is appended until max_new tokens or the stop token.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/llama_model.h"

namespace ckf {

// The generated ids, without the prompt and without the stop token (stop_id < 0: none). The
// prompt (non-empty) plus max_new must fit in config.max_seq. Ties go to the lowest id.
std::vector<int32_t> llama_generate_greedy(const LlamaModel& model, const std::string& task,
                                           const std::vector<int32_t>& prompt, int max_new, int32_t stop_id);

}  // namespace ckf
