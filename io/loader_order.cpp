#include "io/loader_order.h"

#include <algorithm>

#include "core/check.h"
#include "core/hash.h"

namespace ckf {

namespace {


constexpr int kFeistelRounds = 6;  // 3 suffice for a pseudo-random permutation; 6 mix small domains well

// One pass of the network on [0, 4^half): a bijection whatever the round function.
uint64_t feistel(uint64_t x, int half, uint64_t key) {
  const uint64_t mask = (uint64_t(1) << half) - 1;
  uint64_t left = x >> half, right = x & mask;
  for (int r = 0; r < kFeistelRounds; ++r) {
    uint64_t f = splitmix64_finalize(key ^ splitmix64_finalize(right + (uint64_t(r) << 56))) & mask;
    uint64_t next = left ^ f;
    left = right;
    right = next;
  }
  return (left << half) | right;
}

}  // namespace

uint64_t order_key(uint64_t seed, Task task, int64_t epoch) {
  return splitmix64_finalize(splitmix64_finalize(seed ^ 0x6c6f61646572ULL) ^ splitmix64_finalize((uint64_t(task) << 48) ^ uint64_t(epoch)));
}

int64_t order_permute(int64_t n, uint64_t key, int64_t index) {
  CKF_CHECK(n > 0 && index >= 0 && index < n, "order_permute: index " << index << " outside [0, " << n << ")");
  int half = 1;
  while ((uint64_t(1) << (2 * half)) < uint64_t(n)) ++half;
  // Cycle walking: the cycle of the network through index returns to index, so it meets [0, n).
  uint64_t x = uint64_t(index);
  do x = feistel(x, half, key);
  while (x >= uint64_t(n));
  return int64_t(x);
}

EpochOrder order_epoch(uint64_t seed, Task task, int64_t epoch, const std::vector<int64_t>& sizes, int64_t window) {
  CKF_CHECK(window >= 0, "shard window " << window << " must be >= 0");
  const uint64_t key = order_key(seed, task, epoch);
  const int64_t S = int64_t(sizes.size());
  EpochOrder o;
  o.epoch = epoch;
  o.window = window == 0 || window > S ? S : window;
  o.visit_start = {0};
  for (int64_t v = 0; v < S; ++v) {
    // One window of everything keeps the shards in index order: the permutation covers them all.
    o.visit.push_back(o.window == S ? v : order_permute(S, splitmix64_finalize(key ^ 0x7368617264ULL), v));
    CKF_CHECK(sizes[size_t(o.visit.back())] >= 0, "shard " << o.visit.back() << " has a negative size");
    o.visit_start.push_back(o.visit_start.back() + sizes[size_t(o.visit.back())]);
  }
  CKF_CHECK(S > 0 && o.visit_start.back() > 0, "order_epoch: the task's shards hold no samples");
  for (int64_t w = 0; w * o.window < S; ++w) o.window_key.push_back(splitmix64_finalize(key ^ splitmix64_finalize(uint64_t(w) + 1)));
  return o;
}

SampleRef order_locate(const EpochOrder& o, int64_t place) {
  CKF_CHECK(place >= 0 && place < o.visit_start.back(),
            "order_locate: place " << place << " outside the epoch's " << o.visit_start.back() << " samples");
  auto visited = [&](int64_t p) {  // index into visit of the shard holding epoch place p
    return int64_t(std::upper_bound(o.visit_start.begin(), o.visit_start.end(), p) - o.visit_start.begin() - 1);
  };
  const int64_t S = int64_t(o.visit.size()), w = visited(place) / o.window;
  const int64_t begin = o.visit_start[size_t(w * o.window)],
                end = o.visit_start[size_t(std::min(S, (w + 1) * o.window))];
  int64_t p = begin + order_permute(end - begin, o.window_key[size_t(w)], place - begin);
  int64_t v = visited(p);
  return SampleRef{o.visit[size_t(v)], p - o.visit_start[size_t(v)]};
}

std::vector<int64_t> order_replica_positions(int64_t start, int64_t batch, int replicas, int replica) {
  CKF_CHECK(replicas >= 1 && replica >= 0 && replica < replicas,
            "replica " << replica << " outside [0, " << replicas << ")");
  std::vector<int64_t> out;
  for (int64_t k = replica; k < batch; k += replicas) out.push_back(start + k);
  return out;
}

TaskCursor order_advance(TaskCursor c, int64_t n, int64_t count) {
  int64_t g = c.epoch * n + c.position + count;
  return TaskCursor{c.task, g / n, g % n};
}

}  // namespace ckf
