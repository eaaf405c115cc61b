#include "core/transformer_block.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/swiglu.h"

namespace ckf {

namespace {

int ti(LoraTarget t) { return static_cast<int>(t); }

void zero(Tensor& t) { std::memset(t.raw(), 0, t.nbytes()); }

void lora_acts_resize(LoraActs& a, const LoraSpec& spec, bool present, int N, int in, bool train) {
  if (!present) {
    a = LoraActs{};
    return;
  }
  buffer_ensure(a.h, {N, spec.r});
  if (train && spec.dropout > 0.0f) {
    buffer_ensure(a.mask, {N, in});
  } else {
    a.mask = Tensor{};
  }
}

bool spec_has(const LoraSpec& spec, LoraTarget t) {
  return std::find(spec.targets.begin(), spec.targets.end(), t) != spec.targets.end();
}

// Row-offset pointer into an (N, width) buffer; null stays null (no dropout mask).
float* rows_at(const Tensor& t, int64_t row, int64_t width) {
  return t.raw() == nullptr ? nullptr : t.data<float>() + row * width;
}

}  // namespace

void buffer_ensure(Tensor& t, const Shape& shape) {
  if (t.raw() == nullptr || t.shape() != shape) t = Tensor::zeros(shape);
}

void block_acts_resize(LayerActs& a, const LlamaConfig& c, const MultiLora& lora, int layer, int B, int T, bool train) {
  const int N = B * T, C = c.d_model, QD = c.n_heads * c.head_dim, KVD = c.n_kv_heads * c.head_dim, F = c.ffn;
  buffer_ensure(a.ln1, {N, C});
  buffer_ensure(a.ln1_rstd, {N});
  buffer_ensure(a.q, {N, QD});
  buffer_ensure(a.k, {N, KVD});
  buffer_ensure(a.v, {N, KVD});
  buffer_ensure(a.att, {B, c.n_heads, T, T});
  buffer_ensure(a.atty, {N, QD});
  buffer_ensure(a.x_mid, {N, C});
  buffer_ensure(a.ln2, {N, C});
  buffer_ensure(a.ln2_rstd, {N});
  buffer_ensure(a.gate, {N, F});
  buffer_ensure(a.up, {N, F});
  buffer_ensure(a.act, {N, F});
  for (int t = 0; t < kLoraTargets; ++t) {
    const auto target = static_cast<LoraTarget>(t);
    const int in = lora_target_dims(c, target).first;
    lora_acts_resize(a.lora_shared[t], lora.shared_spec, lora.shared.layers[layer][t].has_value(), N, in, train);
    lora_acts_resize(a.lora_task[t], lora.task_spec, spec_has(lora.task_spec, target), N, in, train);
  }
}

void block_scratch_resize(BlockScratch& s, const LlamaConfig& c, int N) {
  const int C = c.d_model, QD = c.n_heads * c.head_dim, KVD = c.n_kv_heads * c.head_dim, F = c.ffn;
  buffer_ensure(s.dx_mid, {N, C});
  buffer_ensure(s.dln, {N, C});
  buffer_ensure(s.datty, {N, QD});
  buffer_ensure(s.dq, {N, QD});
  buffer_ensure(s.dk, {N, KVD});
  buffer_ensure(s.dv, {N, KVD});
  buffer_ensure(s.dact, {N, F});
  buffer_ensure(s.dgate, {N, F});
  buffer_ensure(s.dup, {N, F});
}

void proj_forward(const BlockRun& run, LoraTarget target, const Tensor& W, const MultiLora& lora, float* out,
                  const float* inp, LoraActs& shared_acts, LoraActs& task_acts) {
  const int N = run.B * run.T, in = static_cast<int>(W.dim(1)), outd = static_cast<int>(W.dim(0));
  const int t = static_cast<int>(target);
  cpu::linear_forward(out, inp, W.data<const float>(), nullptr, N, in, outd);
  if (const auto& a = lora.shared.layers[run.layer][t]) {
    lora_forward(out, shared_acts.h.data<float>(), rows_at(shared_acts.mask, 0, in), inp, N, 0, *a,
                 lora.shared_spec.dropout, run.dropout_seed);
  }
  for (const LoraSegment& seg : *run.segments) {
    const auto& a = multilora_task(lora, seg.task).layers[run.layer][t];
    if (!a) continue;
    const int64_t r = a->A.dim(0);
    lora_forward(out + seg.begin * outd, rows_at(task_acts.h, seg.begin, r), rows_at(task_acts.mask, seg.begin, in),
                 inp + seg.begin * in, static_cast<int>(seg.end - seg.begin), seg.begin, *a, lora.task_spec.dropout,
                 run.dropout_seed);
  }
}

void proj_backward(const BlockRun& run, LoraTarget target, const Tensor& W, MultiLora& lora, float* dinp,
                   const float* dout, const float* inp, const LoraActs& shared_acts, const LoraActs& task_acts) {
  const int N = run.B * run.T, in = static_cast<int>(W.dim(1)), outd = static_cast<int>(W.dim(0));
  const int t = static_cast<int>(target);
  // Frozen base: input gradient only.
  cpu::linear_backward(dinp, nullptr, nullptr, dout, inp, W.data<const float>(), N, in, outd);
  if (auto& a = lora.shared.layers[run.layer][t]) {
    lora_backward(dinp, dout, inp, shared_acts.h.data<const float>(), rows_at(shared_acts.mask, 0, in), N, *a);
  }
  for (const LoraSegment& seg : *run.segments) {
    auto& a = multilora_task(lora, seg.task).layers[run.layer][t];
    if (!a) continue;
    const int64_t r = a->A.dim(0);
    lora_backward(dinp + seg.begin * in, dout + seg.begin * outd, inp + seg.begin * in,
                  rows_at(task_acts.h, seg.begin, r), rows_at(task_acts.mask, seg.begin, in),
                  static_cast<int>(seg.end - seg.begin), *a);
  }
}

void block_forward(const BlockRun& run, const LlamaLayerWeights& w, const MultiLora& lora, const float* x_in,
                   float* x_out, LayerActs& a) {
  const LlamaConfig& c = *run.cfg;
  block_qkv_forward(run, w, lora, x_in, a);
  cpu::attention_forward(a.atty.data<float>(), a.att.data<float>(), a.q.data<const float>(), a.k.data<const float>(),
                         a.v.data<const float>(), run.B, run.T, c.n_heads, c.n_kv_heads, c.head_dim);
  block_out_forward(run, w, lora, x_in, x_out, a);
}

void block_qkv_forward(const BlockRun& run, const LlamaLayerWeights& w, const MultiLora& lora, const float* x_in,
                       LayerActs& a) {
  const LlamaConfig& c = *run.cfg;
  const int N = run.B * run.T;
  cpu::rmsnorm_forward(a.ln1.data<float>(), a.ln1_rstd.data<float>(), x_in, w.attn_norm.data<const float>(), N,
                       c.d_model, c.rms_eps);
  const float* ln1 = a.ln1.data<const float>();
  proj_forward(run, LoraTarget::q, w.wq, lora, a.q.data<float>(), ln1, a.lora_shared[ti(LoraTarget::q)],
               a.lora_task[ti(LoraTarget::q)]);
  proj_forward(run, LoraTarget::k, w.wk, lora, a.k.data<float>(), ln1, a.lora_shared[ti(LoraTarget::k)],
               a.lora_task[ti(LoraTarget::k)]);
  proj_forward(run, LoraTarget::v, w.wv, lora, a.v.data<float>(), ln1, a.lora_shared[ti(LoraTarget::v)],
               a.lora_task[ti(LoraTarget::v)]);
  cpu::rope_forward(a.q.data<float>(), run.pos, N, c.n_heads, c.head_dim, c.rope_theta);
  cpu::rope_forward(a.k.data<float>(), run.pos, N, c.n_kv_heads, c.head_dim, c.rope_theta);
}

void block_out_forward(const BlockRun& run, const LlamaLayerWeights& w, const MultiLora& lora, const float* x_in,
                       float* x_out, LayerActs& a) {
  const LlamaConfig& c = *run.cfg;
  const int N = run.B * run.T, C = c.d_model;
  float* x_mid = a.x_mid.data<float>();
  proj_forward(run, LoraTarget::o, w.wo, lora, x_mid, a.atty.data<const float>(), a.lora_shared[ti(LoraTarget::o)],
               a.lora_task[ti(LoraTarget::o)]);
  tp_all_reduce_sum(*run.tp, x_mid, int64_t{N} * C);  // o is row-parallel: sum the per-rank partial outputs
  for (int64_t i = 0; i < int64_t{N} * C; ++i) x_mid[i] += x_in[i];
  cpu::rmsnorm_forward(a.ln2.data<float>(), a.ln2_rstd.data<float>(), x_mid, w.mlp_norm.data<const float>(), N, C,
                       c.rms_eps);
  const float* ln2 = a.ln2.data<const float>();
  proj_forward(run, LoraTarget::gate, w.w_gate, lora, a.gate.data<float>(), ln2, a.lora_shared[ti(LoraTarget::gate)],
               a.lora_task[ti(LoraTarget::gate)]);
  proj_forward(run, LoraTarget::up, w.w_up, lora, a.up.data<float>(), ln2, a.lora_shared[ti(LoraTarget::up)],
               a.lora_task[ti(LoraTarget::up)]);
  cpu::swiglu_forward(a.act.data<float>(), a.gate.data<const float>(), a.up.data<const float>(), int64_t{N} * c.ffn);
  proj_forward(run, LoraTarget::down, w.w_down, lora, x_out, a.act.data<const float>(),
               a.lora_shared[ti(LoraTarget::down)], a.lora_task[ti(LoraTarget::down)]);
  tp_all_reduce_sum(*run.tp, x_out, int64_t{N} * C);  // down is row-parallel
  for (int64_t i = 0; i < int64_t{N} * C; ++i) x_out[i] += x_mid[i];
}

void block_backward(const BlockRun& run, const LlamaLayerWeights& w, MultiLora& lora, const float* x_in, float* dresid,
                    LayerActs& a, BlockScratch& s) {
  const LlamaConfig& c = *run.cfg;
  const int N = run.B * run.T, C = c.d_model;
  float* dx_mid = s.dx_mid.data<float>();
  std::memcpy(dx_mid, dresid, sizeof(float) * N * C);  // residual path

  // MLP half.
  zero(s.dact);
  proj_backward(run, LoraTarget::down, w.w_down, lora, s.dact.data<float>(), dresid, a.act.data<const float>(),
                a.lora_shared[ti(LoraTarget::down)], a.lora_task[ti(LoraTarget::down)]);
  cpu::swiglu_backward(s.dgate.data<float>(), s.dup.data<float>(), s.dact.data<const float>(),
                       a.gate.data<const float>(), a.up.data<const float>(), int64_t{N} * c.ffn);
  zero(s.dln);
  const float* ln2 = a.ln2.data<const float>();
  proj_backward(run, LoraTarget::gate, w.w_gate, lora, s.dln.data<float>(), s.dgate.data<const float>(), ln2,
                a.lora_shared[ti(LoraTarget::gate)], a.lora_task[ti(LoraTarget::gate)]);
  proj_backward(run, LoraTarget::up, w.w_up, lora, s.dln.data<float>(), s.dup.data<const float>(), ln2,
                a.lora_shared[ti(LoraTarget::up)], a.lora_task[ti(LoraTarget::up)]);
  tp_all_reduce_sum(*run.tp, s.dln.data<float>(), int64_t{N} * C);  // gate, up are column-parallel
  cpu::rmsnorm_backward(dx_mid, nullptr, s.dln.data<const float>(), a.x_mid.data<const float>(),
                        w.mlp_norm.data<const float>(), a.ln2_rstd.data<const float>(), N, C);

  // Attention half.
  zero(s.datty);
  proj_backward(run, LoraTarget::o, w.wo, lora, s.datty.data<float>(), dx_mid, a.atty.data<const float>(),
                a.lora_shared[ti(LoraTarget::o)], a.lora_task[ti(LoraTarget::o)]);
  zero(s.dq);
  zero(s.dk);
  zero(s.dv);
  cpu::attention_backward(s.dq.data<float>(), s.dk.data<float>(), s.dv.data<float>(), s.datty.data<const float>(),
                          a.q.data<const float>(), a.k.data<const float>(), a.v.data<const float>(),
                          a.att.data<const float>(), run.B, run.T, c.n_heads, c.n_kv_heads, c.head_dim);
  cpu::rope_backward(s.dq.data<float>(), run.pos, N, c.n_heads, c.head_dim, c.rope_theta);
  cpu::rope_backward(s.dk.data<float>(), run.pos, N, c.n_kv_heads, c.head_dim, c.rope_theta);
  zero(s.dln);
  const float* ln1 = a.ln1.data<const float>();
  proj_backward(run, LoraTarget::q, w.wq, lora, s.dln.data<float>(), s.dq.data<const float>(), ln1,
                a.lora_shared[ti(LoraTarget::q)], a.lora_task[ti(LoraTarget::q)]);
  proj_backward(run, LoraTarget::k, w.wk, lora, s.dln.data<float>(), s.dk.data<const float>(), ln1,
                a.lora_shared[ti(LoraTarget::k)], a.lora_task[ti(LoraTarget::k)]);
  proj_backward(run, LoraTarget::v, w.wv, lora, s.dln.data<float>(), s.dv.data<const float>(), ln1,
                a.lora_shared[ti(LoraTarget::v)], a.lora_task[ti(LoraTarget::v)]);
  tp_all_reduce_sum(*run.tp, s.dln.data<float>(), int64_t{N} * C);  // q, k, v are column-parallel
  std::memcpy(dresid, dx_mid, sizeof(float) * N * C);
  cpu::rmsnorm_backward(dresid, nullptr, s.dln.data<const float>(), x_in, w.attn_norm.data<const float>(),
                        a.ln1_rstd.data<const float>(), N, C);
}

}  // namespace ckf
