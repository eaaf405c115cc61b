// Streaming loader: the order permutation is a bijection; every sample once per epoch over the
// union of R = 1..4 replicas, each step's union exactly the step's window of the R = 1 stream;
// resuming with another replica count continues that stream; only the replica's own tasks' files
// are opened; decoded rows equal shard_read's; errors in the background thread name the shard.
#include "io/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "core/check.h"
#include "test_util.h"

using namespace ckf;
namespace fs = std::filesystem;

namespace {

// Random samples (no zeros, odd shard sizes) for one task: shard k holds sizes[k] samples.
SampleTable random_table(Task task, size_t n, std::mt19937& gen) {
  SampleTable t;
  t.task = task;
  t.split = Split::Train;
  t.history_len = 3;
  t.num_candidates = task == Task::Topk ? 5 : task == Task::Sequential ? 4 : 0;
  for (size_t i = 0; i < n; ++i) {
    std::vector<int32_t> hist(1 + gen() % 3), cand(size_t(t.num_candidates));
    std::vector<float> rate(hist.size());
    for (auto& h : hist) h = int32_t(1 + gen() % 90);
    for (auto& r : rate) r = 0.5f * float(1 + gen() % 10);
    for (auto& c : cand) c = int32_t(1 + gen() % 90);
    t.push(int32_t(1 + gen() % 40), int32_t(1 + gen() % 90), 0.25f * float(1 + gen() % 20), hist, rate, cand);
  }
  return t;
}

const std::vector<size_t> kShardSizes = {7, 13, 1, 10, 10};  // 41 samples

fs::path make_dataset(const std::string& name, std::vector<Task> tasks = {Task::Ctr}) {
  fs::path dir = fs::path(testing::TempDir()) / ("loader_" + name);
  fs::remove_all(dir);
  std::mt19937 gen(11);
  for (Task task : tasks)
    for (size_t k = 0; k < kShardSizes.size(); ++k) {
      fs::path file = shard_path(dir, Split::Train, task, int64_t(k));
      fs::create_directories(file.parent_path());
      shard_write(random_table(task, kShardSizes[k], gen), ShardInfo{int64_t(k), 1, 100, 100}, file);
    }
  return dir;
}

LoaderOptions options_for(const fs::path& dir, std::vector<LoaderTaskSpec> tasks, uint64_t seed = 5) {
  LoaderOptions o;
  o.dir = dir;
  o.seed = seed;
  o.tasks = std::move(tasks);
  o.prefetch = 3;
  return o;
}

TaskPlacement all_on(Task task, int replicas) {
  std::string spec = std::string(task_name(task)) + ":";
  for (int r = 0; r < replicas; ++r) {
    if (r) spec += ",";
    spec += std::to_string(r);
  }
  return placement_parse(spec, replicas);
}

// (position, shard, row) of one task part, as consumed.
struct Taken {
  int64_t position, shard, row;
  bool operator<(const Taken& o) const { return position < o.position; }
  bool operator==(const Taken& o) const { return position == o.position && shard == o.shard && row == o.row; }
};

std::vector<Taken> taken_of(const TaskBatch& part) {
  std::vector<Taken> out;
  for (size_t k = 0; k < part.refs.size(); ++k)
    out.push_back({part.positions[k], part.refs[k].shard, part.refs[k].row});
  return out;
}

// Runs `steps` global steps on R replicas of one task, returning each step's union sorted by position.
std::vector<std::vector<Taken>> run_replicas(std::vector<std::unique_ptr<Loader>>& loaders, int steps) {
  std::vector<std::vector<Taken>> out;
  for (int s = 0; s < steps; ++s) {
    std::vector<Taken> step;
    for (auto& l : loaders) {
      LoaderBatch b = l->next();
      EXPECT_EQ(b.step, l->cursor().step - 1);
      for (const Taken& t : taken_of(b.tasks.at(0))) step.push_back(t);
    }
    std::sort(step.begin(), step.end());
    out.push_back(step);
  }
  return out;
}

std::vector<std::unique_ptr<Loader>> make_replicas(const LoaderOptions& o, int R) {
  std::vector<std::unique_ptr<Loader>> out;
  TaskPlacement p = all_on(o.tasks.at(0).task, R);
  for (int r = 0; r < R; ++r) out.push_back(std::make_unique<Loader>(o, p, r));
  return out;
}

}  // namespace

