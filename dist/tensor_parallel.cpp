#include "dist/tensor_parallel.h"

#include "core/rng.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "kernels/cpu/matmul.h"

namespace ckf {

Param param_shard(const std::string& name, const Shape& global_shape, int split_dim, int tp_rank, int tp_size) {
  CKF_CHECK(split_dim >= -1 && split_dim < static_cast<int>(global_shape.size()),
            name << ": split dimension " << split_dim << " outside the shape " << shape_str(global_shape));
  Shape local = global_shape;
  int64_t offset = 0;
  if (split_dim >= 0) {
    const int64_t len = global_shape[split_dim];
    CKF_CHECK(tp_size >= 1 && len % tp_size == 0, name << ": dimension " << split_dim << " of "
                                                       << shape_str(global_shape) << " (" << len
                                                       << ") does not divide by the tensor-parallel size " << tp_size);
    local[split_dim] = len / tp_size;
    offset = tp_rank * local[split_dim];
  }
  Param p = Param::make(name, local);
  p.global_shape = global_shape;
  p.split_dim = split_dim;
  p.split_offset = offset;
  return p;
}

void param_load_shard(Param& param, const float* full) {
  float* dst = param.value.data<float>();
  if (param.split_dim < 0) {
    std::copy_n(full, param.value.numel(), dst);
    return;
  }
  CKF_CHECK(param.global_shape.size() == 2, param.name << ": sharded loads handle 2-D tensors, got "
                                                       << shape_str(param.global_shape));
  const int64_t cols = param.global_shape[1];
  if (param.split_dim == 0) {
    std::copy_n(full + param.split_offset * cols, param.value.numel(), dst);
    return;
  }
  const int64_t rows = param.global_shape[0], local = param.value.dim(1);
  for (int64_t i = 0; i < rows; i++) std::copy_n(full + i * cols + param.split_offset, local, dst + i * local);
}

static ParallelLinear parallel_linear_create(const std::string& name, ParallelMode mode, int64_t in, int64_t out,
                                             const Communicator& tp) {
  ParallelLinear l;
  l.mode = mode;
  l.in = in;
  l.out = out;
  // Column splits the output rows of W (out, in); row splits its input columns.
  l.weight = param_shard(name + ".weight", {out, in}, mode == ParallelMode::column ? 0 : 1, tp.rank(), tp.size());
  l.out_local = l.weight.value.dim(0);
  l.in_local = l.weight.value.dim(1);
  return l;
}

ParallelLinear column_parallel_linear_create(const std::string& name, int64_t in, int64_t out, const Communicator& tp) {
  return parallel_linear_create(name, ParallelMode::column, in, out, tp);
}

ParallelLinear row_parallel_linear_create(const std::string& name, int64_t in, int64_t out, const Communicator& tp) {
  return parallel_linear_create(name, ParallelMode::row, in, out, tp);
}

ParallelLoraAdapter parallel_lora_create(const std::string& name, const ParallelLinear& base, int rank, float alpha, float dropout,
                        std::mt19937_64& rng, const Communicator& tp) {
  CKF_CHECK(rank >= 1, name << ": LoRA rank " << rank << " must be at least 1");
  CKF_CHECK(dropout >= 0.0f && dropout < 1.0f, name << ": LoRA dropout " << dropout << " outside [0, 1)");
  const bool column = base.mode == ParallelMode::column;
  ParallelLoraAdapter a;
  a.rank = rank;
  a.scale = alpha / static_cast<float>(rank);
  a.dropout = dropout;
  a.A = param_shard(name + ".A", {rank, base.in}, column ? -1 : 1, tp.rank(), tp.size());
  a.B = param_shard(name + ".B", {base.out, rank}, column ? 0 : -1, tp.rank(), tp.size());
  // kaiming_uniform_(a=sqrt(5)) as PEFT: bound = 1/sqrt(fan_in), drawn for the global A.
  const float bound = 1.0f / std::sqrt(static_cast<float>(base.in));
  std::uniform_real_distribution<float> dist(-bound, bound);
  std::vector<float> full(static_cast<size_t>(rank * base.in));  // (r, in)
  for (float& v : full) v = dist(rng);
  param_load_shard(a.A, full.data());
  return a;
}

float lora_dropout_scale(uint64_t seed, int64_t row, int64_t col, float p) {
  if (p == 0.0f) return 1.0f;
  uint64_t h = rng_mix(seed ^ rng_mix(static_cast<uint64_t>(row) * 0x100000001B3ull + static_cast<uint64_t>(col)));
  float u = static_cast<float>(h >> 40) * (1.0f / 16777216.0f);  // [0, 1) from 24 bits
  return u < p ? 0.0f : 1.0f / (1.0f - p);
}

// Multiplies x (rows, cols) in place by the dropout mask of rows [row0, ...) and global columns
// [col0, col0 + cols).
static void lora_apply_dropout(float* x, int64_t rows, int64_t cols, int64_t row0, int64_t col0, float p,
                               uint64_t seed) {
  if (p == 0.0f) return;
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++) x[i * cols + j] *= lora_dropout_scale(seed, row0 + i, col0 + j, p);
}

