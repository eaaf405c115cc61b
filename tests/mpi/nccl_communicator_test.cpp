// NcclCommunicator on device buffers against the same closed forms as the MPI tests. Needs one
// GPU per rank (NCCL refuses two ranks on one GPU): skipped without CUDA or with too few GPUs.
// Integer-valued f32 inputs keep sums exact, so results compare with tolerance 0.
#include <gtest/gtest.h>

#include <vector>

#include "core/check.h"
#include "dist/mpi_communicator.h"
#include "dist/nccl_communicator.h"
#ifdef CKF_WITH_CUDA
#include "kernels/cuda/check.h"
#endif

using namespace ckf;

namespace {

#ifdef CKF_WITH_CUDA

// Skips unless every rank of the world has its own GPU; the same answer on every rank.
bool gpus_for_every_rank(MpiCommunicator& world, std::string* why) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    count = 0;
  }
  // The fewest GPUs any rank sees (max of negated counts), so every rank skips or none does.
  int32_t neg = -count;
  world.all_reduce(std::span<int32_t>(&neg, 1), ReduceOp::max);
  *why = std::to_string(-neg) + " GPU(s) visible for " + std::to_string(world.size()) + " rank(s)";
  return -neg >= world.size();
}

std::vector<float> rank_values(int r, int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = float((r + 1) * 1000 + (i % 97) + 1) * (i % 2 ? 1.0f : -1.0f);
  return v;
}

struct DeviceBuffer {
  explicit DeviceBuffer(int64_t n) : n(n) { CUDA_CHECK(cudaMalloc(&p, n * sizeof(float))); }
  ~DeviceBuffer() { cudaFree(p); }
  void upload(const std::vector<float>& v) { CUDA_CHECK(cudaMemcpy(p, v.data(), n * 4, cudaMemcpyHostToDevice)); }
  std::vector<float> download() const {
    std::vector<float> v(n);
    CUDA_CHECK(cudaMemcpy(v.data(), p, n * 4, cudaMemcpyDeviceToHost));
    return v;
  }
  float* p = nullptr;
  int64_t n;
};

TEST(NcclCommunicator, CollectivesMatchClosedForms) {
  auto mpi = MpiCommunicator::world();
  std::string why;
  if (!gpus_for_every_rank(*mpi, &why)) GTEST_SKIP() << why;
  const int p = mpi->size(), me = mpi->rank();
  auto nccl = NcclCommunicator::world(me);
  EXPECT_EQ(nccl->name(), "world");
  EXPECT_EQ(nccl->device(), Device::cuda);
  for (int64_t n : {1, 7, 4097}) {
    DeviceBuffer buf(n), full(n * p);
    buf.upload(rank_values(me, n));
    nccl->all_reduce(std::span<float>(buf.p, n));
    nccl->synchronize();
    std::vector<float> got = buf.download();
    for (int64_t i = 0; i < n; ++i) {
      double want = 0;
      for (int r = 0; r < p; ++r) want += rank_values(r, n)[i];
      ASSERT_EQ(got[i], want) << "all_reduce n " << n << " i " << i;
    }
    buf.upload(rank_values(me, n));
    nccl->all_gather(std::span<const float>(buf.p, n), std::span<float>(full.p, n * p));
    nccl->synchronize();
    got = full.download();
    for (int r = 0; r < p; ++r)
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(got[r * n + i], rank_values(r, n)[i]) << "all_gather";
    full.upload(rank_values(me, n * p));
    nccl->reduce_scatter(std::span<const float>(full.p, n * p), std::span<float>(buf.p, n), ReduceOp::max);
    nccl->synchronize();
    got = buf.download();
    for (int64_t i = 0; i < n; ++i) {
      double want = -1e30;
      for (int r = 0; r < p; ++r) want = std::max<double>(want, rank_values(r, n * p)[me * n + i]);
      ASSERT_EQ(got[i], want) << "reduce_scatter max";
    }
    buf.upload(rank_values(me, n));
    nccl->broadcast(std::span<float>(buf.p, n), p - 1);
    nccl->synchronize();
    EXPECT_EQ(buf.download(), rank_values(p - 1, n));
  }
  nccl->barrier();
  uint64_t want_bytes = 0;
  for (uint64_t n : {1, 7, 4097}) want_bytes += 2 * (p - 1) * n * 4 / p;
  EXPECT_EQ(nccl->counter(Collective::all_reduce).bytes, want_bytes);
}

TEST(NcclCommunicator, SplitMakesOneCommunicatorPerSubGroup) {
  auto mpi = MpiCommunicator::world();
  std::string why;
  if (!gpus_for_every_rank(*mpi, &why)) GTEST_SKIP() << why;
  const int me = mpi->rank();
  auto nccl = NcclCommunicator::world(me);
  auto sub = nccl->split(me % 2, me, "parity");
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(sub->device(), Device::cuda);
  DeviceBuffer x(1);
  x.upload({float(me + 1)});
  sub->all_reduce(std::span<float>(x.p, 1));
  sub->synchronize();
  float want = 0;
  for (int r = 0; r < mpi->size(); ++r)
    if (r % 2 == me % 2) want += r + 1;
  EXPECT_EQ(x.download()[0], want);
  // Host tensors are refused with the group named.
  Tensor host = Tensor::empty({2});
  EXPECT_THROW(sub->all_reduce(host), Error);
}

#else

TEST(NcclCommunicator, NotBuilt) { GTEST_SKIP() << "built without CUDA: no NcclCommunicator"; }

#endif

}  // namespace
