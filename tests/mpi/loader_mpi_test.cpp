// The loader across real processes: every rank is one data-parallel replica of ctr (rank 0 also
// holds rating). Each step the replicas' ctr samples, gathered over the world, are exactly that
// step's window of the one-replica stream, which every rank computes locally as the reference;
// only rank 0 opens rating's files.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <random>
#include <string>
#include <vector>

#include "dist/mpi_communicator.h"
#include "io/loader.h"

using namespace ckf;
namespace fs = std::filesystem;

namespace {

// Rank 0 writes 5 shards (41 samples) per task; the directory is per world size so concurrent
// runs with another -np do not share it.
fs::path make_dataset(Communicator& world) {
  fs::path dir = fs::path(testing::TempDir()) / ("loader_mpi_np" + std::to_string(world.size()));
  if (world.rank() == 0) {
    fs::remove_all(dir);
    std::mt19937 gen(5);
    for (Task task : {Task::Ctr, Task::Rating}) {
      for (int64_t k = 0; k < 5; ++k) {
        SampleTable t;
        t.task = task;
        t.history_len = 2;
        for (int i = 0; i < 3 + int(k) * 4; ++i) {
          std::vector<int32_t> hist = {int32_t(1 + gen() % 50)};
          std::vector<float> rate = {3.5f};
          t.push(int32_t(1 + gen() % 30), int32_t(1 + gen() % 50), 1.5f, hist, rate, {});
        }
        fs::path file = shard_path(dir, Split::Train, task, k);
        fs::create_directories(file.parent_path());
        shard_write(t, ShardInfo{k, 1, 40, 60}, file);
      }
    }
  }
  world.barrier();
  return dir;
}

}  // namespace

TEST(LoaderMpi, ReplicasTogetherConsumeTheSingleReplicaStream) {
  auto world = MpiCommunicator::world();
  const int R = world->size(), me = world->rank();
  fs::path dir = make_dataset(*world);
  std::string spec = "ctr:";
  for (int r = 0; r < R; ++r) {
    if (r) spec += ",";
    spec += std::to_string(r);
  }
  TaskPlacement placement = placement_parse(spec + ";rating:0", R);

  LoaderOptions o;
  o.dir = dir;
  o.seed = 17;
  o.tasks = {{Task::Ctr, 9}, {Task::Rating, 4}};
  std::atomic<int> rating_opens{0};
  ShardSource files = shard_source_files();
  o.source.count = [&](const fs::path& f) {
    rating_opens += f.parent_path().filename() == "rating";
    return files.count(f);
  };
  Loader mine(o, placement, me);
  LoaderOptions reference = o;  // one replica, ctr only, files read without the counting hook
  reference.tasks = {{Task::Ctr, 9}};
  reference.source = shard_source_files();
  Loader single(reference, placement_parse("ctr:0", 1), 0);

  const int64_t width = (9 + R - 1) / R;   // most ctr samples one replica takes per step
  for (int step = 0; step < 12; ++step) {  // 108 positions: two epochs of 41 and more
    LoaderBatch b = mine.next();
    ASSERT_EQ(b.tasks.at(0).task, Task::Ctr);
    std::vector<int64_t> send(size_t(3 * width), -1), all(size_t(3 * width * R));
    for (size_t k = 0; k < b.tasks[0].refs.size(); ++k) {
      send[3 * k] = b.tasks[0].positions[k];
      send[3 * k + 1] = b.tasks[0].refs[k].shard;
      send[3 * k + 2] = b.tasks[0].refs[k].row;
    }
    world->all_gather(std::span<const int64_t>(send), std::span<int64_t>(all));
    std::vector<std::array<int64_t, 3>> got;
    for (size_t k = 0; k < all.size(); k += 3)
      if (all[k] >= 0) got.push_back({all[k], all[k + 1], all[k + 2]});
    std::sort(got.begin(), got.end());
    const LoaderBatch whole = single.next();
    const TaskBatch& ref = whole.tasks.at(0);
    ASSERT_EQ(got.size(), ref.refs.size()) << "step " << step;
    for (size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k][0], ref.positions[k]) << "step " << step;
      EXPECT_EQ(got[k][1], ref.refs[k].shard) << "step " << step;
      EXPECT_EQ(got[k][2], ref.refs[k].row) << "step " << step;
    }
  }
  EXPECT_EQ(rating_opens.load() > 0, me == 0) << "rank " << me << " opened rating shards: " << rating_opens.load();
  world->barrier();
}
