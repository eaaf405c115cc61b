// Resharding: a rank rebuilds its slice of a global tensor from whatever slices a checkpoint holds
// (saved with another TP size, or by other replicas), by global offsets. Every saved shard and the
// target are boxes in the global index space; the target copies each intersection. Replicated
// shards overlap; the first one read wins and later copies of elements already filled are skipped.
#pragma once
#include <functional>
#include <vector>

#include "core/param.h"
#include "io/checkpoint_manifest.h"

namespace ckf {

// Reads the data (shape ref.shape) of one saved shard of the tensor being filled.
using ShardLoader = std::function<std::vector<float>(const ShardRef& ref)>;

// Fills target.value from the shards of `entry`. Throws naming the tensor when the global shapes
// differ, a shard's box lies outside the global tensor, or the shards do not cover the target.
void reshard_fill(Param& target, const TensorEntry& entry, const ShardLoader& load);

}  // namespace ckf
