#include "dist/process_grid.h"

#include <algorithm>

#include "core/check.h"

namespace ckf {

void grid_check(int world_size, int tp, const TpSplitDims& dims) {
  CKF_CHECK(tp >= 1, "--tp " << tp << ": the tensor-parallel size must be at least 1");
  CKF_CHECK(world_size % tp == 0, "--tp " << tp << ": the world of " << world_size
                                          << " ranks does not divide into tensor-parallel groups of " << tp);
  auto check_dim = [tp](int64_t value, const char* what) {
    CKF_CHECK(value >= 1, "tensor parallelism: model " << what << " is " << value << ", expected a positive size");
    CKF_CHECK(value % tp == 0, "--tp " << tp << ": model " << what << " " << value << " is not divisible by " << tp);
  };
  check_dim(dims.n_head, "n_head (attention heads)");
  check_dim(dims.n_kv_head, "n_kv_head (KV heads)");
  check_dim(dims.vocab_size, "vocab_size");
  check_dim(dims.ffn_dim, "ffn_dim (intermediate size)");
}

std::vector<int> grid_tp_ranks(int tp, int dp_rank) {
  std::vector<int> ranks;
  for (int j = 0; j < tp; ++j) ranks.push_back(dp_rank * tp + j);
  return ranks;
}

std::vector<int> grid_dp_ranks(int tp, int dp, int tp_rank) {
  std::vector<int> ranks;
  for (int r = 0; r < dp; ++r) ranks.push_back(r * tp + tp_rank);
  return ranks;
}

std::vector<int> grid_task_ranks(int tp, const TaskPlacement& placement, const std::string& task, int tp_rank) {
  std::vector<int> ranks;
  for (int r : placement.replicas_of(task)) ranks.push_back(r * tp + tp_rank);
  return ranks;
}

ProcessGrid::ProcessGrid(Communicator& world, int tp, const TpSplitDims& dims, TaskPlacement placement)
    : world_(world), placement_(std::move(placement)) {
  grid_check(world.size(), tp, dims);
  tp_size_ = tp;
  dp_size_ = world.size() / tp;
  CKF_CHECK(placement_.dp == dp_size_, "task placement '" << placement_.str() << "' is for " << placement_.dp
                                                          << " replicas, but world " << world.size() << " / tp " << tp
                                                          << " gives " << dp_size_);
  tp_rank_ = world.rank() % tp;
  dp_rank_ = world.rank() / tp;
  my_tasks_ = placement_.tasks_of(dp_rank_);
  tp_ = world.split(dp_rank_, tp_rank_, "tp");
  dp_ = world.split(tp_rank_, dp_rank_, "dp");
  // Every rank joins every split (it is collective over world), in placement order.
  for (const auto& name : placement_.tasks) {
    bool mine = holds(name);
    auto group = world.split(mine ? tp_rank_ : -1, world.rank(), "task:" + name);
    if (mine) task_groups_[name] = std::move(group);
  }
}

bool ProcessGrid::holds(const std::string& task) const {
  return std::find(my_tasks_.begin(), my_tasks_.end(), task) != my_tasks_.end();
}

Communicator& ProcessGrid::task(const std::string& name) {
  auto it = task_groups_.find(name);
  if (it == task_groups_.end()) {
    std::string held;
    for (const auto& t : my_tasks_) held += (held.empty() ? "" : ", ") + t;
    CKF_FAIL("replica " << dp_rank_ << " (world rank " << world_.rank() << ") holds no task '" << name
                        << "'; it holds: " << held);
  }
  return *it->second;
}

}  // namespace ckf
