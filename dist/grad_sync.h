// Data-parallel gradient synchronisation of the trainable Params (only those: base weights never
// cross the network). Each Param is reduced in the group that shares it:
//   dp         shared adapters and the mapper: averaged over every DP replica
//   task:NAME  a task's adapters: averaged over the replicas of that task only
// and a TP-partial Param (dA of a LoRA on a column-parallel base, dB on a row-parallel one: each tp
// rank holds its share of a sum, core/llama_tp.h) is first summed over tp.
// Per group the gradients are packed, in the order given, into buckets of bucket_bytes (the last
// one shorter; a Param may straddle two), one all-reduce per bucket, then unpacked. Groups run in
// a fixed order (tp, dp, then tasks in placement order) on every rank, so overlapping groups
// never wait on each other.
//
// Bytes each rank sends for group g per step (ring all-reduce, p_g ranks, n_g float gradients):
//   2 (p_g - 1) / p_g * 4 * n_g      (each bucket rounded down to whole bytes)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/param.h"
#include "dist/process_grid.h"

namespace ckf {

enum class GradGroup : uint8_t { dp, task };

struct GradSyncItem {
  Param* param = nullptr;
  GradGroup group = GradGroup::dp;
  std::string task;         // the task's name when group == task
  bool tp_partial = false;  // summed over tp before the dp / task average
};

// What one group moved in the last sync() on this rank.
struct GradSyncGroupStats {
  std::string group;      // "tp", "dp", "task:ctr"
  int size = 1;           // ranks in the group
  int64_t n_params = 0;   // float gradients reduced
  uint64_t calls = 0;     // all-reduces issued (= ceil(4 n_params / bucket_bytes))
  uint64_t bytes = 0;     // sent, from the group communicator's counter
};

constexpr size_t kDefaultBucketBytes = size_t{25} << 20;

class GradSync {
 public:
  // Checks every item (a Param listed once, grad shaped like value, a task this replica holds) and
  // bucket_bytes (a positive multiple of 4).
  GradSync(ProcessGrid& grid, std::vector<GradSyncItem> items, size_t bucket_bytes = kDefaultBucketBytes);

  // Collective over every group listed: afterwards each Param's grad is the sum over tp (when
  // TP-partial) and the mean over its dp or task group.
  void sync();

  // Per group in sync order; empty before the first sync().
  const std::vector<GradSyncGroupStats>& last_stats() const { return stats_; }
  uint64_t last_bytes() const;  // over all groups

 private:
  struct Bucketed {
    Communicator* comm;
    bool average;
    std::vector<Param*> params;
  };
  void reduce_group(const Bucketed& g);

  size_t bucket_bytes_;
  std::vector<Bucketed> groups_;  // in sync order
  std::vector<float> staging_;    // (bucket_bytes / 4)
  std::vector<GradSyncGroupStats> stats_;
};

}  // namespace ckf
