// Tokenizes rendered prompts into a SampleTable's PromptColumns. Soft variant: the text between
// placeholders is tokenized segment by segment and every placeholder becomes one `placeholder_id`
// token (a token the segments never produce: checked). Text variant: the prompt with the
// placeholder spans removed, tokenized whole. Answers are tokenized alone. A BOS is prepended
// when the tokenizer adds one. Prompts longer than max_prompt_tokens (soft variant; topk: prefix
// plus its longest suffix) lose history items from the oldest side until they fit; a prompt that
// does not fit even without history is an error.
#pragma once
#include <cstdint>

#include "io/prompt_renderer.h"
#include "io/tokenizer.h"

namespace ckf {

struct PromptEncodeOptions {
  int32_t placeholder_id = -1;
  int32_t max_prompt_tokens = 320;
  int threads = 1;  // the result does not depend on it
};

struct PromptStats {
  int64_t samples = 0;
  int64_t tokens = 0;     // sum of soft prompt lengths (topk: prefix + longest suffix)
  int64_t max_tokens = 0;
  int64_t truncated = 0;  // samples that lost history items to fit
};

// Fills table.prompts (and sets has_prompts). Errors name the sample.
PromptStats prompt_encode(SampleTable& table, const Catalog& catalog, const PromptRenderer& renderer,
                          const Tokenizer& tokenizer, const PromptEncodeOptions& options);

}  // namespace ckf