// dropout(inp rows of `use`) (rows, cols): the adapter's actual input.
static Tensor lora_input(const LoraUse& use, const float* inp, int64_t cols, int64_t col0) {
  const int64_t rows = use.row_end - use.row_begin;
  Tensor h = Tensor::empty({rows, cols});
  std::copy_n(inp + use.row_begin * cols, rows * cols, h.data<float>());
  lora_apply_dropout(h.data<float>(), rows, cols, use.row_begin, col0, use.lora->dropout, use.dropout_seed);
  return h;
}

static void lora_check_uses(const ParallelLinear& l, std::span<const LoraUse> loras, int64_t N) {
  for (const LoraUse& use : loras) {
    CKF_CHECK(use.lora != nullptr, l.weight.name << ": LoRA use without an adapter");
    CKF_CHECK(0 <= use.row_begin && use.row_begin <= use.row_end && use.row_end <= N,
              l.weight.name << ": LoRA rows [" << use.row_begin << ", " << use.row_end << ") outside [0, " << N << ")");
    CKF_CHECK(use.lora->A.value.dim(1) == l.in_local && use.lora->B.value.dim(0) == l.out_local,
              use.lora->A.name << ": adapter shapes A " << shape_str(use.lora->A.value.shape()) << ", B "
                               << shape_str(use.lora->B.value.shape()) << " do not fit the layer shard ("
                               << l.out_local << ", " << l.in_local << ")");
  }
}

// u (rows, r) = dropout(x) A_local^T: complete for a column base, TP-partial for a row base.
static Tensor lora_down(const ParallelLinear& l, const LoraUse& use, const float* inp, int64_t col0) {
  const ParallelLoraAdapter& a = *use.lora;
  const int64_t rows = use.row_end - use.row_begin;
  Tensor h = lora_input(use, inp, l.in_local, col0);
  Tensor u = Tensor::empty({rows, a.rank});
  cpu::linear_forward(u.data<float>(), h.data<float>(), a.A.value.data<float>(), nullptr, static_cast<int>(rows),
                      static_cast<int>(l.in_local), a.rank);
  return u;
}

// out rows of `use` (rows, out_local) += scale * u B_local^T.
static void lora_up(const ParallelLinear& l, const LoraUse& use, const Tensor& u, float* out) {
  const ParallelLoraAdapter& a = *use.lora;
  cpu::gemm(out + use.row_begin * l.out_local, u.data<float>(), a.B.value.data<float>(),
            static_cast<int>(use.row_end - use.row_begin), static_cast<int>(l.out_local), a.rank, false, true, a.scale,
            1.0f);
}

// The adapter's backward with what this rank holds: dB += scale dout^T u, du = scale dout B,
// dA += du^T dropout(x), dinp rows += mask * (du A). Whether each is complete or TP-partial
// follows from the split (see the header).
static void lora_backward(const ParallelLinear& l, const LoraUse& use, const Tensor& u, const float* dout,
                          const float* inp, int64_t col0, float* dinp) {
  ParallelLoraAdapter& a = *use.lora;
  const int rows = static_cast<int>(use.row_end - use.row_begin);
  const int in_local = static_cast<int>(l.in_local), out_local = static_cast<int>(l.out_local);
  const float* dy = dout + use.row_begin * l.out_local;  // (rows, out_local)
  cpu::gemm(a.B.grad.data<float>(), dy, u.data<float>(), out_local, a.rank, rows, true, false, a.scale, 1.0f);
  Tensor du = Tensor::empty({rows, a.rank});
  cpu::gemm(du.data<float>(), dy, a.B.value.data<float>(), rows, a.rank, out_local, false, false, a.scale, 0.0f);
  Tensor h = lora_input(use, inp, l.in_local, col0);
  cpu::gemm(a.A.grad.data<float>(), du.data<float>(), h.data<float>(), a.rank, in_local, rows, true, false, 1.0f, 1.0f);
  Tensor dh = Tensor::empty({rows, in_local});
  cpu::gemm(dh.data<float>(), du.data<float>(), a.A.value.data<float>(), rows, in_local, a.rank, false, false);
  lora_apply_dropout(dh.data<float>(), rows, in_local, use.row_begin, col0, a.dropout, use.dropout_seed);
  float* dx = dinp + use.row_begin * l.in_local;
  const float* d = dh.data<float>();
  for (int64_t i = 0; i < static_cast<int64_t>(rows) * in_local; i++) dx[i] += d[i];
}

