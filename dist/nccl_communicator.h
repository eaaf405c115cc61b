// NcclCommunicator: collectives on device memory through NCCL, queued on one CUDA stream. The
// group's NCCL communicator is created once, at construction, from a ncclUniqueId that rank 0 of
// the group makes and broadcasts over the MPI communicator of the same group (kept for that and
// for barrier). Only in builds with CUDA (CKF_WITH_CUDA).
#pragma once
#ifdef CKF_WITH_CUDA
#include <cuda_runtime.h>
#include <nccl.h>

#include <memory>
#include <string>

#include "dist/mpi_communicator.h"

namespace ckf {

class NcclCommunicator : public Communicator {
 public:
  // Collective over `mpi`'s group: every rank passes the GPU it drives (distinct GPUs within a
  // group, as NCCL requires) and the stream its collectives go on (null: the legacy default
  // stream, ordered with all other work on the device).
  NcclCommunicator(std::unique_ptr<MpiCommunicator> mpi, int device, cudaStream_t stream = nullptr);
  ~NcclCommunicator() override;

  // Over every rank of the job, named "world".
  static std::unique_ptr<NcclCommunicator> world(int device, cudaStream_t stream = nullptr);

  Device device() const override { return Device::cuda; }
  void synchronize() override;
  cudaStream_t stream() const { return stream_; }
  // Later collectives (of this group only) go on `stream`.
  void set_stream(cudaStream_t stream) { stream_ = stream; }
  MpiCommunicator& mpi() { return *mpi_; }

 protected:
  void do_all_reduce(void* buf, int64_t count, ElemType type, ReduceOp op) override;
  void do_all_gather(const void* send, void* recv, int64_t count, ElemType type) override;
  void do_reduce_scatter(const void* send, void* recv, int64_t count, ElemType type, ReduceOp op) override;
  void do_broadcast(void* buf, int64_t count, ElemType type, int root) override;
  void do_barrier() override;
  std::unique_ptr<Communicator> do_split(int color, int key, const std::string& name) override;

 private:
  std::unique_ptr<MpiCommunicator> mpi_;  // the same group over MPI: bootstrap and barrier
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  ncclComm_t nccl_ = nullptr;
};

}  // namespace ckf
#endif  // CKF_WITH_CUDA
