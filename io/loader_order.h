// Sample order of the streaming loader: a pure function of (seed, task, epoch, global position), so
// a run resumes mid-epoch from a cursor alone and survives a change in the number of replicas.
//
// Each task is an endless stream of global positions g = 0, 1, 2, ...: position g is the sample at
// place g % N of epoch g / N's order of the task's N samples (all its shards), so every epoch is a
// fresh permutation and epochs roll over inside a step. An epoch's order (order_epoch) permutes all
// N samples at once, or, with a shard window W, visits the shards in a permuted order W at a time
// and permutes the samples within each window, so that a cache of 2W decoded shards suffices. At each global step the
// task consumes the window [c, c + B) of its stream (c: its cursor, B: its global batch); replica j of the R replicas
// serving the task takes the positions c + j, c + j + R, c + j + 2R, ... of that window. The union over replicas is the
// whole window whatever R is, so resuming at a step boundary with another R neither repeats nor skips a sample.
#pragma once
#include <cstdint>
#include <vector>

#include "io/shard.h"

namespace ckf {

// A task's place in its stream: the next global position is epoch * N + position.
struct TaskCursor {
  Task task = Task::Ctr;
  int64_t epoch = 0;
  int64_t position = 0;  // in [0, N): samples of this epoch already consumed, over all replicas
};

// What a checkpoint saves: steps taken and every task's cursor. Replicas of a task agree on it.
struct LoaderCursor {
  int64_t step = 0;
  std::vector<TaskCursor> tasks;  // (T) in the loader's task order
};

// Key of one epoch's permutation of one task.
uint64_t order_key(uint64_t seed, Task task, int64_t epoch);

// A bijection of [0, n) chosen by key (a balanced Feistel network on the next even power of two,
// cycle-walked back into range): O(1) memory, expected fewer than 4 network evaluations per call.
int64_t order_permute(int64_t n, uint64_t key, int64_t index);

struct SampleRef {
  int64_t shard = 0;  // NNNNN of the shard file
  int64_t row = 0;    // row inside it
};

// One epoch's order of a task's samples, materialised per shard (O(S) memory).
struct EpochOrder {
  int64_t epoch = -1;
  int64_t window = 0;                // W shards per window; 0: one window of every shard
  std::vector<uint64_t> window_key;  // (windows) permutation key of each window
  std::vector<int64_t> visit;        // (S) shard indices in visiting order
  std::vector<int64_t> visit_start;  // (S+1) epoch place of each visited shard's first sample, then N
};

// Throws unless window >= 0 and the shards hold at least one sample (sizes >= 0).
EpochOrder order_epoch(uint64_t seed, Task task, int64_t epoch, const std::vector<int64_t>& shard_sizes,
                       int64_t window);
// The sample at place p in [0, N) of the epoch.
SampleRef order_locate(const EpochOrder& order, int64_t place);

// Global stream positions replica `replica` of `replicas` takes from the window [start, start + batch).
std::vector<int64_t> order_replica_positions(int64_t start, int64_t batch, int replicas, int replica);

// The cursor after consuming `count` more positions of a task with n samples.
TaskCursor order_advance(TaskCursor cursor, int64_t n, int64_t count);

}  // namespace ckf
