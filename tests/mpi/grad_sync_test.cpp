// Gradient synchronisation on 1, 2 and 4 ranks (data parallel against the whole batch, through the
// decoder, is in llama_tp_test): task-pinned groups average over their own replicas only; bytes sent
// follow 2 (p-1)/p * 4 n per group and the number of all-reduces is ceil(4 n / bucket bytes).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/check.h"
#include "dist/grad_sync.h"
#include "dist/mpi_communicator.h"
#include "dist/process_grid.h"
#include "mpi_test_util.h"

using namespace ckf;
using namespace ckf::mpitest;

namespace {

// Gradient values rank `rank` puts into Param number `k` (any rank can recompute any other's).
std::vector<float> fake_grad(int rank, int k, int64_t n) {
  std::mt19937_64 rng(1000 * rank + k);
  return random_vec(n, rng);
}

TaskPlacement pinned(int dp) {
  if (dp == 1) return placement_parse("ctr:0;sequential:0;rating:0;topk:0", 1);
  if (dp == 2) return placement_parse("ctr:0,1;sequential:0;rating:1;topk:0,1", 2);
  return placement_parse("ctr:0,1,2,3;sequential:0,2;rating:1,3;topk:3", dp);
}

TEST(GradSync, TaskPinnedGroupsBytesAndBuckets) {
  auto world = MpiCommunicator::world();
  const int W = world->size(), me = world->rank();
  const std::vector<int64_t> kShared = {1000, 37};  // e.g. shared adapters + mapper
  ProcessGrid grid(*world, 1, TpSplitDims{4, 4, 16, 16}, pinned(W));
  const auto& tasks = grid.placement().tasks;
  for (size_t bucket : {size_t{1024}, size_t{4148}, size_t{12}, kDefaultBucketBytes}) {
    SCOPED_TRACE("bucket " + std::to_string(bucket));
    std::vector<Param> params;
    params.reserve(kShared.size() + tasks.size());
    std::vector<GradSyncItem> items;
    std::vector<int> param_task;  // -1 shared, else task index
    for (size_t k = 0; k < kShared.size(); k++) {
      params.push_back(Param::make("shared." + std::to_string(k), {kShared[k]}));
      param_task.push_back(-1);
    }
    for (size_t t = 0; t < tasks.size(); t++) {
      if (!grid.holds(tasks[t])) continue;
      params.push_back(Param::make("task." + tasks[t], {int64_t(100 * (t + 1) + 3), 2}));
      param_task.push_back(static_cast<int>(t));
    }
    for (size_t k = 0; k < params.size(); k++) {
      const int key = param_task[k] < 0 ? static_cast<int>(k) : 10 + param_task[k];
      auto g = fake_grad(me, key, params[k].grad.numel());
      std::copy(g.begin(), g.end(), params[k].grad.data<float>());
      if (param_task[k] < 0) items.push_back({&params[k], GradGroup::dp, "", false});
      else items.push_back({&params[k], GradGroup::task, tasks[param_task[k]], false});
    }
    GradSync sync(grid, items, bucket);
    sync.sync();

    for (size_t k = 0; k < params.size(); k++) {
      const int t = param_task[k];
      const std::vector<int> replicas =
          t < 0 ? grid_dp_ranks(1, W, 0) : grid_task_ranks(1, grid.placement(), tasks[t], 0);
      const int key = t < 0 ? static_cast<int>(k) : 10 + t;
      std::vector<double> want(params[k].grad.numel(), 0.0);
      for (int rk : replicas) {
        auto g = fake_grad(rk, key, params[k].grad.numel());
        for (size_t i = 0; i < want.size(); i++) want[i] += double(g[i]) / replicas.size();
      }
      expect_close(params[k].grad, want, params[k].name.c_str());
      // Bitwise identical on every member of the group: max and min over the group agree.
      Communicator& group = t < 0 ? grid.dp() : grid.task(tasks[t]);
      std::vector<float> hi(params[k].grad.data<float>(), params[k].grad.data<float>() + params[k].grad.numel());
      std::vector<float> lo(hi);
      for (float& v : lo) v = -v;
      group.all_reduce(std::span<float>(hi), ReduceOp::max);
      group.all_reduce(std::span<float>(lo), ReduceOp::max);
      for (size_t i = 0; i < hi.size(); i++) ASSERT_EQ(hi[i], -lo[i]) << params[k].name << " differs across replicas";
    }

    // Per group: calls = ceil(4 n / bucket), bytes = sum over buckets of 2 (p-1)/p * bucket bytes,
    // within one byte per bucket of the closed form 2 (p-1)/p * 4 n.
    const auto& stats = sync.last_stats();
    ASSERT_EQ(stats.size(), 2 + grid.my_tasks().size());
    EXPECT_EQ(stats[0].group, "tp");
    EXPECT_EQ(stats[0].n_params, 0);
    EXPECT_EQ(stats[0].calls, 0u);
    EXPECT_EQ(stats[1].group, "dp");
    EXPECT_EQ(stats[1].n_params, kShared[0] + kShared[1]);
    for (size_t g = 1; g < stats.size(); g++) {
      const auto& s = stats[g];
      if (g >= 2) {
        EXPECT_EQ(s.group, "task:" + grid.my_tasks()[g - 2]);
        size_t t = std::find(tasks.begin(), tasks.end(), grid.my_tasks()[g - 2]) - tasks.begin();
        EXPECT_EQ(s.n_params, int64_t(100 * (t + 1) + 3) * 2);
        EXPECT_EQ(s.size, static_cast<int>(grid.placement().replicas[t].size()));
      }
      const uint64_t total = 4 * s.n_params, p = s.size;
      EXPECT_EQ(s.calls, (total + bucket - 1) / bucket) << s.group;
      uint64_t want = 0;
      for (uint64_t b = 0; b < total; b += bucket) want += 2 * (p - 1) * std::min<uint64_t>(bucket, total - b) / p;
      EXPECT_EQ(s.bytes, want) << s.group;
      const double closed = 2.0 * (p - 1) / p * total;
      EXPECT_LE(std::abs(double(s.bytes) - closed), double(s.calls)) << s.group;
    }
  }
}

TEST(GradSync, RejectsBadConfiguration) {
  auto world = MpiCommunicator::world();
  ProcessGrid grid(*world, 1, TpSplitDims{4, 4, 16, 16}, pinned(world->size()));
  Param p = Param::make("x", {4});
  EXPECT_THROW(GradSync(grid, {{&p, GradGroup::dp, "", false}}, 6), Error);
  EXPECT_THROW(GradSync(grid, {{&p, GradGroup::dp, "", false}, {&p, GradGroup::dp, "", false}}), Error);
  EXPECT_THROW(GradSync(grid, {{&p, GradGroup::task, "no_such_task", false}}), Error);
}

}  // namespace
