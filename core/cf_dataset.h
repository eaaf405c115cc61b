// What `ckf cf` needs from a dataset, in memory: training interactions and, per evaluation split,
// ctr samples, top-k samples and rating samples. Training and evaluation take only this struct,
// so they do not depend on the on-disk catalog/shard format.
// io/cf_dataset_load.h reads a dataset directory into one; core/cf_synthetic.h makes a synthetic one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ckf {

struct CfInteraction {
  int32_t user, item;
  float rating;
  int64_t time;
};

struct CfCtrSample {
  int32_t user, item;
  uint8_t label;  // 1 liked, 0 not
};

struct CfRatingSample {
  int32_t user, item;
  float rating;
};

struct CfEvalSplit {
  std::vector<CfCtrSample> ctr;
  int64_t topk_candidates = 0;      // candidates per top-k sample (1 positive + negatives)
  std::vector<int32_t> topk_users;  // (n_topk)
  std::vector<int32_t> topk_items;  // (n_topk, topk_candidates), the positive in column 0
  std::vector<CfRatingSample> rating;
};

struct CfDataset {
  std::string identity;  // names the data the embeddings belong to; stored in the embeddings file
  int64_t n_users = 0, n_items = 0;
  std::vector<CfInteraction> train;
  CfEvalSplit valid, test;
};

// Every id in range, top-k rows well formed, ratings finite; errors name the split and sample.
void cf_dataset_check(const CfDataset& data);

}  // namespace ckf
