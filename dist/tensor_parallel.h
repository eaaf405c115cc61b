// Megatron-style tensor-parallel linear layers with Multi-LoRA adapters, on host memory (fp32).
//
// ColumnParallelLinear: tp rank r holds weight rows [r*out/tp, (r+1)*out/tp). Forward is identity on
// the (replicated) input then a local matmul giving the local output columns; backward all-reduces
// the input gradient over tp (each rank only saw its output slice).
// RowParallelLinear: tp rank r holds weight columns [r*in/tp, ...) and reads the matching input
// columns (the output of a column-parallel layer). Forward all-reduces the partial output over tp;
// backward is identity on the (replicated) output gradient.
//
// LoRA (PEFT semantics y += (alpha/r) B A dropout(x)) follows the base split:
//   column base: A (r, in) replicated, B (out/tp, r) split by rows. dA is TP-partial (each rank
//     sees only its output rows): grad_sync sums it over tp. The adapter's input-gradient share is
//     added before the base's input-gradient all-reduce, so it costs no extra collective.
//   row base: A (r, in/tp) split by columns, B (out, r) replicated. The r-wide intermediate A x
//     (r floats per token, not out) is all-reduced over tp in forward; backward needs no collective
//     and dA, dB are complete on each rank.
// Dropout masks are a pure function of (seed, token row, global input column), so every tp rank
// drops the same elements of x whatever the split, and backward recomputes the mask from x.
#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "core/param.h"
#include "dist/communicator.h"

namespace ckf {

// A Param holding the slice [offset, offset + global_shape[split_dim]/tp_size) of a 2-D global
// tensor along split_dim (-1: the whole tensor, replicated), offset = tp_rank * that length.
// The global size along split_dim must divide by tp_size (error naming `name`).
Param param_shard(const std::string& name, const Shape& global_shape, int split_dim, int tp_rank, int tp_size);
// Copies this shard's slice of `full` (row-major, param.global_shape) into param.value.
void param_load_shard(Param& param, const float* full);

enum class ParallelMode : uint8_t { column, row };

struct ParallelLinear {
  ParallelMode mode = ParallelMode::column;
  int64_t in = 0, out = 0;              // global sizes
  int64_t in_local = 0, out_local = 0;  // this rank's: column (in, out/tp), row (in/tp, out)
  Param weight;                         // column (out/tp, in), row (out, in/tp); frozen
};

// Sharded base layer (weights zero; fill with param_load_shard). tp_rank/tp_size from the tp group.
ParallelLinear column_parallel_linear_create(const std::string& name, int64_t in, int64_t out, const Communicator& tp);
ParallelLinear row_parallel_linear_create(const std::string& name, int64_t in, int64_t out, const Communicator& tp);

struct ParallelLoraAdapter {
  int rank = 0;
  float scale = 0.0f;    // alpha / rank
  float dropout = 0.0f;  // probability in [0, 1)
  Param A;               // column base: (r, in) replicated; row base: (r, in/tp) split_dim 1
  Param B;               // column base: (out/tp, r) split_dim 0; row base: (out, r) replicated
};

// An adapter on `base`, initialised as PEFT does: A kaiming-uniform (bound 1/sqrt(in), drawn for
// the global A from rng so every rank and every tp size get the same values), B zero.
ParallelLoraAdapter parallel_lora_create(const std::string& name, const ParallelLinear& base, int rank, float alpha, float dropout,
                        std::mt19937_64& rng, const Communicator& tp);

// One adapter applied to rows [row_begin, row_end) of a call (a task's samples, or all rows for
// the shared adapters). dropout_seed must be the same on every tp rank and in forward and backward,
// and differ between steps, layers and DP replicas (the mask is keyed by the row index in the call).
struct LoraUse {
  ParallelLoraAdapter* lora = nullptr;
  int64_t row_begin = 0, row_end = 0;
  uint64_t dropout_seed = 0;
};

// What backward needs beyond the layer input (which the caller keeps).
struct ParallelLinearActs {
  std::vector<Tensor> lora_u;  // per LoraUse: (rows, r) A dropout(x), complete (summed over tp)
};

// out (N, out/tp) = inp (N, in) W_local^T + sum of the adapters' deltas. No collective.
void column_parallel_linear_forward(const ParallelLinear& l, float* out, const float* inp, int64_t N,
                                    std::span<const LoraUse> loras, ParallelLinearActs& acts);
// Writes dinp (N, in), complete after the tp all-reduce; accumulates dA (TP-partial), dB.
void column_parallel_linear_backward(const ParallelLinear& l, float* dinp, const float* dout, const float* inp,
                                     int64_t N, std::span<const LoraUse> loras, const ParallelLinearActs& acts,
                                     Communicator& tp);

// out (N, out) = all-reduce over tp of inp (N, in/tp) W_local^T, plus the adapters' deltas.
void row_parallel_linear_forward(const ParallelLinear& l, float* out, const float* inp, int64_t N,
                                 std::span<const LoraUse> loras, ParallelLinearActs& acts, Communicator& tp);
// Writes dinp (N, in/tp) from dout (N, out), identical on every tp rank; accumulates dA, dB.
void row_parallel_linear_backward(const ParallelLinear& l, float* dinp, const float* dout, const float* inp,
                                  int64_t N, std::span<const LoraUse> loras, const ParallelLinearActs& acts);

// Keep-mask scale of LoRA dropout at (row, global column): 0 or 1/(1-p); 1 when p == 0.
float lora_dropout_scale(uint64_t seed, int64_t row, int64_t col, float p);

}  // namespace ckf