static int64_t input_col_offset(const ParallelLinear& l) {
  return l.mode == ParallelMode::row ? l.weight.split_offset : 0;
}

void column_parallel_linear_forward(const ParallelLinear& l, float* out, const float* inp, int64_t N,
                                    std::span<const LoraUse> loras, ParallelLinearActs& acts) {
  CKF_CHECK(l.mode == ParallelMode::column, l.weight.name << ": column-parallel forward on a row-parallel layer");
  lora_check_uses(l, loras, N);
  cpu::linear_forward(out, inp, l.weight.value.data<float>(), nullptr, static_cast<int>(N), static_cast<int>(l.in),
                      static_cast<int>(l.out_local));
  acts.lora_u.clear();
  for (const LoraUse& use : loras) {
    acts.lora_u.push_back(lora_down(l, use, inp, 0));
    lora_up(l, use, acts.lora_u.back(), out);
  }
}

void column_parallel_linear_backward(const ParallelLinear& l, float* dinp, const float* dout, const float* inp,
                                     int64_t N, std::span<const LoraUse> loras, const ParallelLinearActs& acts,
                                     Communicator& tp) {
  CKF_CHECK(l.mode == ParallelMode::column, l.weight.name << ": column-parallel backward on a row-parallel layer");
  CKF_CHECK(acts.lora_u.size() == loras.size(), l.weight.name << ": backward with " << loras.size()
                                                              << " LoRA uses, forward had " << acts.lora_u.size());
  std::fill_n(dinp, N * l.in, 0.0f);
  cpu::linear_backward(dinp, nullptr, nullptr, dout, inp, l.weight.value.data<float>(), static_cast<int>(N),
                       static_cast<int>(l.in), static_cast<int>(l.out_local));
  for (size_t i = 0; i < loras.size(); i++) lora_backward(l, loras[i], acts.lora_u[i], dout, inp, 0, dinp);
  // Each rank's dinp covers its output slice only; adapters' shares ride on the same all-reduce.
  tp.all_reduce(std::span<float>(dinp, static_cast<size_t>(N * l.in)));
}

void row_parallel_linear_forward(const ParallelLinear& l, float* out, const float* inp, int64_t N,
                                 std::span<const LoraUse> loras, ParallelLinearActs& acts, Communicator& tp) {
  CKF_CHECK(l.mode == ParallelMode::row, l.weight.name << ": row-parallel forward on a column-parallel layer");
  lora_check_uses(l, loras, N);
  cpu::linear_forward(out, inp, l.weight.value.data<float>(), nullptr, static_cast<int>(N),
                      static_cast<int>(l.in_local), static_cast<int>(l.out));
  tp.all_reduce(std::span<float>(out, static_cast<size_t>(N * l.out)));
  acts.lora_u.clear();
  for (const LoraUse& use : loras) {
    Tensor u = lora_down(l, use, inp, input_col_offset(l));
    tp.all_reduce(u);  // r floats per token instead of out
    lora_up(l, use, u, out);
    acts.lora_u.push_back(std::move(u));
  }
}

void row_parallel_linear_backward(const ParallelLinear& l, float* dinp, const float* dout, const float* inp,
                                  int64_t N, std::span<const LoraUse> loras, const ParallelLinearActs& acts) {
  CKF_CHECK(l.mode == ParallelMode::row, l.weight.name << ": row-parallel backward on a column-parallel layer");
  CKF_CHECK(acts.lora_u.size() == loras.size(), l.weight.name << ": backward with " << loras.size()
                                                              << " LoRA uses, forward had " << acts.lora_u.size());
  std::fill_n(dinp, N * l.in_local, 0.0f);
  cpu::linear_backward(dinp, nullptr, nullptr, dout, inp, l.weight.value.data<float>(), static_cast<int>(N),
                       static_cast<int>(l.in_local), static_cast<int>(l.out));
  for (size_t i = 0; i < loras.size(); i++)
    lora_backward(l, loras[i], acts.lora_u[i], dout, inp, input_col_offset(l), dinp);
}

}  // namespace ckf
