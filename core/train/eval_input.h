// Evaluation inputs from a SampleTable's tokenized prompts (schema v2), built by the trainer's
// train_examples_append: one CkfExample per prompt (topk: shared prefix + each candidate's
// suffix), in the soft variant (placeholders become soft tokens) or the text-only one, plus what
// the metrics need (label, user, cold flag, candidate count, topk prefix length).
#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "core/answer_tokens.h"
#include "core/ckf_eval.h"
#include "io/shard.h"
#include "io/tokenizer.h"

namespace ckf {

// none: ids, labels and users only, no prompts (for scoring with CF embeddings, core/cf_eval.h).
enum class PromptVariant : uint8_t { soft, text, none };
PromptVariant prompt_variant_parse(const std::string& name);  // "soft" | "text"

EvalKind eval_kind_of(Task t);

// The first max_samples samples (all when max_samples < 0). user_cold (U) flags cold users
// (catalog.h5's user_cold); empty: every user is warm. Examples run the adapters of task_name().
EvalInput eval_input_from_table(const SampleTable& table, PromptVariant variant, std::span<const uint8_t> user_cold,
                                int64_t max_samples);

// The first max_samples samples (all when < 0) of (split, task) over its shards in index order,
// each shard checked against the tokenizer the prompts were encoded with; tokens gets the answer
// tokens the scorer reads (checked against every sample's answer). Errors name the shard.
// Variant none (CF scoring) takes no tokenizer (null) and leaves tokens alone.
EvalInput eval_input_load(const std::string& data_dir, Split split, Task task, PromptVariant variant,
                          const Tokenizer* tok, std::span<const uint8_t> user_cold, int64_t max_samples,
                          AnswerTokens& tokens);

}  // namespace ckf
