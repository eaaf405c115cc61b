// The decoder's view of the tp group (core/llama_tp.h TpComm) over a Communicator: the model code
// in core stays free of MPI and NCCL, and its collectives are counted with the group's others.
#pragma once
#include "core/llama_tp.h"
#include "dist/communicator.h"

namespace ckf {

class CommunicatorTp : public TpComm {
 public:
  explicit CommunicatorTp(Communicator& tp) : tp_(tp) {}
  void all_reduce_sum(float* buf, int64_t n) override { tp_.all_reduce(buf, n, ElemType::f32, ReduceOp::sum); }
  void all_reduce_max(float* buf, int64_t n) override { tp_.all_reduce(buf, n, ElemType::f32, ReduceOp::max); }
  void all_gather(const float* send, float* recv, int64_t n) override {
    tp_.all_gather(send, recv, n, ElemType::f32);
  }
  // The LlamaTp of this rank of the group; the communicator must outlive it.
  LlamaTp llama_tp() { return {tp_.rank(), tp_.size(), this}; }

 private:
  Communicator& tp_;
};

}  // namespace ckf
