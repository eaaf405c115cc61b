#include "io/checkpoint_reshard.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"

namespace ckf {

namespace {

// Half-open box [lo, hi) per dimension, in global indices.
struct Box {
  std::vector<int64_t> lo, hi;
  bool empty() const {
    for (size_t d = 0; d < lo.size(); d++)
      if (lo[d] >= hi[d]) return true;
    return false;
  }
};

Box box_of(const std::string& name, const Shape& global, int split_dim, int64_t offset, const Shape& local) {
  CKF_CHECK(local.size() == global.size(), "tensor '" << name << "': shard shape " << shape_str(local)
                                                      << " does not match global " << shape_str(global));
  CKF_CHECK(split_dim >= -1 && split_dim < static_cast<int>(global.size()),
            "tensor '" << name << "': split_dim " << split_dim << " out of range for " << shape_str(global));
  Box b{std::vector<int64_t>(global.size(), 0), std::vector<int64_t>(global.begin(), global.end())};
  for (size_t d = 0; d < global.size(); d++) {
    if (static_cast<int>(d) == split_dim) {
      b.lo[d] = offset;
      b.hi[d] = offset + local[d];
    }
    CKF_CHECK(b.hi[d] - b.lo[d] == local[d] && b.lo[d] >= 0 && b.hi[d] <= global[d],
              "tensor '" << name << "': shard " << shape_str(local) << " at offset " << offset << " on dim "
                         << split_dim << " does not fit global " << shape_str(global));
  }
  return b;
}

Box intersect(const Box& a, const Box& b) {
  Box r = a;
  for (size_t d = 0; d < a.lo.size(); d++) {
    r.lo[d] = std::max(a.lo[d], b.lo[d]);
    r.hi[d] = std::min(a.hi[d], b.hi[d]);
  }
  return r;
}

// Row-major flat index of global index `g` inside box `b`.
int64_t flat_in(const Box& b, const std::vector<int64_t>& g) {
  int64_t idx = 0;
  for (size_t d = 0; d < g.size(); d++) idx = idx * (b.hi[d] - b.lo[d]) + (g[d] - b.lo[d]);
  return idx;
}

// Calls fn(start) for every contiguous run along the last dimension of `b` (length hi-lo of it);
// start is the global index of the run's first element.
template <class Fn> void for_each_run(const Box& b, Fn fn) {
  const size_t nd = b.lo.size();
  if (nd == 0) return fn(std::vector<int64_t>{});
  std::vector<int64_t> g = b.lo;
  while (true) {
    fn(g);
    size_t d = nd - 1;
    while (d-- > 0) {
      if (++g[d] < b.hi[d]) break;
      g[d] = b.lo[d];
    }
    if (d == static_cast<size_t>(-1)) return;
  }
}

}  // namespace

void reshard_fill(Param& target, const TensorEntry& entry, const ShardLoader& load) {
  CKF_CHECK(entry.global_shape == target.global_shape,
            "checkpoint tensor '" << entry.name << "' (" << entry.group << ") has global shape "
                                  << shape_str(entry.global_shape) << ", the model has " << shape_str(target.global_shape));
  const Box want = box_of(target.name, target.global_shape, target.split_dim, target.split_offset, target.value.shape());
  float* dst = target.value.data<float>();
  std::vector<uint8_t> filled(static_cast<size_t>(target.value.numel()), 0);  // (numel) per element
  int64_t n_filled = 0;
  for (const ShardRef& s : entry.shards) {
    const Box have = box_of(entry.name, entry.global_shape, s.split_dim, s.split_offset, s.shape);
    const Box both = intersect(want, have);
    if (both.empty()) continue;
    bool needed = false;
    for_each_run(both, [&](const std::vector<int64_t>& g) {
      const int64_t at = flat_in(want, g);
      const int64_t len = both.lo.empty() ? 1 : both.hi.back() - both.lo.back();
      needed = needed || std::find(filled.begin() + at, filled.begin() + at + len, 0) != filled.begin() + at + len;
    });
    if (!needed) continue;
    const std::vector<float> src = load(s);
    CKF_CHECK(static_cast<int64_t>(src.size()) == shape_numel(s.shape),
              "checkpoint tensor '" << entry.name << "' of rank " << s.rank << ": " << src.size()
                                    << " values for shape " << shape_str(s.shape));
    for_each_run(both, [&](const std::vector<int64_t>& g) {
      const int64_t at = flat_in(want, g);
      const int64_t len = both.lo.empty() ? 1 : both.hi.back() - both.lo.back();
      std::memcpy(dst + at, src.data() + flat_in(have, g), static_cast<size_t>(len) * sizeof(float));
      for (int64_t i = at; i < at + len; i++) {
        n_filled += filled[i] == 0;
        filled[i] = 1;
      }
    });
  }
  CKF_CHECK(n_filled == target.value.numel(),
            "checkpoint tensor '" << entry.name << "' (" << entry.group << "): its shards cover " << n_filled << " of the "
                                  << target.value.numel() << " elements of this rank's slice");
}

}  // namespace ckf
