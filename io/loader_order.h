// Sample order of the streaming loader: a pure function of (seed, task, epoch, global position), so
// a run resumes mid-epoch from a cursor alone and survives a change in the number of replicas.
//
// Each task is an endless stream of global positions g = 0, 1, 2, ...: position g is sample
// order_permute(N, order_key(seed, task, g / N), g % N) of the task's N samples (all its shards
// concatenated in index order), so every epoch is a fresh permutation and epochs roll over inside
// a step. At each global step the task consumes the window [c, c + B) of its stream (c: its cursor,
// B: its global batch); replica j of the R replicas serving the task takes the positions
// c + j, c + j + R, c + j + 2R, ... of that window. The union over replicas is the whole window
// whatever R is, so resuming at a step boundary with another R neither repeats nor skips a sample.
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

// Sample index (into the task's concatenated shards, n samples) at global stream position g.
int64_t order_sample(uint64_t seed, Task task, int64_t n, int64_t g);

// Global stream positions replica `replica` of `replicas` takes from the window [start, start + batch).
std::vector<int64_t> order_replica_positions(int64_t start, int64_t batch, int replicas, int replica);

// The cursor after consuming `count` more positions of a task with n samples.
TaskCursor order_advance(TaskCursor cursor, int64_t n, int64_t count);

}  // namespace ckf
