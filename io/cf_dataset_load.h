// Adapter from a dataset directory made by `ckf prep` to core/cf_dataset.h: the catalog's train
// interactions, and per evaluation split the ctr, topk and rating shards (topk rows reordered so
// the held-out positive is column 0, as CfEvalSplit wants). Tasks without shards stay empty.
#pragma once
#include <filesystem>

#include "core/cf_dataset.h"

namespace ckf {

// identity: "ckf-dataset(source=S,users=U,items=I,seed=N,fnv1a64:<hex of the catalog's interactions>)".
// Errors name the file; the result passes cf_dataset_check.
CfDataset cf_dataset_load(const std::filesystem::path& dir);

}  // namespace ckf
