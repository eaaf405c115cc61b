// Task samples: every sample checked against a naive per-interaction reference (which targets,
// which history), negatives never interacted, reproducibility from the seed, shard files.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>

#include "core/check.h"
#include "io/samples.h"
#include "test_util.h"

using namespace ckf;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  fs::path d = fs::path(testing::TempDir()) / ("samples_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// 40 users over 60 items with random histories of 3..24 items; user "heavy" rated 41 items (the
// sampler's complement path) and user "full" 57 (too few negatives for 20 candidates).
Catalog random_catalog(SplitKind split) {
  std::mt19937 gen(7);
  RawDataset d;
  auto add_user = [&](const std::string& u, size_t n) {
    std::vector<int> items(60);
    for (int i = 0; i < 60; ++i) items[size_t(i)] = i;
    std::shuffle(items.begin(), items.end(), gen);
    for (size_t k = 0; k < n; ++k) {
      d.user.push_back(d.users.intern(u));
      d.item.push_back(d.items.intern("m" + std::to_string(items[k])));
      d.rating.push_back(0.5f * float(1 + gen() % 10));
      d.timestamp.push_back(int64_t(gen() % 100000));
    }
  };
  for (int u = 0; u < 40; ++u) add_user("u" + std::to_string(u), 3 + gen() % 22);
  add_user("heavy", 41);
  add_user("full", 57);
  add_user("short", 1);
  CatalogOptions opt;
  opt.split = split;
  return catalog_build(d, opt);
}

struct Generated {
  std::vector<SampleTable> shards;
  SampleStats stats;
};

Generated generate(const Catalog& c, Split s, Task t, const SampleOptions& o, size_t shard_size) {
  Generated g;
  g.stats = samples_generate(c, s, t, o, shard_size, [&](const SampleTable& table) { g.shards.push_back(table); });
  return g;
}

SampleOptions test_options(uint64_t seed) {
  SampleOptions o;
  o.seed = seed;
  o.history_len = 4;
  o.seq_candidates = 10;
  o.topk_candidates = 20;
  o.ctr_negatives = 2;
  o.topk_train_negatives = 3;
  return o;
}

}  // namespace

TEST(Samples, MatchNaiveReference) {
  int64_t total_skipped = 0;
  for (SplitKind kind : {SplitKind::LeaveOneOut, SplitKind::Temporal}) {
    Catalog c = random_catalog(kind);
    SampleOptions o = test_options(11);
    for (Split s : {Split::Train, Split::Valid, Split::Test}) {
      for (Task t : kAllTasks) {
        SCOPED_TRACE(std::string(split_name(s)) + "/" + task_name(t));
        const size_t shard_size = 37;
        Generated g = generate(c, s, t, o, shard_size);
        std::vector<SampleView> got;
        for (size_t k = 0; k < g.shards.size(); ++k) {
          EXPECT_EQ(g.shards[k].size(), k + 1 < g.shards.size() ? shard_size : g.shards[k].size());
          EXPECT_GT(g.shards[k].size(), 0u);
          for (size_t i = 0; i < g.shards[k].size(); ++i) got.push_back(g.shards[k].at(i));
        }
        EXPECT_EQ(int64_t(got.size()), g.stats.samples);

        // Reference: walk every interaction of the split, in (user, time) order.
        size_t next = 0;
        int64_t skipped = 0;
        for (int32_t u = 0; u < c.num_users(); ++u) {
          int64_t b = c.user_offset[size_t(u)], e = c.user_offset[size_t(u) + 1];
          std::set<int32_t> seen(c.item.begin() + b, c.item.begin() + e);
          size_t free = size_t(c.num_items()) - seen.size();
          for (int64_t k = b; k < e; ++k) {
            if (c.split[size_t(k)] != int8_t(s)) continue;
            bool positive = c.rating[size_t(k)] >= 4.0f;
            int want = 0;      // samples this interaction yields
            size_t negs = 0;   // negatives it needs
            if (t == Task::Rating) want = 1;
            if (t == Task::Ctr && positive) want = 3, negs = 2;
            if (t == Task::Sequential && k > b) want = 1, negs = 9;
            if (t == Task::Topk && positive) want = 1, negs = s == Split::Train ? 3 : 19;
            if (want && negs > free) {
              ++skipped;
              continue;
            }
            for (int j = 0; j < want; ++j) {
              ASSERT_LT(next, got.size());
              const SampleView& v = got[next++];
              EXPECT_EQ(v.task, t);
              EXPECT_EQ(v.user, u);
              // History: the (up to) 4 interactions right before k, oldest first, with ratings.
              int64_t h0 = std::max(b, k - 4);
              ASSERT_EQ(v.history.size(), size_t(k - h0));
              for (int64_t h = h0; h < k; ++h) {
                EXPECT_EQ(v.history[size_t(h - h0)], c.item[size_t(h)]);
                EXPECT_EQ(v.history_rating[size_t(h - h0)], c.rating[size_t(h)]);
              }
              if (t == Task::Rating) {
                EXPECT_EQ(v.target, c.item[size_t(k)]);
                EXPECT_EQ(v.label, c.rating[size_t(k)]);
                EXPECT_TRUE(v.candidates.empty());
              } else if (t == Task::Ctr) {
                EXPECT_EQ(v.label, j == 0 ? 1.0f : 0.0f);
                if (j == 0) EXPECT_EQ(v.target, c.item[size_t(k)]);
                else EXPECT_FALSE(seen.count(v.target)) << "ctr negative " << v.target << " was interacted";
              } else {
                ASSERT_EQ(v.candidates.size(), negs + 1);
                EXPECT_EQ(v.target, c.item[size_t(k)]);
                ASSERT_GE(v.label, 0.0f);
                ASSERT_LT(size_t(v.label), v.candidates.size());
                EXPECT_EQ(v.candidates[size_t(v.label)], v.target);
                std::set<int32_t> distinct(v.candidates.begin(), v.candidates.end());
                EXPECT_EQ(distinct.size(), v.candidates.size());
                for (size_t q = 0; q < v.candidates.size(); ++q)
                  if (q != size_t(v.label)) EXPECT_FALSE(seen.count(v.candidates[q])) << "candidate was interacted";
              }
            }
          }
        }
        EXPECT_EQ(next, got.size());
        EXPECT_EQ(g.stats.skipped, skipped);
        total_skipped += skipped;
      }
    }
  }
  EXPECT_GT(total_skipped, 0);  // user "full" must have exercised the too-few-negatives path
}

