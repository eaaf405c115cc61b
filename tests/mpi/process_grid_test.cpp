// ProcessGrid on the running world (1, 2 or 4 ranks) for every tp that divides it: each group's
// members are gathered over the group itself and compared to the layout written out by hand here
// (world rank = replica * tp + tp_rank).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/check.h"
#include "dist/mpi_communicator.h"
#include "dist/process_grid.h"

using namespace ckf;

namespace {

const std::vector<std::string> kTasks = {"ctr", "sequential", "rating", "topk"};
const TpSplitDims kDims{8, 4, 1024, 2048};

// World ranks in `group`, in group-rank order, as the group itself sees them.
std::vector<int> members(Communicator& group, int world_rank) {
  std::vector<int32_t> all(group.size());
  int32_t mine = world_rank;
  group.all_gather(std::span<const int32_t>(&mine, 1), std::span<int32_t>(all));
  return {all.begin(), all.end()};
}

TEST(ProcessGrid, TpAndDpGroupsForEveryDividingTp) {
  auto world = MpiCommunicator::world();
  const int n = world->size(), me = world->rank();
  for (int tp = 1; tp <= n; ++tp) {
    if (n % tp) continue;
    const int dp = n / tp;
    ProcessGrid grid(*world, tp, kDims, placement_round_robin(kTasks, dp));
    EXPECT_EQ(grid.tp_size(), tp);
    EXPECT_EQ(grid.dp_size(), dp);
    EXPECT_EQ(grid.tp_rank(), me % tp);
    EXPECT_EQ(grid.dp_rank(), me / tp);
    EXPECT_EQ(grid.tp().name(), "tp");
    EXPECT_EQ(grid.dp().name(), "dp");
    std::vector<int> want_tp, want_dp;
    for (int j = 0; j < tp; ++j) want_tp.push_back((me / tp) * tp + j);  // consecutive ranks
    for (int r = 0; r < dp; ++r) want_dp.push_back(r * tp + me % tp);    // same tp rank, every replica
    EXPECT_EQ(members(grid.tp(), me), want_tp) << "tp " << tp;
    EXPECT_EQ(members(grid.dp(), me), want_dp) << "tp " << tp;
  }
}

// The task groups of `placement`: each rank belongs to the groups of its replica's tasks, and a
// group holds the ranks with the same tp rank on that task's replicas.
void expect_task_groups(Communicator& world, int tp, const TaskPlacement& placement,
                        const std::vector<std::vector<int>>& want_replicas) {
  const int me = world.rank();
  ProcessGrid grid(world, tp, kDims, placement);
  for (size_t t = 0; t < placement.tasks.size(); ++t) {
    const auto& name = placement.tasks[t];
    const auto& reps = want_replicas[t];
    bool mine = std::find(reps.begin(), reps.end(), me / tp) != reps.end();
    EXPECT_EQ(grid.holds(name), mine) << name;
    if (!mine) {
      EXPECT_THROW(grid.task(name), Error);
      continue;
    }
    std::vector<int> want;
    for (int r : reps) want.push_back(r * tp + me % tp);
    EXPECT_EQ(grid.task(name).name(), "task:" + name);
    EXPECT_EQ(members(grid.task(name), me), want) << name << " tp " << tp;
  }
}

TEST(ProcessGrid, RoundRobinTaskGroups) {
  auto world = MpiCommunicator::world();
  const int n = world->size();
  for (int tp = 1; tp <= n; ++tp) {
    if (n % tp) continue;
    const int dp = n / tp;
    // Written out for dp = 1, 2, 4 (the worlds this test runs on): dp >= 4 spreads one task per
    // replica; fewer replicas hold task t on replica t mod dp.
    std::vector<std::vector<int>> want;
    for (int t = 0; t < 4; ++t) want.push_back({t % dp});
    expect_task_groups(*world, tp, placement_round_robin(kTasks, dp), want);
    EXPECT_EQ(ProcessGrid(*world, tp, kDims, placement_round_robin(kTasks, dp)).my_tasks().size(),
              dp == 1 ? 4u : dp == 2 ? 2u : 1u);
  }
}

TEST(ProcessGrid, ExplicitPlacementTaskGroups) {
  auto world = MpiCommunicator::world();
  const int n = world->size();
  if (n == 4) {
    expect_task_groups(*world, 1, placement_parse("ctr:0,1;sequential:2;rating:3;topk:2,3", 4),
                       {{0, 1}, {2}, {3}, {2, 3}});
    // A task on every replica and one on a single replica.
    expect_task_groups(*world, 1, placement_parse("ctr:0,1,2,3;topk:3", 4), {{0, 1, 2, 3}, {3}});
  }
  if (n >= 2) {
    int tp = n / 2;  // two replicas
    expect_task_groups(*world, tp, placement_parse("ctr:0;sequential:1;rating:0,1;topk:1", 2),
                       {{0}, {1}, {0, 1}, {1}});
  }
  expect_task_groups(*world, n, placement_parse("ctr:0;topk:0", 1), {{0}, {0}});
}

TEST(ProcessGrid, TaskGroupReducesOverItsReplicasOnly) {
  auto world = MpiCommunicator::world();
  const int n = world->size(), me = world->rank();
  ProcessGrid grid(*world, 1, kDims, placement_round_robin({"a", "b"}, n));
  // With n >= 2 replicas task a holds the even ones, b the odd ones.
  for (const auto& task : grid.my_tasks()) {
    int64_t x = me + 1;
    grid.task(task).all_reduce(std::span<int64_t>(&x, 1));
    int64_t want = 0;
    for (int r = 0; r < n; ++r)
      if (n == 1 || r % 2 == (task == "a" ? 0 : 1)) want += r + 1;
    EXPECT_EQ(x, want) << task;
  }
}

TEST(ProcessGrid, BadLayoutsFailOnEveryRankBeforeAnySplit) {
  auto world = MpiCommunicator::world();
  const int n = world->size();
  // tp that does not divide the world (n + 1 never does for n >= 1).
  EXPECT_THROW(ProcessGrid(*world, n + 1, kDims, placement_round_robin(kTasks, 1)), Error);
  // Heads not divisible by tp.
  if (n >= 2) {
    EXPECT_THROW(ProcessGrid(*world, 2, {7, 1, 1024, 2048}, placement_round_robin(kTasks, n / 2)), Error);
  }
  // Placement made for the wrong number of replicas.
  EXPECT_THROW(ProcessGrid(*world, 1, kDims, placement_round_robin(kTasks, n + 1)), Error);
  // No split was started, so the world still works for everyone.
  int32_t one = 1;
  world->all_reduce(std::span<int32_t>(&one, 1));
  EXPECT_EQ(one, n);
}

}  // namespace
