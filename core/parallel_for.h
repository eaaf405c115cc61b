// Static partition of [0, n) into `threads` contiguous chunks run on std::threads. Callers keep
// results independent of the thread count by giving every output element to exactly one chunk
// and accumulating it in a fixed order.
#pragma once
#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace ckf {

template <class Fn>  // fn(int64_t begin, int64_t end, int chunk)
void parallel_for(int threads, int64_t n, const Fn& fn) {
  int t = int(std::clamp<int64_t>(threads, 1, std::max<int64_t>(n, 1)));
  if (t == 1) {
    fn(int64_t(0), n, 0);
    return;
  }
  std::vector<std::thread> pool;
  for (int c = 1; c < t; ++c) pool.emplace_back([&, c] { fn(n * c / t, n * (c + 1) / t, c); });
  fn(int64_t(0), n / t, 0);
  for (auto& th : pool) th.join();
}

}  // namespace ckf