TEST(Samples, ReproducibleFromSeed) {
  Catalog c = random_catalog(SplitKind::LeaveOneOut);
  auto flat = [&](uint64_t seed, Task t) {
    Generated g = generate(c, Split::Train, t, test_options(seed), 1000000);
    return g.shards.empty() ? std::vector<int32_t>{} : t == Task::Ctr ? g.shards[0].target : g.shards[0].candidates;
  };
  for (Task t : {Task::Ctr, Task::Sequential, Task::Topk}) {
    std::vector<int32_t> a = flat(5, t);
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(a, flat(5, t)) << task_name(t);
    EXPECT_NE(a, flat(6, t)) << task_name(t);
  }
  // The target's position in the candidate list is spread out, not always first.
  Generated g = generate(c, Split::Train, Task::Sequential, test_options(5), 1000000);
  std::set<float> positions(g.shards[0].label.begin(), g.shards[0].label.end());
  EXPECT_EQ(positions.size(), 10u);
}

TEST(Samples, ShardFileRoundTripAndValidation) {
  fs::path dir = scratch("shards");
  Catalog c = random_catalog(SplitKind::LeaveOneOut);
  Generated g = generate(c, Split::Valid, Task::Topk, test_options(3), 1000);
  ASSERT_EQ(g.shards.size(), 1u);
  const SampleTable& t = g.shards[0];
  ShardInfo info{0, 3, c.num_users(), c.num_items(), ""};
  fs::path p = shard_path(dir, Split::Valid, Task::Topk, 0);
  EXPECT_EQ(p, dir / "valid" / "topk" / "shard-00000.h5");
  fs::create_directories(p.parent_path());
  shard_write(t, info, p);
  ShardInfo back;
  SampleTable r = shard_read(p, &back);
  EXPECT_EQ(r.task, Task::Topk);
  EXPECT_EQ(r.split, Split::Valid);
  EXPECT_EQ(r.history_len, 4);
  EXPECT_EQ(r.num_candidates, 20);
  EXPECT_EQ(r.user, t.user);
  EXPECT_EQ(r.target, t.target);
  EXPECT_EQ(r.label, t.label);
  EXPECT_EQ(r.history, t.history);
  EXPECT_EQ(r.history_rating, t.history_rating);
  EXPECT_EQ(r.candidates, t.candidates);
  EXPECT_EQ(back.seed, 3u);
  EXPECT_EQ(back.num_items, c.num_items());
  EXPECT_EQ(shard_list(dir, Split::Valid, Task::Topk), std::vector<fs::path>{p});
  EXPECT_TRUE(shard_list(dir, Split::Test, Task::Topk).empty());

  // A shard from the future (newer than kShardSchemaVersion = 2) is refused before anything else is read.
  fs::path future = dir / "future.h5";
  fs::copy_file(p, future);
  hid_t f = H5Fopen(future.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
  int64_t v = kShardSchemaVersion + 1;
  H5Awrite(a, H5T_NATIVE_INT64, &v);
  H5Aclose(a);
  H5Fclose(f);
  EXPECT_NE(error_of([&] { shard_read(future); }).find("shard schema_version 3 is newer"), std::string::npos);

  // A candidate id past num_items.
  fs::path bad = dir / "bad.h5";
  SampleTable broken = t;
  broken.candidates[3] = c.num_items();
  shard_write(broken, info, bad);
  EXPECT_NE(error_of([&] { shard_read(bad); }).find("candidates[0] holds"), std::string::npos);
  broken = t;
  broken.history[1] = -7;
  shard_write(broken, info, bad);
  EXPECT_NE(error_of([&] { shard_read(bad); }).find("history[0] holds -7"), std::string::npos);

  // A catalog is not a shard.
  fs::path cat = dir / "catalog.h5";
  catalog_write(c, cat);
  EXPECT_NE(error_of([&] { shard_read(cat); }).find("is a ckf 'catalog' file, expected 'shard'"), std::string::npos);
}