TEST(LoaderOrder, PermutationIsABijectionForOddSizes) {
  for (int64_t n : {1, 2, 3, 5, 17, 64, 1000, 4097})
    for (uint64_t key : {1ull, 77ull, 0xdeadbeefull}) {
      std::vector<int64_t> image;
      for (int64_t i = 0; i < n; ++i) image.push_back(order_permute(n, key, i));
      std::vector<int64_t> sorted = image;
      std::sort(sorted.begin(), sorted.end());
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(sorted[size_t(i)], i) << "n " << n << " key " << key;
      if (n >= 17) {
        int64_t fixed = 0;
        for (int64_t i = 0; i < n; ++i) fixed += image[size_t(i)] == i;
        EXPECT_LT(fixed, n / 4) << "n " << n << ": barely shuffled";
      }
    }
}

TEST(LoaderOrder, FirstElementIsRoughlyUniformOverKeys) {
  // Where index 0 lands over 20000 keys, n = 10: each bucket expects 2000, sd ~42; allow 6 sd.
  const int n = 10, keys = 20000;
  std::vector<int> count(n, 0);
  for (int k = 0; k < keys; ++k) ++count[size_t(order_permute(n, order_key(3, Task::Ctr, k), 0))];
  for (int c : count) EXPECT_NEAR(c, keys / n, 260);
}

TEST(LoaderOrder, ReplicaPositionsPartitionTheWindow) {
  for (int R = 1; R <= 5; ++R)
    for (int64_t B : {0, 1, 6, 7, 13}) {
      std::vector<int64_t> all;
      for (int j = 0; j < R; ++j)
        for (int64_t g : order_replica_positions(100, B, R, j)) all.push_back(g);
      std::sort(all.begin(), all.end());
      ASSERT_EQ(int64_t(all.size()), B);
      for (int64_t k = 0; k < B; ++k) EXPECT_EQ(all[size_t(k)], 100 + k);
    }
}

TEST(LoaderOrder, EpochOrderVisitsEverySampleOnceWindowByWindow) {
  const std::vector<int64_t> sizes = {7, 0, 13, 1, 10, 10, 4};  // 45, one empty shard
  for (int64_t window : {0, 1, 2, 3, 7, 9}) {
    EpochOrder o = order_epoch(9, Task::Rating, 4, sizes, window);
    const int64_t W = window == 0 || window > 7 ? 7 : window;
    std::set<std::pair<int64_t, int64_t>> seen;
    std::vector<std::set<int64_t>> shards_of_window(size_t((7 + W - 1) / W));
    int64_t place = 0;
    for (int64_t v = 0; v < 7; ++v) {  // places of the v-th visited shard's slot must stay in its window
      int64_t shard = o.visit[size_t(v)];
      for (int64_t k = 0; k < sizes[size_t(shard)]; ++k, ++place) {
        SampleRef r = order_locate(o, place);
        ASSERT_LT(r.row, sizes[size_t(r.shard)]);
        seen.insert({r.shard, r.row});
        shards_of_window[size_t(v / W)].insert(r.shard);
      }
    }
    EXPECT_EQ(seen.size(), 45u) << "window " << window;
    for (size_t w = 0; w < shards_of_window.size(); ++w)
      for (int64_t shard : shards_of_window[w]) {
        auto at = std::find(o.visit.begin(), o.visit.end(), shard) - o.visit.begin();
        EXPECT_EQ(size_t(at / W), w) << "window " << window << ": shard " << shard << " read outside its window";
      }
    std::vector<int64_t> natural = {0, 1, 2, 3, 4, 5, 6};
    if (W < 7) {
      EXPECT_NE(o.visit, natural) << "window " << window << ": shards not shuffled";
    }
  }
  EXPECT_NE(error_of([] { order_epoch(1, Task::Ctr, 0, {0, 0}, 0); }).find("no samples"), std::string::npos);
}

TEST(Loader, CompositionFromWeightsSumsToTheBatch) {
  auto c = loader_composition({{Task::Ctr, 1}, {Task::Rating, 2}, {Task::Topk, 1}}, 10);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].global_batch, 3);  // 2.5 -> remainder tie goes to the earlier task
  EXPECT_EQ(c[1].global_batch, 5);
  EXPECT_EQ(c[2].global_batch, 2);
  auto d = loader_composition({{Task::Ctr, 0.3}, {Task::Sequential, 0.3}, {Task::Rating, 0.4}}, 7);
  EXPECT_EQ(d[0].global_batch + d[1].global_batch + d[2].global_batch, 7);
  EXPECT_NE(error_of([] { loader_composition({{Task::Ctr, -1}}, 4); }).find("weight of task ctr"), std::string::npos);
}

