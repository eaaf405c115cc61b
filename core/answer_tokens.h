// The answer tokens whose logits evaluation reads (core/ckf_eval.h): the first token of each
// answer, the scores being probabilities of how the answer starts.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace ckf {

struct AnswerTokens {
  int32_t yes = -1;                 // ctr, topk
  int32_t no = -1;
  std::array<int32_t, 5> digits{};  // rating: the tokens of "1".."5"
  std::vector<int32_t> letters;     // sequential: the tokens of "A", "B", ... (one per candidate)
};

}  // namespace ckf
