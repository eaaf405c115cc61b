// cf_dataset_load on a dataset directory built from the tiny MovieLens fixture (catalog + valid/test
// shards written here): train interactions equal the catalog's train split, and ctr / rating /
// topk samples equal the shards' contents with the topk positive moved to column 0.
#include <gtest/gtest.h>

#include <filesystem>
#include <list>

#include "core/check.h"
#include "io/catalog.h"
#include "io/cf_dataset_load.h"
#include "io/samples.h"

using namespace ckf;
namespace fs = std::filesystem;

namespace {

fs::path make_dataset(Catalog& c) {
  fs::path dir = fs::path(testing::TempDir()) / "cf_dataset_load";
  fs::remove_all(dir);
  CatalogOptions co;
  co.source = "movielens-latest";
  c = catalog_build(raw_read_movielens_latest(std::string(CKF_TEST_DATA_DIR) + "/raw/ml-latest-tiny"), co);
  fs::create_directories(dir);
  catalog_write(c, dir / "catalog.h5");
  SampleOptions o;
  o.seed = 5;
  o.seq_candidates = o.topk_candidates = 2;
  o.positive_min = 0.5f;  // every rating positive: the fixture's valid/test ratings are all below 4
  for (Split s : {Split::Train, Split::Valid, Split::Test})
    for (Task t : kAllTasks) {
      ShardInfo info{0, o.seed, c.num_users(), c.num_items(), ""};
      samples_generate(c, s, t, o, 1, [&](const SampleTable& table) {  // one sample per shard: several files
        fs::path f = shard_path(dir, s, t, info.index++);
        fs::create_directories(f.parent_path());
        shard_write(table, info, f);
      });
    }
  return dir;
}

// All samples of (split, task), concatenated over the shard files (views into keep's tables).
std::vector<SampleView> samples_of(const fs::path& dir, Split s, Task t, std::list<SampleTable>& keep) {
  std::vector<SampleView> out;
  for (const fs::path& f : shard_list(dir, s, t)) {
    const SampleTable& table = keep.emplace_back(shard_read(f));
    for (size_t i = 0; i < table.size(); ++i) out.push_back(table.at(i));
  }
  return out;
}

}  // namespace

TEST(CfDatasetLoad, MatchesCatalogAndShards) {
  Catalog c;
  fs::path dir = make_dataset(c);
  CfDataset d = cf_dataset_load(dir);
  EXPECT_EQ(d.n_users, c.num_users());
  EXPECT_EQ(d.n_items, c.num_items());
  EXPECT_NE(d.identity.find("source=movielens-latest"), std::string::npos) << d.identity;
  EXPECT_NE(d.identity.find("seed=5"), std::string::npos) << d.identity;

  size_t k = 0;
  for (size_t j = 0; j < c.size(); ++j) {
    if (c.split[j] != int8_t(Split::Train)) continue;
    ASSERT_LT(k, d.train.size());
    EXPECT_EQ(d.train[k].user, c.user[j]);
    EXPECT_EQ(d.train[k].item, c.item[j]);
    EXPECT_EQ(d.train[k].rating, c.rating[j]);
    EXPECT_EQ(d.train[k].time, c.timestamp[j]);
    ++k;
  }
  EXPECT_EQ(k, d.train.size());
  EXPECT_EQ(k, c.count(Split::Train));

  for (Split s : {Split::Valid, Split::Test}) {
    SCOPED_TRACE(split_name(s));
    const CfEvalSplit& e = s == Split::Valid ? d.valid : d.test;
    std::list<SampleTable> keep;
    std::vector<SampleView> ctr = samples_of(dir, s, Task::Ctr, keep);
    ASSERT_EQ(e.ctr.size(), ctr.size());
    ASSERT_GT(ctr.size(), 0u);
    for (size_t i = 0; i < ctr.size(); ++i) {
      EXPECT_EQ(e.ctr[i].user, ctr[i].user);
      EXPECT_EQ(e.ctr[i].item, ctr[i].target);
      EXPECT_EQ(float(e.ctr[i].label), ctr[i].label);
    }
    std::vector<SampleView> rating = samples_of(dir, s, Task::Rating, keep);
    ASSERT_EQ(e.rating.size(), rating.size());
    for (size_t i = 0; i < rating.size(); ++i) {
      EXPECT_EQ(e.rating[i].user, rating[i].user);
      EXPECT_EQ(e.rating[i].item, rating[i].target);
      EXPECT_EQ(e.rating[i].rating, rating[i].label);
    }
    std::vector<SampleView> topk = samples_of(dir, s, Task::Topk, keep);
    ASSERT_EQ(e.topk_users.size(), topk.size());
    ASSERT_GT(topk.size(), 0u);
    ASSERT_EQ(e.topk_candidates, 2);
    for (size_t i = 0; i < topk.size(); ++i) {
      EXPECT_EQ(e.topk_users[i], topk[i].user);
      EXPECT_EQ(e.topk_items[2 * i], topk[i].target);
      EXPECT_EQ(e.topk_items[2 * i + 1], topk[i].candidates[1 - size_t(topk[i].label)]);
    }
  }
}

TEST(CfDatasetLoad, MissingCatalogNamed) {
  fs::path dir = fs::path(testing::TempDir()) / "cf_dataset_load_empty";
  fs::create_directories(dir);
  try {
    cf_dataset_load(dir);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds no catalog.h5"), std::string::npos) << e.what();
  }
}
