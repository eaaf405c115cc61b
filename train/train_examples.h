// Training examples from decoded samples: one CkfExample per sample (ctr, sequential, rating), or
// per candidate for topk (pointwise: the shared prefix followed by one candidate's suffix, answered
// "Yes" for the held-out positive and "No" otherwise). The soft variant carries the sample's
// placeholder slots; the text variant is the titles-only prompt with no placeholders.
#pragma once
#include <cstddef>
#include <vector>

#include "core/ckf_step.h"
#include "io/shard.h"

namespace ckf {

// Appends the examples of row `row` of `table` (which must hold prompts) to `out`. Throws naming
// the task and row when the row has no prompt or no answer, or a placeholder slot lies outside it.
void train_examples_append(const SampleTable& table, size_t row, bool soft, std::vector<CkfExample>& out);

}  // namespace ckf
