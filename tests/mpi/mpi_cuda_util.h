// The device each rank drives in a multi-rank CUDA test, agreed over the world so that every rank
// runs a test or every rank skips it (a lone skipping rank would leave the others in a collective).
#pragma once
#ifdef CKF_WITH_CUDA
#include <cstdint>
#include <string>

#include "dist/communicator.h"
#include "kernels/device.h"

namespace ckf::mpitest {

// The GPU this rank drives, or -1 on every rank when some rank has none usable (*why says so).
// Real GPUs: NCCL refuses two ranks of one group on one GPU, so on one node rank r takes GPU r and
// every rank must see at least world-size GPUs. Emulated build (CKF_CUDA_EMU): each process owns
// its emulated device 0, like a rank that sees only its own GPU.
inline int rank_device(Communicator& world, std::string* why) {
  const GpuQuery q = gpu_query();
#ifdef CKF_CUDA_EMU
  const int need = 1, mine = 0;
#else
  const int need = world.size(), mine = world.rank();
#endif
  int32_t missing = static_cast<int>(q.gpus.size()) >= need ? 0 : 1;
  world.all_reduce(std::span<int32_t>(&missing, 1), ReduceOp::max);
  *why = missing ? "a rank sees fewer than " + std::to_string(need) + " usable GPU(s) for " +
                       std::to_string(world.size()) + " rank(s)" + (q.gpus.empty() ? ": " + q.why_none : "")
                 : "";
  return missing ? -1 : mine;
}

}  // namespace ckf::mpitest
#endif  // CKF_WITH_CUDA
