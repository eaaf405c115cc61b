// Gathers blocks dealt round-robin over the ranks of a group (block k on rank k % size, each rank
// holding its blocks in order, padded to the same count) back into block order on every rank.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "dist/communicator.h"

namespace ckf {

// local: (ceil(blocks / size) * block_elems) this rank's blocks; returns (total) the blocks in
// order, cut to total elements (the last block may be partial). comm may be null: one rank.
std::vector<float> gather_blocks(Communicator* comm, std::span<const float> local, int64_t block_elems,
                                 int64_t total);

}  // namespace ckf