TEST(Loader, DecodedRowsEqualTheShardFiles) {
  fs::path dir = make_dataset("rows", {Task::Topk});
  std::vector<SampleTable> ref;
  for (const fs::path& f : shard_list(dir, Split::Train, Task::Topk)) ref.push_back(shard_read(f));
  Loader l(options_for(dir, {{Task::Topk, 9}}), all_on(Task::Topk, 1), 0);
  for (int s = 0; s < 6; ++s) {
    LoaderBatch b = l.next();
    const TaskBatch& part = b.tasks.at(0);
    ASSERT_EQ(part.samples.size(), 9u);
    for (size_t k = 0; k < part.refs.size(); ++k) {
      SampleView got = part.samples.at(k), want = ref.at(size_t(part.refs[k].shard)).at(size_t(part.refs[k].row));
      EXPECT_EQ(got.user, want.user);
      EXPECT_EQ(got.target, want.target);
      EXPECT_EQ(got.label, want.label);
      EXPECT_TRUE(std::ranges::equal(got.history, want.history));
      EXPECT_TRUE(std::ranges::equal(got.history_rating, want.history_rating));
      EXPECT_TRUE(std::ranges::equal(got.candidates, want.candidates));
    }
  }
}

TEST(Loader, DeterministicAndSeedDependent) {
  fs::path dir = make_dataset("determinism");
  auto stream = [&](uint64_t seed, size_t cache) {
    LoaderOptions o = options_for(dir, {{Task::Ctr, 6}}, seed);
    o.cache_shards = cache;
    Loader l(o, all_on(Task::Ctr, 1), 0);
    std::vector<Taken> out;
    for (int s = 0; s < 10; ++s)
      for (const Taken& t : taken_of(l.next().tasks.at(0))) out.push_back(t);
    return out;
  };
  EXPECT_EQ(stream(5, 0), stream(5, 0));
  EXPECT_EQ(stream(5, 0), stream(5, 1));  // a one-shard cache changes the work, not the order
  EXPECT_NE(stream(5, 0), stream(6, 0));
}

TEST(Loader, EverySampleOncePerEpochOverTheReplicas) {
  fs::path dir = make_dataset("epoch");
  const int64_t N = 41, B = 7;  // B does not divide N: the 6th step straddles epochs 0 and 1
  for (int64_t window : {0, 2}) {
    SCOPED_TRACE("shard window " + std::to_string(window));
    LoaderOptions o = options_for(dir, {{Task::Ctr, B}});
    o.shard_window = window;
    auto single = make_replicas(o, 1);
    std::vector<std::vector<Taken>> reference = run_replicas(single, 12);  // 84 positions: 2 epochs + 2
    for (int R = 1; R <= 4; ++R) {
      auto replicas = make_replicas(o, R);
      std::vector<std::vector<Taken>> steps = run_replicas(replicas, 12);
      std::map<std::pair<int64_t, int64_t>, int> seen[2];
      for (int s = 0; s < 12; ++s) {
        ASSERT_EQ(steps[size_t(s)], reference[size_t(s)]) << "R " << R << " step " << s;
        for (size_t k = 0; k < steps[size_t(s)].size(); ++k) {
          const Taken& t = steps[size_t(s)][k];
          ASSERT_EQ(t.position, s * B + int64_t(k)) << "R " << R << ": step's union is not its window";
          if (t.position < 2 * N) ++seen[t.position / N][{t.shard, t.row}];
        }
      }
      for (auto& epoch : seen) {
        ASSERT_EQ(int64_t(epoch.size()), N) << "R " << R;
        for (auto& [ref, count] : epoch)
          EXPECT_EQ(count, 1) << "R " << R << " shard " << ref.first << " row " << ref.second;
        for (auto& [ref, count] : epoch) EXPECT_LT(ref.second, int64_t(kShardSizes[size_t(ref.first)]));
      }
      for (auto& l : replicas) EXPECT_EQ(l->cursor().tasks.at(0).epoch, 2);
    }
    // Epochs are different permutations.
    std::vector<std::pair<int64_t, int64_t>> epoch_order[2];
    for (auto& step : reference)
      for (const Taken& t : step)
        if (t.position < 2 * N) epoch_order[t.position / N].push_back({t.shard, t.row});
    EXPECT_NE(epoch_order[0], epoch_order[1]);
  }
}

