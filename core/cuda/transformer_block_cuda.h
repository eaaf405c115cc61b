// One LLaMA decoder block on the device (twin of core/transformer_block.h, tp = 1), built from the
// kernels/cuda ops: bf16 activations, fp32 accumulation, Multi-LoRA deltas routed by task segment.
//   x_mid = x + o(attn(rope(q(n1)), rope(k(n1)), v(n1))),  n1 = rmsnorm(x)
//   x_out = x_mid + down(silu(gate(n2)) * up(n2)),          n2 = rmsnorm(x_mid)
// As in llm.c each residual add is fused with the norm that follows it (rmsnorm_residual_forward):
// a block receives n1 already computed (by the previous block, or the model for layer 0) and
// writes the norm of its output for whoever comes next (the next block's n1, or the final norm).
// The attention saves each row's log-sum-exp instead of the (T, T) probabilities.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/cuda/llama_weights_cuda.h"
#include "core/cuda/multi_lora_cuda.h"
#include "core/llama_config.h"

namespace ckf::cuda {

// Activations of one block kept for backward; the block input lives in the model's residual buffer.
struct LayerActsCuda {
  DeviceBuffer<Bf16> ln1;                                 // (N, C) rmsnorm(x), written before the block runs
  DeviceBuffer<float> ln1_rstd;                           // (N)
  DeviceBuffer<Bf16> q;                                   // (N, H*D) after rotary
  DeviceBuffer<Bf16> k;                                   // (N, KVH*D) after rotary
  DeviceBuffer<Bf16> v;                                   // (N, KVH*D)
  DeviceBuffer<float> lse;                                // (B, H, T) attention log-sum-exp
  DeviceBuffer<Bf16> atty;                                // (N, H*D) attention output before o
  DeviceBuffer<Bf16> x_mid;                               // (N, C) residual after attention
  DeviceBuffer<Bf16> ln2;                                 // (N, C) rmsnorm(x_mid)
  DeviceBuffer<float> ln2_rstd;                           // (N)
  DeviceBuffer<Bf16> gate;                                // (N, F)
  DeviceBuffer<Bf16> up;                                  // (N, F)
  DeviceBuffer<Bf16> act;                                 // (N, F) silu(gate) * up
  std::array<DeviceBuffer<Bf16>, kLoraTargets> h_shared;  // (N, r_shared) x A^T; empty where no adapter sits
  std::array<DeviceBuffer<Bf16>, kLoraTargets> h_task;    // (N, r_task) per segment's task adapter
};

// Buffers every block reuses: o and down outputs before their residual add, and backward's.
struct BlockScratchCuda {
  DeviceBuffer<Bf16> proj_out;  // (N, C)
  DeviceBuffer<Bf16> dln;       // (N, C)
  DeviceBuffer<Bf16> datty;     // (N, H*D)
  DeviceBuffer<Bf16> dq;        // (N, H*D)
  DeviceBuffer<Bf16> dk;        // (N, KVH*D)
  DeviceBuffer<Bf16> dv;        // (N, KVH*D)
  DeviceBuffer<Bf16> dact;      // (N, F)
  DeviceBuffer<Bf16> dgate;     // (N, F)
  DeviceBuffer<Bf16> dup;       // (N, F)
  DeviceBuffer<float> delta;    // (B, H, T) attention backward's rowsum(dout * out)
  DeviceBuffer<Bf16> dh;        // (N, max r) an adapter's intermediate gradient
  DeviceBuffer<Bf16> drop_x;    // (N, widest adapter input) dropped input; empty without dropout
  DeviceBuffer<Bf16> drop_dx;   // (N, widest adapter input) its gradient
};

// The batch a block runs on and how its rows are routed to adapters.
struct BlockRunCuda {
  const LlamaConfig* cfg;
  int layer;
  int B;
  int T;
  const int32_t* pos;                        // (N) device: position of each row in its sequence
  const std::vector<LoraSegment>* segments;  // task of each row range
  bool train;                                // LoRA dropout on
  uint64_t dropout_seed;
  cublasHandle_t cublas;
  cudaStream_t stream;
};

// The rmsnorm applied to a block's output: out = rmsnorm(x_out) * weight, rstd saved.
struct NextNormCuda {
  const Bf16* weight;  // (C)
  Bf16* out;           // (N, C)
  float* rstd;         // (N)
};

// Rows [begin, end) of consecutive sequences sharing a task; throws when a task is not held.
std::vector<LoraSegment> multilora_cuda_segments(const MultiLoraCuda& lora, const std::vector<std::string>& seq_tasks,
                                                 int T);

// Sizes acts and scratch for (B, T) and the adapters present; no-op when already sized.
void block_cuda_acts_resize(LayerActsCuda& acts, const LlamaConfig& cfg, const MultiLoraCuda& lora, int layer, int B,
                            int T);
void block_cuda_scratch_resize(BlockScratchCuda& s, const LlamaConfig& cfg, const MultiLoraCuda& lora, int B, int T);

// x_out (N, C) from x_in (N, C) and acts.ln1 = rmsnorm(x_in); then next.out = rmsnorm(x_out).
void block_cuda_forward(const BlockRunCuda& run, const LlamaLayerWeightsCuda& w, const MultiLoraCuda& lora,
                        const Bf16* x_in, Bf16* x_out, const NextNormCuda& next, LayerActsCuda& acts,
                        BlockScratchCuda& s);

// dresid (N, C): on entry d x_out, on exit d x_in. Adapter gradients accumulate in lora.grads.
void block_cuda_backward(const BlockRunCuda& run, const LlamaLayerWeightsCuda& w, MultiLoraCuda& lora, const Bf16* x_in,
                         Bf16* dresid, LayerActsCuda& acts, BlockScratchCuda& s);

}  // namespace ckf::cuda
