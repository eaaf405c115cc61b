// Task placement: which data-parallel replicas train which task. A replica holds the adapters of
// its tasks only and reads only their samples; a task's adapter gradients are reduced over the
// replicas listed for it. Task names are free strings (ctr, sequential, rating, topk, ...).
#pragma once
#include <string>
#include <vector>

namespace ckf {

struct TaskPlacement {
  int dp = 1;                               // number of replicas placed over
  std::vector<std::string> tasks;           // (T) in configuration order
  std::vector<std::vector<int>> replicas;   // (T, varies) ascending replica indices of each task

  // Replica indices of `task`; throws naming the task when it is not placed.
  const std::vector<int>& replicas_of(const std::string& task) const;
  // Tasks held by replica `replica`, in configuration order.
  std::vector<std::string> tasks_of(int replica) const;
  // "ctr:0,1;sequential:2" (the form placement_parse reads).
  std::string str() const;
};

// Default spread. With dp >= T replica r holds task r mod T (each task gets every T-th replica);
// with dp < T task t sits on replica t mod dp (a replica holds several tasks).
TaskPlacement placement_round_robin(const std::vector<std::string>& tasks, int dp);

// Parses "ctr:0,1;sequential:2;rating:3;topk:2,3". Errors (naming `origin`, e.g. the flag) for
// an empty or repeated task name, a replica index that is not an integer in [0, dp) or is
// repeated within a task, a task without replicas, and a replica that holds no task.
TaskPlacement placement_parse(const std::string& spec, int dp, const std::string& origin = "task placement");

}  // namespace ckf
