#ifdef CKF_WITH_CUDA
#include "dist/nccl_communicator.h"

#include <cstring>
#include <exception>

#include "kernels/cuda/check.h"

// Names the NCCL call and NCCL's own explanation; the base class adds collective, group and rank.
#define NCCL_CHECK(call)                                                                               \
  do {                                                                                                 \
    ncclResult_t ckf_nccl_ = (call);                                                                   \
    CKF_CHECK(ckf_nccl_ == ncclSuccess, #call << ": " << ncclGetErrorString(ckf_nccl_) << ": "         \
                                               << ncclGetLastError(nullptr));                          \
  } while (0)

namespace ckf {

static ncclDataType_t nccl_type(ElemType t) {
  switch (t) {
    case ElemType::f32: return ncclFloat32;
    case ElemType::f64: return ncclFloat64;
    case ElemType::i32: return ncclInt32;
    case ElemType::i64: return ncclInt64;
  }
  CKF_FAIL("no NCCL type for ElemType " << static_cast<int>(t));
}

static ncclRedOp_t nccl_op(ReduceOp op) { return op == ReduceOp::sum ? ncclSum : ncclMax; }

NcclCommunicator::NcclCommunicator(std::unique_ptr<MpiCommunicator> mpi, int device, cudaStream_t stream)
    : Communicator(mpi->name(), mpi->rank(), mpi->size()), mpi_(std::move(mpi)), device_(device), stream_(stream) {
  try {
    CUDA_CHECK(cudaSetDevice(device_));
    ncclUniqueId id;
    std::memset(&id, 0, sizeof(id));
    if (rank() == 0) NCCL_CHECK(ncclGetUniqueId(&id));
    static_assert(sizeof(id) % sizeof(int32_t) == 0, "ncclUniqueId is broadcast as int32 words");
    mpi_->broadcast(std::span<int32_t>(reinterpret_cast<int32_t*>(&id), sizeof(id) / sizeof(int32_t)), 0);
    NCCL_CHECK(ncclCommInitRank(&nccl_, size(), id, rank()));
  } catch (const Error& e) {
    throw Error(where("NCCL communicator setup") + " on GPU " + std::to_string(device_) + ": " + e.what());
  }
}

NcclCommunicator::~NcclCommunicator() {
  if (!nccl_) return;
  // Unwinding from an error: collectives this rank queued may never be matched by its peers, and
  // ncclCommDestroy would wait for them (a hang instead of a failed job); abort them instead.
  if (std::uncaught_exceptions() > 0)
    ncclCommAbort(nccl_);
  else
    ncclCommDestroy(nccl_);
}

std::unique_ptr<NcclCommunicator> NcclCommunicator::world(int device, cudaStream_t stream) {
  return std::make_unique<NcclCommunicator>(MpiCommunicator::world(), device, stream);
}

void NcclCommunicator::synchronize() {
  try {
    CUDA_CHECK(cudaStreamSynchronize(stream_));
  } catch (const Error& e) {
    throw Error(where("synchronize") + ": " + e.what());
  }
}

void NcclCommunicator::do_all_reduce(void* buf, int64_t count, ElemType type, ReduceOp op) {
  NCCL_CHECK(ncclAllReduce(buf, buf, count, nccl_type(type), nccl_op(op), nccl_, stream_));
}

void NcclCommunicator::do_all_gather(const void* send, void* recv, int64_t count, ElemType type) {
  NCCL_CHECK(ncclAllGather(send, recv, count, nccl_type(type), nccl_, stream_));
}

void NcclCommunicator::do_reduce_scatter(const void* send, void* recv, int64_t count, ElemType type, ReduceOp op) {
  NCCL_CHECK(ncclReduceScatter(send, recv, count, nccl_type(type), nccl_op(op), nccl_, stream_));
}

void NcclCommunicator::do_broadcast(void* buf, int64_t count, ElemType type, int root) {
  NCCL_CHECK(ncclBroadcast(buf, buf, count, nccl_type(type), root, nccl_, stream_));
}

// NCCL has no barrier: drain this rank's queued collectives, then meet over MPI.
void NcclCommunicator::do_barrier() {
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  mpi_->barrier();
}

std::unique_ptr<Communicator> NcclCommunicator::do_split(int color, int key, const std::string& name) {
  auto sub = mpi_->split_mpi(color, key, name);
  if (!sub) return nullptr;
  return std::make_unique<NcclCommunicator>(std::move(sub), device_, stream_);
}

}  // namespace ckf
#endif  // CKF_WITH_CUDA
