#include "dist/gather_blocks.h"

#include <algorithm>

#include "core/check.h"

namespace ckf {

std::vector<float> gather_blocks(Communicator* comm, std::span<const float> local, int64_t block_elems,
                                 int64_t total) {
  const int ranks = comm ? comm->size() : 1;
  CKF_CHECK(block_elems >= 1 && total >= 0, "gather_blocks: block of " << block_elems << ", total " << total);
  if (total == 0) return {};
  const int64_t blocks = (total + block_elems - 1) / block_elems, owned = (blocks + ranks - 1) / ranks;
  CKF_CHECK(int64_t(local.size()) == owned * block_elems,
            "gather_blocks: " << local.size() << " local elements, expected " << owned * block_elems);
  std::vector<float> all(size_t(ranks) * local.size());  // (ranks, owned, block_elems)
  if (comm) comm->all_gather(local, std::span<float>(all));
  else std::copy(local.begin(), local.end(), all.begin());
  std::vector<float> out(static_cast<size_t>(total));
  for (int64_t k = 0; k < blocks; ++k) {
    const int64_t r = k % ranks, j = k / ranks, n = std::min(block_elems, total - k * block_elems);
    const float* src = all.data() + (r * owned + j) * block_elems;
    std::copy(src, src + n, out.begin() + k * block_elems);
  }
  return out;
}

}  // namespace ckf
