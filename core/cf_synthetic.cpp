#include "core/cf_synthetic.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <sstream>

#include "core/check.h"

namespace ckf {

CfDataset cf_synthetic_dataset(const CfSyntheticConfig& cfg) {
  CKF_CHECK(cfg.n_clusters >= 1 && cfg.n_items >= cfg.n_clusters, "synthetic: need n_items >= n_clusters >= 1");
  CKF_CHECK(cfg.per_user >= 5 && cfg.per_user * cfg.n_clusters <= cfg.n_items,
            "synthetic: per_user " << cfg.per_user << " must be >= 5 and fit in one cluster of "
                                   << cfg.n_items / cfg.n_clusters << " items");
  CKF_CHECK(cfg.n_items - cfg.per_user >= cfg.topk_negatives + 2,
            "synthetic: too few items for " << cfg.topk_negatives << " top-k negatives");
  std::mt19937_64 rng(cfg.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> noise(0.0, 0.5);
  std::uniform_int_distribution<int32_t> any_item(0, int32_t(cfg.n_items - 1));
  std::vector<double> item_bias(cfg.n_items);  // (n_items)
  for (double& b : item_bias) b = 2.0 * unit(rng) - 1.0;

  CfDataset d;
  std::ostringstream id;
  id << "synthetic(users=" << cfg.n_users << ",items=" << cfg.n_items << ",clusters=" << cfg.n_clusters
     << ",per_user=" << cfg.per_user << ",seed=" << cfg.seed << ")";
  d.identity = id.str();
  d.n_users = cfg.n_users, d.n_items = cfg.n_items;
  d.valid.topk_candidates = d.test.topk_candidates = cfg.topk_negatives + 1;
  const int64_t per_cluster = cfg.n_items / cfg.n_clusters;
  for (int32_t u = 0; u < cfg.n_users; ++u) {
    const int64_t cluster = u % cfg.n_clusters;
    std::set<int32_t> seen;
    std::vector<int32_t> items;
    while (int64_t(items.size()) < cfg.per_user) {
      int32_t i = unit(rng) < cfg.off_cluster
                      ? any_item(rng)
                      : int32_t(cluster + cfg.n_clusters * std::uniform_int_distribution<int64_t>(0, per_cluster - 1)(rng));
      if (seen.insert(i).second) items.push_back(i);
    }
    auto rating_of = [&](int32_t i) {
      double r = 3.0 + (i % cfg.n_clusters == cluster ? 1.0 : -1.0) + item_bias[i] + noise(rng);
      return float(std::clamp(std::round(r), 1.0, 5.0));
    };
    auto negative = [&] {
      int32_t i;
      do i = any_item(rng); while (seen.count(i));
      return i;
    };
    const int64_t n_train = cfg.per_user - 4;
    for (int64_t k = 0; k < n_train; ++k) d.train.push_back({u, items[k], rating_of(items[k]), k});
    for (int s = 0; s < 2; ++s) {
      CfEvalSplit& split = s == 0 ? d.valid : d.test;
      int32_t pos[2] = {items[n_train + 2 * s], items[n_train + 2 * s + 1]};
      for (int32_t p : pos) {
        split.ctr.push_back({u, p, 1});
        split.ctr.push_back({u, negative(), 0});
        split.rating.push_back({u, p, rating_of(p)});
      }
      split.topk_users.push_back(u);
      split.topk_items.push_back(pos[0]);
      std::set<int32_t> drawn;
      while (int64_t(drawn.size()) < cfg.topk_negatives) {
        int32_t i = negative();
        if (drawn.insert(i).second) split.topk_items.push_back(i);
      }
    }
  }
  return d;
}

}  // namespace ckf
