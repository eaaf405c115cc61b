// Task sample generation (ids only, no text): for every interaction of a split, the samples of one
// task, drawn reproducibly from (seed, split, task, user) so the result does not depend on order or
// on how many threads generate it. Negatives are never items the user interacted with (any split).
#pragma once
#include <cstdint>
#include <functional>

#include "io/catalog.h"
#include "io/shard.h"

namespace ckf {

struct SampleOptions {
  uint64_t seed = 1;
  int32_t history_len = 10;       // most recent interactions before the target
  int32_t seq_candidates = 10;    // sequential: true next item + (seq_candidates - 1) negatives
  int32_t topk_candidates = 100;  // topk (valid, test): held-out positive + (topk_candidates - 1) negatives
  int32_t topk_train_negatives = 1;  // topk (train): the positive + this many negatives, each a Yes/No prompt
  int32_t ctr_negatives = 1;      // ctr: negatives per positive
  float positive_min = 4.0f;      // ctr and topk positives: rating >= positive_min
};

struct SampleStats {
  int64_t samples = 0;
  int64_t skipped = 0;  // targets dropped because the user left too few non-interacted items
};

// Generates (split, task) samples. emit(table) gets each full table of shard_size samples, then the
// remainder (never an empty table).
SampleStats samples_generate(const Catalog& catalog, Split split, Task task, const SampleOptions& options,
                             size_t shard_size, const std::function<void(const SampleTable&)>& emit);

}  // namespace ckf
