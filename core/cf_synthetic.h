// A dataset with planted collaborative structure, for tests and for `ckf cf --synthetic`: users
// and items fall into clusters (id % n_clusters) and users mostly interact with their own
// cluster's items, so a CF model that learns anything ranks held-out positives above random items.
#pragma once
#include <cstdint>

#include "core/cf_dataset.h"

namespace ckf {

struct CfSyntheticConfig {
  int64_t n_users = 600, n_items = 400, n_clusters = 8;
  int64_t per_user = 24;        // interactions per user; the last 4 (by time) are held out
  double off_cluster = 0.1;     // probability that an interaction goes to a random item instead
  int64_t topk_negatives = 99;  // negatives per top-k sample
  uint64_t seed = 1;
};

// Per user: 2 interactions held out for valid and 2 for test. Each split has, per user, the two
// held-out positives and two non-interacted negatives as ctr samples, one top-k sample (first
// positive + topk_negatives non-interacted items) and the positives as rating samples. Ratings
// are 1..5: higher in-cluster, plus a per-item bias and noise.
CfDataset cf_synthetic_dataset(const CfSyntheticConfig& cfg);

}  // namespace ckf