TEST(Loader, ResumingWithFewerReplicasContinuesTheStream) {
  fs::path dir = make_dataset("resize");
  for (int64_t window : {0, 3}) {
    SCOPED_TRACE("shard window " + std::to_string(window));
    LoaderOptions o = options_for(dir, {{Task::Ctr, 8}});
    o.shard_window = window;
    auto single = make_replicas(o, 1);
    std::vector<std::vector<Taken>> reference = run_replicas(single, 11);  // crosses two epoch boundaries

    auto four = make_replicas(o, 4);
    std::vector<std::vector<Taken>> got = run_replicas(four, 4);  // 32 of 41: mid-epoch
    LoaderCursor cursor = four[0]->cursor();
    for (auto& l : four) {  // every replica of the task holds the same cursor
      EXPECT_EQ(l->cursor().step, cursor.step);
      EXPECT_EQ(l->cursor().tasks.at(0).position, cursor.tasks.at(0).position);
    }
    EXPECT_EQ(cursor.step, 4);
    EXPECT_EQ(cursor.tasks.at(0).position, 32);
    four.clear();
    auto two = make_replicas(o, 2);
    for (auto& l : two) l->seek(cursor);
    for (auto& step : run_replicas(two, 4)) got.push_back(step);
    cursor = two[1]->cursor();
    auto three = make_replicas(o, 3);
    for (auto& l : three) l->seek(cursor);
    for (auto& step : run_replicas(three, 3)) got.push_back(step);
    EXPECT_EQ(got, reference);
  }
}

TEST(Loader, ShardWindowDecodesEachShardOncePerEpoch) {
  fs::path dir = make_dataset("window");
  // One sample per step and a prefetch depth of 1: when the consumer has taken 2 epochs (82 steps)
  // the thread has decoded for at most one step more, so reads <= 2 * 5 shards + 1.
  auto reads_over_two_epochs = [&](int64_t window) {
    std::atomic<int> reads{0};
    LoaderOptions o = options_for(dir, {{Task::Ctr, 1}});
    o.prefetch = 1;
    o.shard_window = window;
    o.cache_shards = 2;
    ShardSource files = shard_source_files();
    o.source.read = [&](const fs::path& f) {
      ++reads;
      return files.read(f);
    };
    Loader l(o, all_on(Task::Ctr, 1), 0);
    for (int s = 0; s < 82; ++s) l.next();
    return reads.load();
  };
  EXPECT_LE(reads_over_two_epochs(1), 11);  // cache of 2 * window
  EXPECT_GT(reads_over_two_epochs(0), 11);  // the whole-task shuffle thrashes the same cache
}

