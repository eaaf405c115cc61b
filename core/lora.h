// One LoRA adapter on a frozen linear layer, PEFT semantics:
//   y = W x + (alpha / r) * B A dropout(x),  A (r, in) kaiming-uniform, B (out, r) zero at start.
// Dropout acts on the adapter's input only, in training; masks are counter-based random draws
// (seed, adapter stream, row, column), so they do not depend on how rows are grouped.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ckf {

// The projections of a LLaMA block an adapter can sit on, in block order.
enum class LoraTarget : uint8_t { q, k, v, o, gate, up, down };
inline constexpr int kLoraTargets = 7;

// Hugging Face module name ("q_proj", ...), as PEFT's target_modules uses it.
const char* lora_target_name(LoraTarget t);
// Accepts "q" or "q_proj" (and so on); throws listing the valid names.
LoraTarget lora_target_parse(const std::string& name);

struct LoraSpec {
  std::vector<LoraTarget> targets;
  int r = 16;
  float alpha = 64.0f;
  float dropout = 0.1f;
};

// The paper's released code: shared adapters on k, v, o; task adapters on q.
LoraSpec lora_spec_shared_default();
LoraSpec lora_spec_task_default();
// Throws naming `what` ("shared", "task") on a bad rank, dropout or a repeated target.
void lora_spec_validate(const LoraSpec& spec, const char* what);

// Under tensor parallelism (core/llama_tp.h) an adapter follows its base layer's split: on a
// column-parallel base it keeps B's output rows (A whole), on a row-parallel base A's input
// columns (B whole).
enum class LoraSplit : uint8_t { none, out_rows, in_cols };
struct LoraShard {
  LoraSplit split = LoraSplit::none;
  int rank = 0;
  int size = 1;
};

struct LoraAdapter {
  Tensor A;             // (r, in) in = in_global / tp for an in_cols split
  Tensor B;             // (out, r) out = out_global / tp for an out_rows split
  Tensor dA;            // (r, in) gradient, accumulated by lora_backward
  Tensor dB;            // (out, r)
  float scale = 0.0f;   // alpha / r
  uint64_t stream = 0;  // names this adapter's random draws (init and dropout)
  LoraSplit split = LoraSplit::none;
  int64_t in_global = 0, in_offset = 0;    // A holds columns [in_offset, in_offset + in) of (r, in_global)
  int64_t out_global = 0, out_offset = 0;  // B holds rows [out_offset, out_offset + out) of (out_global, r)
};

// The slice `shard` names of the adapter on an (in, out) linear layer: the global A is uniform in
// +-1/sqrt(in) (kaiming_uniform_ with a = sqrt(5), as PEFT) drawn from (seed, stream), so every
// tp size sees the same global values; B zero, gradients zero.
LoraAdapter lora_adapter_create(int in, int out, const LoraSpec& spec, uint64_t seed, uint64_t stream,
                                const LoraShard& shard = {});

// out (N, out) += scale * dropout(inp) A^T B^T for the rows [row0, row0 + N) of a batch.
// h (N, r) receives A dropout(inp) for backward (a per-rank partial sum on an in_cols slice). mask (N, in), when non-null, turns dropout with
// rate p on and receives the factors (0 or 1/(1-p)) applied to inp; null means evaluation. A mask
// element is keyed by its global (row, column), so it is the same whatever the tp split.
void lora_forward(float* out, float* h, float* mask, const float* inp, int N, int64_t row0, const LoraAdapter& a,
                  float p, uint64_t dropout_seed);

// Accumulates dinp (N, in) += d(inp) and a.dA, a.dB += their gradients, given dout (N, out) and
// what lora_forward saved (h, and mask or null).
void lora_backward(float* dinp, const float* dout, const float* inp, const float* h, const float* mask, int N,
                   LoraAdapter& a);

}  // namespace ckf
