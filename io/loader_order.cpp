#include "io/loader_order.h"

#include "core/check.h"

namespace ckf {

namespace {

uint64_t mix64(uint64_t z) {  // splitmix64 finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr int kFeistelRounds = 6;  // 3 suffice for a pseudo-random permutation; 6 mix small domains well

// One pass of the network on [0, 4^half): a bijection whatever the round function.
uint64_t feistel(uint64_t x, int half, uint64_t key) {
  const uint64_t mask = (uint64_t(1) << half) - 1;
  uint64_t left = x >> half, right = x & mask;
  for (int r = 0; r < kFeistelRounds; ++r) {
    uint64_t f = mix64(key ^ mix64(right + (uint64_t(r) << 56))) & mask;
    uint64_t next = left ^ f;
    left = right;
    right = next;
  }
  return (left << half) | right;
}

}  // namespace

uint64_t order_key(uint64_t seed, Task task, int64_t epoch) {
  return mix64(mix64(seed ^ 0x6c6f61646572ULL) ^ mix64((uint64_t(task) << 48) ^ uint64_t(epoch)));
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

int64_t order_sample(uint64_t seed, Task task, int64_t n, int64_t g) {
  CKF_CHECK(n > 0 && g >= 0, "order_sample: position " << g << " of a task with " << n << " samples");
  return order_permute(n, order_key(seed, task, g / n), g % n);
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
