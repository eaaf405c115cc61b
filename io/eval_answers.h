// The answer tokens evaluation reads, from the tokenizer the prompts were encoded with, and a check
// that a SampleTable's own answers are exactly those tokens (catches a tokenizer or template
// mismatch before any metric is computed).
#pragma once
#include <cstdint>

#include "core/answer_tokens.h"
#include "io/shard.h"
#include "io/tokenizer.h"

namespace ckf {

// The first token of "Yes", "No", "1".."5" and letters "A".. (n_letters) tokenized alone, as
// io/prompt_encode.h tokenizes answers. An answer of several tokens is scored by its first, so the
// competing answers must differ in it (checked).
AnswerTokens answer_tokens_from(const Tokenizer& tokenizer, int n_letters);

// Every answer of the table's first max_samples samples (all when < 0) starts with the token the
// scorer reads for its label (ctr Yes/No, rating digit, sequential letter, topk Yes/No per candidate).
void answer_tokens_check(const SampleTable& table, const AnswerTokens& tokens, int64_t max_samples);

}  // namespace ckf