TEST(Loader, OpensOnlyTheReplicasOwnTasks) {
  fs::path dir = make_dataset("own", {Task::Ctr, Task::Sequential, Task::Rating, Task::Topk});
  TaskPlacement p = placement_parse("ctr:0;sequential:1;rating:1;topk:0,1", 2);
  std::mutex mu;
  std::set<std::string> opened;
  LoaderOptions o = options_for(dir, {{Task::Ctr, 4}, {Task::Sequential, 3}, {Task::Rating, 2}, {Task::Topk, 5}});
  ShardSource files = shard_source_files();
  o.source.count = [&](const fs::path& f) {
    std::lock_guard<std::mutex> lock(mu);
    opened.insert(f.parent_path().filename().string());
    return files.count(f);
  };
  o.source.read = [&](const fs::path& f) {
    std::lock_guard<std::mutex> lock(mu);
    opened.insert(f.parent_path().filename().string());
    return files.read(f);
  };
  Loader l(o, p, 0);
  for (int s = 0; s < 20; ++s) {  // 20 steps: every shard of ctr and topk is needed
    LoaderBatch b = l.next();
    ASSERT_EQ(b.tasks.size(), 2u);
    EXPECT_EQ(b.tasks[0].task, Task::Ctr);
    EXPECT_EQ(b.tasks[0].samples.size(), 4u);
    EXPECT_EQ(b.tasks[1].task, Task::Topk);
    EXPECT_EQ(b.tasks[1].samples.size(), 3u);  // replica 0 of 2 takes positions 0, 2, 4 of 5
    EXPECT_EQ(b.tasks[1].samples.num_candidates, 5);
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(opened, (std::set<std::string>{"ctr", "topk"}));
  EXPECT_NE(error_of([&] { l.num_samples(Task::Rating); }).find("not served"), std::string::npos);
}

TEST(Loader, BackgroundErrorNamesTheShard) {
  fs::path dir = make_dataset("thread_error");
  LoaderOptions o = options_for(dir, {{Task::Ctr, 5}});
  ShardSource files = shard_source_files();
  o.source.read = [&](const fs::path& f) -> SampleTable {
    if (f.filename() == "shard-00003.h5") throw std::runtime_error("disk on fire");
    return files.read(f);
  };
  Loader l(o, all_on(Task::Ctr, 1), 0);
  std::string msg;
  int delivered = 0;
  for (; delivered < 20 && msg.empty(); ++delivered) msg = error_of([&] { l.next(); });
  EXPECT_NE(msg.find((dir / "train" / "ctr" / "shard-00003.h5").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("disk on fire"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { l.next(); }), "");  // stays failed, never hangs
}

TEST(Loader, CorruptShardsGiveClearErrors) {
  fs::path dir = make_dataset("corrupt");
  fs::path bad = shard_path(dir, Split::Train, Task::Ctr, 2);
  std::ofstream(bad, std::ios::binary | std::ios::trunc) << "not hdf5 at all";
  std::string msg = error_of([&] { Loader(options_for(dir, {{Task::Ctr, 4}}), all_on(Task::Ctr, 1), 0); });
  EXPECT_NE(msg.find(bad.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("not an HDF5 file"), std::string::npos) << msg;

  // A valid header over out-of-range ids: found when the background thread decodes it.
  std::mt19937 gen(3);
  shard_write(random_table(Task::Ctr, kShardSizes[2], gen), ShardInfo{2, 1, 100, 5}, bad);  // items >= 5
  Loader l(options_for(dir, {{Task::Ctr, 41}}), all_on(Task::Ctr, 1), 0);
  msg = error_of([&] { l.next(); });
  EXPECT_NE(msg.find(bad.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("outside [0, 5)"), std::string::npos) << msg;

  fs::remove(shard_path(dir, Split::Train, Task::Ctr, 0));
  msg = error_of([&] { Loader(options_for(dir, {{Task::Ctr, 4}}), all_on(Task::Ctr, 1), 0); });
  EXPECT_NE(msg.find("no shards at"), std::string::npos) << msg;
}

TEST(Loader, SeekRejectsForeignCursors) {
  fs::path dir = make_dataset("seek");
  Loader l(options_for(dir, {{Task::Ctr, 4}}), all_on(Task::Ctr, 1), 0);
  EXPECT_NE(error_of([&] {
              l.seek(LoaderCursor{3, {{Task::Rating, 0, 0}}});
            }).find("no entry for task ctr"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              l.seek(LoaderCursor{3, {{Task::Ctr, 0, 41}}});
            }).find("outside its 41 samples"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              Loader(options_for(dir, {{Task::Ctr, 4}, {Task::Ctr, 2}}), all_on(Task::Ctr, 1), 0);
            }).find("task ctr listed twice"),
            std::string::npos);
  l.seek(LoaderCursor{3, {{Task::Rating, 9, 9}, {Task::Ctr, 1, 40}}});  // other tasks' entries are ignored
  LoaderBatch b = l.next();
  EXPECT_EQ(b.step, 3);
  EXPECT_EQ(b.tasks[0].positions, (std::vector<int64_t>{81, 82, 83, 84}));
  EXPECT_EQ(l.cursor().tasks[0].epoch, 2);
  EXPECT_EQ(l.cursor().tasks[0].position, 3);
}

TEST(Loader, ShutsDownCleanlyMidStream) {
  fs::path dir = make_dataset("shutdown");
  std::atomic<int> reads{0};
  LoaderOptions o = options_for(dir, {{Task::Ctr, 3}});
  o.cache_shards = 1;
  ShardSource files = shard_source_files();
  o.source.read = [&](const fs::path& f) {
    ++reads;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return files.read(f);
  };
  { Loader idle(o, all_on(Task::Ctr, 1), 0); }  // never consumed
  for (int consumed : {1, 5}) {
    Loader l(o, all_on(Task::Ctr, 1), 0);
    for (int s = 0; s < consumed; ++s) l.next();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the thread fill its queue
  }                                                              // destroyed with a full queue or mid-read
  Loader l(o, all_on(Task::Ctr, 1), 0);
  l.next();
  l.seek(l.cursor());  // a seek restarts the thread
  EXPECT_EQ(l.next().step, 1);
  EXPECT_GT(reads.load(), 0);
}
