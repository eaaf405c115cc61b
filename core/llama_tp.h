// Tensor parallelism as the decoder sees it (Megatron style). A tp rank holds a slice of the
// attention heads, the KV heads, the MLP's intermediate width and the vocabulary:
//   column-parallel q, k, v, gate, up: output rows split; input replicated, no forward collective;
//     backward all-reduces the input gradient (each rank saw only its output slice);
//   row-parallel o, down: input columns split; forward all-reduces the partial output;
//   vocab-parallel embedding and LM head: vocabulary rows split (core/vocab_parallel.h).
// LoRA follows the base split (core/lora.h): on a column base A is replicated and B split by rows;
// on a row base A is split by columns and B replicated. The row-base delta B (A_r x_r) is added to
// the partial output before its all-reduce, so the sum over ranks is B A x with no extra collective;
// the price is that dB there is a per-rank partial sum, as dA is on a column base, and the gradient
// sync sums both over tp (dist/grad_sync.h).
// The decoder reaches the group through TpComm only, so core stays free of MPI and NCCL;
// dist/tp_communicator.h adapts a Communicator.
#pragma once
#include <cstdint>

#include "core/llama_config.h"

namespace ckf {

// The three collectives the decoder's tensor-parallel layers need, over host fp32 buffers.
class TpComm {
 public:
  virtual ~TpComm() = default;
  virtual void all_reduce_sum(float* buf, int64_t n) = 0;
  virtual void all_reduce_max(float* buf, int64_t n) = 0;
  // send (n) from every rank -> recv (size*n), rank r's block at r*n.
  virtual void all_gather(const float* send, float* recv, int64_t n) = 0;
};

struct LlamaTp {
  int rank = 0;
  int size = 1;
  TpComm* comm = nullptr;  // required when size > 1
};

// The slice one tp rank computes: n_heads, n_kv_heads, ffn and vocab divided by tp_size (head_dim,
// d_model and the rest unchanged). Throws naming the field that does not divide.
LlamaConfig llama_config_tp_local(const LlamaConfig& cfg, int tp_size);

// Throws unless 0 <= rank < size and a communicator is present when size > 1.
void llama_tp_validate(const LlamaTp& tp);

// In-place sum over the tp group; nothing to do on a single rank.
void tp_all_reduce_sum(const LlamaTp& tp, float* buf, int64_t n);

}  // namespace ckf
