// NcclCommunicator on device buffers against the same closed forms as the MPI tests. Needs a
// device per rank (tests/mpi/mpi_cuda_util.h): skipped without CUDA or with too few GPUs; in the
// emulated build (CKF_CUDA=EMU) every rank has its own and the NCCL emulator carries the data.
// Integer-valued f32 inputs keep sums exact, so results compare with tolerance 0. The largest size
// is more than the emulator's 512 KiB shared-memory slot, so its chunking is exercised too.
#include <gtest/gtest.h>

#include <vector>

#include "core/check.h"
#include "dist/mpi_communicator.h"
#include "dist/nccl_communicator.h"
#ifdef CKF_WITH_CUDA
#include "kernels/cuda/check.h"
#include "mpi_cuda_util.h"
#endif

using namespace ckf;

namespace {

#ifdef CKF_WITH_CUDA

using mpitest::rank_device;

std::vector<float> rank_values(int r, int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = float((r + 1) * 1000 + (i % 97) + 1) * (i % 2 ? 1.0f : -1.0f);
  return v;
}

struct DeviceBuffer {
  explicit DeviceBuffer(int64_t n) : n(n) { CUDA_CHECK(cudaMalloc(&p, n * sizeof(float))); }
  ~DeviceBuffer() { cudaFree(p); }
  void upload(const std::vector<float>& v) {
    CUDA_CHECK(cudaMemcpy(p, v.data(), n * 4, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaDeviceSynchronize());  // landed before NCCL reads it on another stream
  }
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
  const int device = rank_device(*mpi, &why);
  if (device < 0) GTEST_SKIP() << why;
  const int p = mpi->size(), me = mpi->rank();
  auto nccl = NcclCommunicator::world(device);
  EXPECT_EQ(nccl->name(), "world");
  EXPECT_EQ(nccl->device(), Device::cuda);
  const std::vector<int64_t> sizes = {1, 7, 4097, 300007};
  for (int64_t n : sizes) {
    DeviceBuffer buf(n), full(n * p);
    std::vector<std::vector<float>> values, values_full;  // (p, n), (p, n * p)
    for (int r = 0; r < p; ++r) values.push_back(rank_values(r, n)), values_full.push_back(rank_values(r, n * p));
    buf.upload(values[me]);
    nccl->all_reduce(std::span<float>(buf.p, n));
    nccl->synchronize();
    std::vector<float> got = buf.download();
    for (int64_t i = 0; i < n; ++i) {
      double want = 0;
      for (int r = 0; r < p; ++r) want += values[r][i];
      ASSERT_EQ(got[i], want) << "all_reduce n " << n << " i " << i;
    }
    buf.upload(values[me]);
    nccl->all_gather(std::span<const float>(buf.p, n), std::span<float>(full.p, n * p));
    nccl->synchronize();
    got = full.download();
    for (int r = 0; r < p; ++r)
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(got[r * n + i], values[r][i]) << "all_gather n " << n;
    full.upload(values_full[me]);
    nccl->reduce_scatter(std::span<const float>(full.p, n * p), std::span<float>(buf.p, n), ReduceOp::max);
    nccl->synchronize();
    got = buf.download();
    for (int64_t i = 0; i < n; ++i) {
      double want = -1e30;
      for (int r = 0; r < p; ++r) want = std::max<double>(want, values_full[r][me * n + i]);
      ASSERT_EQ(got[i], want) << "reduce_scatter max n " << n;
    }
    buf.upload(rank_values(me, n));
    nccl->broadcast(std::span<float>(buf.p, n), p - 1);
    nccl->synchronize();
    EXPECT_EQ(buf.download(), values[p - 1]);
  }
  nccl->barrier();
  uint64_t want_bytes = 0;
  for (int64_t n : sizes) want_bytes += 2 * (p - 1) * uint64_t(n) * 4 / p;
  EXPECT_EQ(nccl->counter(Collective::all_reduce).bytes, want_bytes);
}

TEST(NcclCommunicator, SplitMakesOneCommunicatorPerSubGroup) {
  auto mpi = MpiCommunicator::world();
  std::string why;
  const int device = rank_device(*mpi, &why);
  if (device < 0) GTEST_SKIP() << why;
  const int me = mpi->rank();
  auto nccl = NcclCommunicator::world(device);
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

#ifdef CKF_CUDA_EMU
// Ranks issuing different collectives on one communicator would hang or mix buffers on a GPU; the
// NCCL emulator (tests/cuda_emu/nccl_emu.cpp) fails every rank, naming both calls, and the
// communicator stays usable.
TEST(NcclCommunicator, EmulatorReportsMismatchedCalls) {
  auto mpi = MpiCommunicator::world();
  if (mpi->size() == 1) GTEST_SKIP() << "needs two ranks";
  auto nccl = NcclCommunicator::world(0);
  DeviceBuffer x(3);
  x.upload({1.0f, 2.0f, 3.0f});
  std::string msg;
  try {
    if (mpi->rank() == 0) nccl->all_reduce(std::span<float>(x.p, 3));
    else nccl->broadcast(std::span<float>(x.p, 3), 0);
  } catch (const Error& e) {
    msg = e.what();
  }
  const char* want = mpi->rank() == 0 ? "while rank 1 called ncclBroadcast (count 3"
                                       : "while rank 0 called ncclAllReduce (count 3";
  EXPECT_NE(msg.find(want), std::string::npos) << "error was: '" << msg << "'";
  nccl->all_reduce(std::span<float>(x.p, 3));
  nccl->synchronize();
  EXPECT_EQ(x.download(), (std::vector<float>{float(mpi->size()), 2.0f * mpi->size(), 3.0f * mpi->size()}));
}
#endif

#else

TEST(NcclCommunicator, NotBuilt) { GTEST_SKIP() << "built without CUDA: no NcclCommunicator"; }

#endif

}  // namespace
