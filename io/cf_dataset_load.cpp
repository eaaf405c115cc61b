#include "io/cf_dataset_load.h"

#include <cstdio>
#include <sstream>

#include "core/check.h"
#include "core/hash.h"
#include "io/catalog.h"
#include "io/shard.h"

namespace ckf {

namespace fs = std::filesystem;

namespace {

// Calls fn(table) for every shard of (split, task), checking each against the catalog's sizes.
template <class Fn>
void for_each_shard(const fs::path& dir, const Catalog& c, Split split, Task task, uint64_t* seed, Fn fn) {
  for (const fs::path& file : shard_list(dir, split, task)) {
    ShardInfo info;
    SampleTable t = shard_read(file, &info);
    CKF_CHECK(info.num_users == c.num_users() && info.num_items == c.num_items(),
              file.string() << " refers to " << info.num_users << " users and " << info.num_items
                            << " items, the catalog has " << c.num_users() << " and " << c.num_items());
    CKF_CHECK(t.task == task && t.split == split, file.string() << " holds " << split_name(t.split) << "/"
                                                                << task_name(t.task) << " samples");
    *seed = info.seed;
    fn(file, t);
  }
}

void load_split(const fs::path& dir, const Catalog& c, Split split, CfEvalSplit& out, uint64_t* seed) {
  for_each_shard(dir, c, split, Task::Ctr, seed, [&](const fs::path&, const SampleTable& t) {
    for (size_t i = 0; i < t.size(); ++i) out.ctr.push_back({t.user[i], t.target[i], uint8_t(t.label[i] > 0.5f)});
  });
  for_each_shard(dir, c, split, Task::Rating, seed, [&](const fs::path&, const SampleTable& t) {
    for (size_t i = 0; i < t.size(); ++i) out.rating.push_back({t.user[i], t.target[i], t.label[i]});
  });
  for_each_shard(dir, c, split, Task::Topk, seed, [&](const fs::path& file, const SampleTable& t) {
    CKF_CHECK(out.topk_candidates == 0 || out.topk_candidates == t.num_candidates,
              file.string() << " has " << t.num_candidates << " candidates per sample, earlier shards "
                            << out.topk_candidates);
    out.topk_candidates = t.num_candidates;
    for (size_t i = 0; i < t.size(); ++i) {
      SampleView v = t.at(i);
      CKF_CHECK(v.candidates.size() == size_t(t.num_candidates) && v.label >= 0 &&
                    size_t(v.label) < v.candidates.size() && v.candidates[size_t(v.label)] == v.target,
                file.string() << ": topk sample " << i << " is not a full candidate list holding its target at label");
      out.topk_users.push_back(v.user);
      out.topk_items.push_back(v.target);
      for (size_t j = 0; j < v.candidates.size(); ++j)
        if (j != size_t(v.label)) out.topk_items.push_back(v.candidates[j]);
    }
  });
}

}  // namespace

CfDataset cf_dataset_load(const fs::path& dir) {
  fs::path catalog_file = dir / "catalog.h5";
  CKF_CHECK(fs::is_regular_file(catalog_file), "--data " << dir.string() << " holds no catalog.h5 (made by ckf prep)");
  Catalog c = catalog_read(catalog_file);
  CfDataset d;
  d.n_users = c.num_users(), d.n_items = c.num_items();
  for (size_t k = 0; k < c.size(); ++k)
    if (c.split[k] == int8_t(Split::Train)) d.train.push_back({c.user[k], c.item[k], c.rating[k], c.timestamp[k]});
  uint64_t seed = 0;
  load_split(dir, c, Split::Valid, d.valid, &seed);
  load_split(dir, c, Split::Test, d.test, &seed);

  uint64_t h = fnv1a64(c.user.data(), c.user.size() * sizeof(int32_t));
  h = fnv1a64(c.item.data(), c.item.size() * sizeof(int32_t), h);
  h = fnv1a64(c.split.data(), c.split.size(), h);
  std::ostringstream id;
  id << "ckf-dataset(source=" << c.source << ",users=" << d.n_users << ",items=" << d.n_items << ",seed=" << seed
     << ",fnv1a64:" << hex64(h) << ")";
  d.identity = id.str();
  cf_dataset_check(d);
  return d;
}

}  // namespace ckf
