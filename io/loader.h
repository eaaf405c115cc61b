// Streaming sample loader of one data-parallel replica: each global step it yields this replica's
// share of every task the replica holds (dist/task_placement.h), decoded from the shard files by a
// background thread that works `prefetch` steps ahead. Only the replica's own tasks' shards are
// ever opened. The order is io/loader_order.h's: a pure function of (seed, epoch, position), with
// the cursor (per task: epoch, position over all replicas) as the whole resumable state.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "dist/task_placement.h"
#include "io/loader_order.h"
#include "io/prefetch.h"
#include "io/shard.h"

namespace ckf {

// Batch composition: a task's samples per global step, summed over the replicas serving it.
struct LoaderTaskSpec {
  Task task = Task::Ctr;
  int64_t global_batch = 0;
};

// Composition from mixing weights: global_batch split in proportion to the weights, rounded by
// largest remainder (ties to the earlier task), so the parts sum to global_batch.
std::vector<LoaderTaskSpec> loader_composition(const std::vector<std::pair<Task, double>>& weights,
                                               int64_t global_batch);

// How shard files are read. Tests substitute it to count file opens or inject faults.
struct ShardSource {
  std::function<int64_t(const std::filesystem::path&)> count;     // the shard's num_samples
  std::function<SampleTable(const std::filesystem::path&)> read;  // the whole decoded shard
};
ShardSource shard_source_files();  // H5 attribute for count, shard_read for read

struct LoaderOptions {
  std::filesystem::path dir;  // dataset directory of `ckf prep`
  Split split = Split::Train;
  uint64_t seed = 1;
  std::vector<LoaderTaskSpec> tasks;  // (T) every task of the job; the replica serves its own
  size_t prefetch = 4;                // steps decoded ahead
  int64_t shard_window = 0;           // shuffle W shards at a time (order_epoch); 0: all at once
  size_t cache_shards = 0;            // decoded shards kept, least recently used dropped; 0: all;
                                      // 2 * shard_window decodes each shard once per epoch
  ShardSource source = shard_source_files();
};

// One task's part of a replica's batch; row k of samples is refs[k], at stream position positions[k].
struct TaskBatch {
  Task task = Task::Ctr;
  std::vector<int64_t> positions;  // (n) global stream positions, ascending
  std::vector<SampleRef> refs;     // (n)
  SampleTable samples;             // n rows (sample_table_append_row)
};

struct LoaderBatch {
  int64_t step = 0;              // the global step these samples belong to
  std::vector<TaskBatch> tasks;  // the replica's tasks, in option order (a part may be empty)
  LoaderCursor cursor;           // the state after this step: what a checkpoint taken now saves
};

class Loader {
 public:
  // Opens the shard list and sample counts of the tasks placement gives `replica`; throws naming
  // the directory, task or file when a task has no shards or a shard cannot be read.
  Loader(LoaderOptions options, const TaskPlacement& placement, int replica);
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next step's batch; rethrows a decoding error of the background thread (naming the shard).
  LoaderBatch next();
  // State after the last batch next() returned (the start state before the first).
  const LoaderCursor& cursor() const { return cursor_; }
  // Continue from `cursor`: it must hold every task of this replica (others are ignored, so the
  // merged cursors of all replicas fit any placement) with a position inside the task's samples.
  void seek(const LoaderCursor& cursor);

  int64_t num_samples(Task task) const;  // over all shards of the task
  const std::vector<std::filesystem::path>& shards(Task task) const;

 private:
  struct TaskState {
    Task task;
    int64_t global_batch;
    int replicas;                              // R: replicas serving the task
    int rank;                                  // j: this replica's index among them
    std::vector<std::filesystem::path> files;  // (S) shard files in index order
    std::vector<int64_t> sizes;                // (S) samples in each shard
    int64_t n;                                 // N: samples over all shards
  };
  using ShardKey = std::pair<size_t, size_t>;  // (task slot, shard)

  const TaskState& state(Task task) const;
  LoaderBatch produce();  // background thread only
  std::shared_ptr<const SampleTable> shard_get(size_t slot, size_t shard);
  void prefetch_start();

  LoaderOptions options_;
  std::vector<TaskState> tasks_;    // (T_own) the replica's tasks in option order
  LoaderCursor cursor_;             // consumer side: after the last delivered batch
  LoaderCursor ahead_;              // producer side: after the last produced batch
  std::vector<EpochOrder> orders_;  // (T_own) producer side: each task's current epoch order
  // Decoded shards, most recently used first (producer only).
  std::list<std::pair<ShardKey, std::shared_ptr<const SampleTable>>> cache_;
  std::map<ShardKey, decltype(cache_)::iterator> cache_index_;
  std::unique_ptr<Prefetcher<LoaderBatch>> prefetch_;  // last: its thread uses the fields above
};

}  // namespace ckf
