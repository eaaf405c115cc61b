// One LLaMA decoder block over a batch of B right-padded sequences of T tokens (N = B*T rows):
//   x_mid = x + o(attn(rope(q(n1)), rope(k(n1)), v(n1))),  n1 = rmsnorm(x)
//   x_out = x_mid + down(silu(gate(n2)) * up(n2)),          n2 = rmsnorm(x_mid)
// with every projection a frozen linear plus the Multi-LoRA deltas routed by task segment.
// Padding rows come after a sequence's real rows, so causal attention keeps them out of the real
// rows' results; they are computed and ignored.
// Under tensor parallelism (core/llama_tp.h) a block runs on its rank's heads and MLP columns
// (run.cfg is the local config): the row-parallel o and down outputs are summed over tp in
// forward, the input gradients of the column-parallel q/k/v and gate/up in backward.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/llama_config.h"
#include "core/llama_tp.h"
#include "core/llama_weights.h"
#include "core/multi_lora.h"
#include "core/tensor.h"

namespace ckf {

// What LoRA saves per projection for backward; empty tensors where no adapter sits.
struct LoraActs {
  Tensor h;     // (N, r) A dropout(x)
  Tensor mask;  // (N, in) dropout factors; empty in evaluation
};

// Activations of one block kept for backward. The block input lives in the caller's residual buffer.
struct LayerActs {
  Tensor ln1;       // (N, C) rmsnorm(x)
  Tensor ln1_rstd;  // (N)
  Tensor q;         // (N, H*D) after rotary
  Tensor k;         // (N, KVH*D) after rotary
  Tensor v;         // (N, KVH*D)
  Tensor att;       // (B, H, T, T) attention probabilities
  Tensor atty;      // (N, H*D) attention output before o
  Tensor x_mid;     // (N, C) residual after attention
  Tensor ln2;       // (N, C) rmsnorm(x_mid)
  Tensor ln2_rstd;  // (N)
  Tensor gate;      // (N, F)
  Tensor up;        // (N, F)
  Tensor act;       // (N, F) silu(gate) * up
  std::array<LoraActs, kLoraTargets> lora_shared;
  std::array<LoraActs, kLoraTargets> lora_task;
};

// Gradient buffers reused by every block's backward.
struct BlockScratch {
  Tensor dx_mid;  // (N, C)
  Tensor dln;     // (N, C)
  Tensor datty;   // (N, H*D)
  Tensor dq;      // (N, H*D)
  Tensor dk;      // (N, KVH*D)
  Tensor dv;      // (N, KVH*D)
  Tensor dact;    // (N, F)
  Tensor dgate;   // (N, F)
  Tensor dup;     // (N, F)
};

// The batch a block runs on and how its rows are routed to adapters.
struct BlockRun {
  const LlamaConfig* cfg;                    // this tp rank's slice (llama_config_tp_local)
  int layer;
  int B;
  int T;
  const int32_t* pos;                        // (N) position of each row in its sequence
  const std::vector<LoraSegment>* segments;  // task of each row range
  bool train;                                // dropout on (and masks saved)
  uint64_t dropout_seed;
  const LlamaTp* tp;
};

// Reallocates t (zeroed, f32) unless it already has this shape: activation buffers are kept
// across steps and only change when the batch shape does.
void buffer_ensure(Tensor& t, const Shape& shape);

// Sizes acts and scratch for (B, T) and the adapters present; no-op when already sized.
void block_acts_resize(LayerActs& acts, const LlamaConfig& cfg, const MultiLora& lora, int layer, int B, int T,
                       bool train);
void block_scratch_resize(BlockScratch& s, const LlamaConfig& cfg, int N);

// out (N, out) = inp (N, in) W^T + shared delta on all rows + each segment's task delta.
void proj_forward(const BlockRun& run, LoraTarget target, const Tensor& W, const MultiLora& lora, float* out,
                  const float* inp, LoraActs& shared_acts, LoraActs& task_acts);

// dinp (N, in) += gradient through W and the adapters; adapter gradients accumulate.
void proj_backward(const BlockRun& run, LoraTarget target, const Tensor& W, MultiLora& lora, float* dinp,
                   const float* dout, const float* inp, const LoraActs& shared_acts, const LoraActs& task_acts);

// x_out (N, C) from x_in (N, C); x_out may not alias x_in. It is block_qkv_forward, causal
// attention over the batch, then block_out_forward; decoding runs the same halves around a KV cache.
void block_forward(const BlockRun& run, const LlamaLayerWeights& w, const MultiLora& lora, const float* x_in,
                   float* x_out, LayerActs& acts);

// acts.ln1 = rmsnorm(x_in); acts.q, acts.k, acts.v projected and rotated (v not rotated).
void block_qkv_forward(const BlockRun& run, const LlamaLayerWeights& w, const MultiLora& lora, const float* x_in,
                       LayerActs& acts);

// From the attention output acts.atty: x_mid = x_in + o(atty), x_out = x_mid + mlp(rmsnorm(x_mid)).
void block_out_forward(const BlockRun& run, const LlamaLayerWeights& w, const MultiLora& lora, const float* x_in,
                       float* x_out, LayerActs& acts);

// dresid (N, C): on entry d x_out, on exit d x_in. Accumulates adapter gradients.
void block_backward(const BlockRun& run, const LlamaLayerWeights& w, MultiLora& lora, const float* x_in, float* dresid,
                    LayerActs& acts, BlockScratch& s);

}  // namespace ckf
