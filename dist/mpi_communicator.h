// MpiCommunicator: collectives on host memory over an MPI communicator (the CPU backend, and the
// bootstrap channel of the NCCL one). MPI reports errors as codes (MPI_ERRORS_RETURN on every
// communicator made here), which become ckf::Error naming the MPI call.
#pragma once
#include <mpi.h>

#include <memory>
#include <string>

#include "dist/communicator.h"

namespace ckf {

class MpiCommunicator : public Communicator {
 public:
  // Takes ownership of `comm` (freed on destruction).
  MpiCommunicator(MPI_Comm comm, std::string name);
  ~MpiCommunicator() override;

  // A duplicate of MPI_COMM_WORLD named "world"; world_init (dist/world.h) must have run.
  static std::unique_ptr<MpiCommunicator> world();

  Device device() const override { return Device::cpu; }
  MPI_Comm comm() const { return comm_; }
  // split() with the concrete type, for backends that bootstrap over the sub-group.
  std::unique_ptr<MpiCommunicator> split_mpi(int color, int key, const std::string& name);

 protected:
  void do_all_reduce(void* buf, int64_t count, ElemType type, ReduceOp op) override;
  void do_all_gather(const void* send, void* recv, int64_t count, ElemType type) override;
  void do_reduce_scatter(const void* send, void* recv, int64_t count, ElemType type, ReduceOp op) override;
  void do_broadcast(void* buf, int64_t count, ElemType type, int root) override;
  void do_barrier() override;
  std::unique_ptr<Communicator> do_split(int color, int key, const std::string& name) override;

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

// Throws ckf::Error "<call>: <MPI error string>" when code is not MPI_SUCCESS.
void mpi_check(int code, const char* call);

}  // namespace ckf
