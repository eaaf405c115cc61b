// Process grid: World = DP x TP. TP groups are consecutive world ranks (one node); the DP replicas
// are the TP groups, so world rank = dp_rank * tp + tp_rank. Groups made here:
//   tp        the tp ranks of this replica
//   dp        the ranks with this tp rank across all replicas (reduces shared adapters, mapper)
//   task:NAME the ranks with this tp rank across the replicas of task NAME (its adapters)
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "dist/task_placement.h"

namespace ckf {

// Model sizes that tensor parallelism splits across the tp ranks (Megatron: heads and KV heads
// by column-parallel q/k/v, ffn by gate/up/down, vocab by the embedding and LM head).
struct TpSplitDims {
  int64_t n_head = 0;
  int64_t n_kv_head = 0;
  int64_t vocab_size = 0;
  int64_t ffn_dim = 0;
};

// Throws, naming the size and the flag, unless tp >= 1, world % tp == 0 and every dim % tp == 0.
// Call before any work so a bad --tp ends the job at once.
void grid_check(int world_size, int tp, const TpSplitDims& dims);

// World ranks of a group, from arithmetic alone (what the split communicators must contain).
std::vector<int> grid_tp_ranks(int tp, int dp_rank);
std::vector<int> grid_dp_ranks(int tp, int dp, int tp_rank);
std::vector<int> grid_task_ranks(int tp, const TaskPlacement& placement, const std::string& task, int tp_rank);

class ProcessGrid {
 public:
  // Collective over `world`: checks the layout (grid_check, and that placement.dp is world / tp),
  // then splits the tp, dp and one task group per task of `placement`.
  ProcessGrid(Communicator& world, int tp, const TpSplitDims& dims, TaskPlacement placement);

  int tp_size() const { return tp_size_; }
  int dp_size() const { return dp_size_; }
  int tp_rank() const { return tp_rank_; }
  int dp_rank() const { return dp_rank_; }  // the replica index

  Communicator& world() { return world_; }
  Communicator& tp() { return *tp_; }
  Communicator& dp() { return *dp_; }
  // The group of `task`; throws when this rank's replica does not hold it.
  Communicator& task(const std::string& name);

  const TaskPlacement& placement() const { return placement_; }
  // Tasks this rank's replica holds, in configuration order.
  const std::vector<std::string>& my_tasks() const { return my_tasks_; }
  bool holds(const std::string& task) const;

 private:
  Communicator& world_;
  int tp_size_ = 1, dp_size_ = 1, tp_rank_ = 0, dp_rank_ = 0;
  TaskPlacement placement_;
  std::vector<std::string> my_tasks_;
  std::unique_ptr<Communicator> tp_;
  std::unique_ptr<Communicator> dp_;
  std::map<std::string, std::unique_ptr<Communicator>> task_groups_;  // only the tasks held here
};

}  // namespace ckf
