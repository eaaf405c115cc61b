#include "core/cuda/transformer_block_cuda.h"

#include <algorithm>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/rmsnorm.h"
#include "kernels/cuda/rope.h"
#include "kernels/cuda/swiglu.h"

namespace ckf::cuda {

namespace {

int ti(LoraTarget t) { return static_cast<int>(t); }

bool spec_has(const LoraSpec& spec, LoraTarget t) {
  return std::find(spec.targets.begin(), spec.targets.end(), t) != spec.targets.end();
}

// The dropout of adapters with rate p whose first row is row0 (rate 0 outside training).
LoraDropoutCuda dropout_for(const BlockRunCuda& run, float p, int64_t row0, BlockScratchCuda& s) {
  return {run.train ? p : 0.0f, run.dropout_seed, row0, s.drop_x.data(), s.drop_dx.data()};
}

// out (N, OC) = inp (N, C) W^T + the shared delta on all rows + each segment's task delta.
void proj_forward(const BlockRunCuda& run, LoraTarget target, const DeviceBuffer<Bf16>& W, int C, int OC,
                  const MultiLoraCuda& lora, Bf16* out, const Bf16* inp, LayerActsCuda& a, BlockScratchCuda& s) {
  const int N = run.B * run.T, t = ti(target);
  linear_forward(run.cublas, out, inp, W.data(), N, C, OC);
  if (const auto& ad = lora.shared[run.layer][t])
    lora_cuda_forward(run.cublas, run.stream, lora, *ad, out, a.h_shared[t].data(), inp, N,
                      dropout_for(run, lora.shared_spec.dropout, 0, s));
  for (const LoraSegment& seg : *run.segments) {
    const auto& ad = multilora_cuda_task(lora, seg.task)[run.layer][t];
    if (!ad) continue;
    lora_cuda_forward(run.cublas, run.stream, lora, *ad, out + seg.begin * OC, a.h_task[t].data() + seg.begin * ad->r,
                      inp + seg.begin * C, static_cast<int>(seg.end - seg.begin),
                      dropout_for(run, lora.task_spec.dropout, seg.begin, s));
  }
}

// dinp (N, C) += gradient of out through W and the adapters; adapter gradients accumulate.
void proj_backward(const BlockRunCuda& run, LoraTarget target, const DeviceBuffer<Bf16>& W, int C, int OC,
                   MultiLoraCuda& lora, Bf16* dinp, const Bf16* dout, const Bf16* inp, const LayerActsCuda& a,
                   BlockScratchCuda& s) {
  const int N = run.B * run.T, t = ti(target);
  linear_backward_input(run.cublas, dinp, dout, W.data(), N, C, OC);  // frozen base: input gradient only
  if (const auto& ad = lora.shared[run.layer][t])
    lora_cuda_backward(run.cublas, run.stream, lora, *ad, dinp, s.dh.data(), dout, inp, a.h_shared[t].data(), N,
                       dropout_for(run, lora.shared_spec.dropout, 0, s));
  for (const LoraSegment& seg : *run.segments) {
    const auto& ad = multilora_cuda_task(lora, seg.task)[run.layer][t];
    if (!ad) continue;
    lora_cuda_backward(run.cublas, run.stream, lora, *ad, dinp + seg.begin * C, s.dh.data(), dout + seg.begin * OC,
                       inp + seg.begin * C, a.h_task[t].data() + seg.begin * ad->r,
                       static_cast<int>(seg.end - seg.begin), dropout_for(run, lora.task_spec.dropout, seg.begin, s));
  }
}

}  // namespace

std::vector<LoraSegment> multilora_cuda_segments(const MultiLoraCuda& lora, const std::vector<std::string>& seq_tasks,
                                                 int T) {
  std::vector<LoraSegment> segments = lora_segments_group(seq_tasks, T);
  for (const LoraSegment& seg : segments) multilora_cuda_task(lora, seg.task);  // throws when the task is not held
  return segments;
}

void block_cuda_acts_resize(LayerActsCuda& a, const LlamaConfig& c, const MultiLoraCuda& lora, int layer, int B,
                            int T) {
  const size_t N = size_t(B) * T, C = c.d_model, QD = size_t(c.n_heads) * c.head_dim,
               KVD = size_t(c.n_kv_heads) * c.head_dim, F = c.ffn;
  device_ensure(a.ln1, N * C);
  device_ensure(a.ln1_rstd, N);
  device_ensure(a.q, N * QD);
  device_ensure(a.k, N * KVD);
  device_ensure(a.v, N * KVD);
  device_ensure(a.lse, size_t(B) * c.n_heads * T);
  device_ensure(a.atty, N * QD);
  device_ensure(a.x_mid, N * C);
  device_ensure(a.ln2, N * C);
  device_ensure(a.ln2_rstd, N);
  device_ensure(a.gate, N * F);
  device_ensure(a.up, N * F);
  device_ensure(a.act, N * F);
  for (int t = 0; t < kLoraTargets; ++t) {
    const auto& shared = lora.shared[layer][t];
    device_ensure(a.h_shared[t], shared ? N * shared->r : 0);
    device_ensure(a.h_task[t], spec_has(lora.task_spec, static_cast<LoraTarget>(t)) ? N * lora.task_spec.r : 0);
  }
}

void block_cuda_scratch_resize(BlockScratchCuda& s, const LlamaConfig& c, const MultiLoraCuda& lora, int B, int T) {
  const size_t N = size_t(B) * T, C = c.d_model, QD = size_t(c.n_heads) * c.head_dim,
               KVD = size_t(c.n_kv_heads) * c.head_dim, F = c.ffn;
  device_ensure(s.proj_out, N * C);
  device_ensure(s.dln, N * C);
  device_ensure(s.datty, N * QD);
  device_ensure(s.dq, N * QD);
  device_ensure(s.dk, N * KVD);
  device_ensure(s.dv, N * KVD);
  device_ensure(s.dact, N * F);
  device_ensure(s.dgate, N * F);
  device_ensure(s.dup, N * F);
  device_ensure(s.delta, size_t(B) * c.n_heads * T);
  device_ensure(s.dh, N * size_t(std::max(lora.shared_spec.r, lora.task_spec.r)));
  const bool dropout = lora.shared_spec.dropout > 0.0f || lora.task_spec.dropout > 0.0f;
  const size_t widest_in = std::max({C, QD, F});  // q, k, v, gate, up read C; o reads H*D; down reads F
  device_ensure(s.drop_x, dropout ? N * widest_in : 0);
  device_ensure(s.drop_dx, dropout ? N * widest_in : 0);
}

void block_cuda_forward(const BlockRunCuda& run, const LlamaLayerWeightsCuda& w, const MultiLoraCuda& lora,
                        const Bf16* x_in, Bf16* x_out, const NextNormCuda& next, LayerActsCuda& a,
                        BlockScratchCuda& s) {
  const LlamaConfig& c = *run.cfg;
  const int N = run.B * run.T, C = c.d_model, QD = c.n_heads * c.head_dim, KVD = c.n_kv_heads * c.head_dim, F = c.ffn;
  // Attention half.
  proj_forward(run, LoraTarget::q, w.wq, C, QD, lora, a.q.data(), a.ln1.data(), a, s);
  proj_forward(run, LoraTarget::k, w.wk, C, KVD, lora, a.k.data(), a.ln1.data(), a, s);
  proj_forward(run, LoraTarget::v, w.wv, C, KVD, lora, a.v.data(), a.ln1.data(), a, s);
  rope_forward(a.q.data(), run.pos, N, c.n_heads, c.head_dim, c.rope_theta, run.stream);
  rope_forward(a.k.data(), run.pos, N, c.n_kv_heads, c.head_dim, c.rope_theta, run.stream);
  attention_forward(a.atty.data(), a.lse.data(), a.q.data(), a.k.data(), a.v.data(), run.B, run.T, c.n_heads,
                    c.n_kv_heads, c.head_dim, run.stream);
  proj_forward(run, LoraTarget::o, w.wo, QD, C, lora, s.proj_out.data(), a.atty.data(), a, s);
  rmsnorm_residual_forward(a.x_mid.data(), a.ln2.data(), a.ln2_rstd.data(), s.proj_out.data(), x_in, w.mlp_norm.data(),
                           N, C, c.rms_eps, run.stream);
  // MLP half.
  proj_forward(run, LoraTarget::gate, w.w_gate, C, F, lora, a.gate.data(), a.ln2.data(), a, s);
  proj_forward(run, LoraTarget::up, w.w_up, C, F, lora, a.up.data(), a.ln2.data(), a, s);
  swiglu_forward(a.act.data(), a.gate.data(), a.up.data(), int64_t{N} * F, run.stream);
  proj_forward(run, LoraTarget::down, w.w_down, F, C, lora, s.proj_out.data(), a.act.data(), a, s);
  rmsnorm_residual_forward(x_out, next.out, next.rstd, s.proj_out.data(), a.x_mid.data(), next.weight, N, C, c.rms_eps,
                           run.stream);
}

void block_cuda_backward(const BlockRunCuda& run, const LlamaLayerWeightsCuda& w, MultiLoraCuda& lora, const Bf16* x_in,
                         Bf16* dresid, LayerActsCuda& a, BlockScratchCuda& s) {
  const LlamaConfig& c = *run.cfg;
  const int N = run.B * run.T, C = c.d_model, QD = c.n_heads * c.head_dim, KVD = c.n_kv_heads * c.head_dim, F = c.ffn;
  // MLP half: dresid is d x_out, which is also d x_mid's residual share.
  device_zero(s.dact, run.stream);
  proj_backward(run, LoraTarget::down, w.w_down, F, C, lora, s.dact.data(), dresid, a.act.data(), a, s);
  swiglu_backward(s.dgate.data(), s.dup.data(), s.dact.data(), a.gate.data(), a.up.data(), int64_t{N} * F, run.stream);
  device_zero(s.dln, run.stream);
  proj_backward(run, LoraTarget::gate, w.w_gate, C, F, lora, s.dln.data(), s.dgate.data(), a.ln2.data(), a, s);
  proj_backward(run, LoraTarget::up, w.w_up, C, F, lora, s.dln.data(), s.dup.data(), a.ln2.data(), a, s);
  // dresid += d through the norm: now d x_mid.
  rmsnorm_backward(dresid, nullptr, s.dln.data(), a.x_mid.data(), w.mlp_norm.data(), a.ln2_rstd.data(), N, C,
                   run.stream);

  // Attention half.
  device_zero(s.datty, run.stream);
  proj_backward(run, LoraTarget::o, w.wo, QD, C, lora, s.datty.data(), dresid, a.atty.data(), a, s);
  device_zero(s.dq, run.stream);
  device_zero(s.dk, run.stream);
  device_zero(s.dv, run.stream);
  attention_backward(s.dq.data(), s.dk.data(), s.dv.data(), s.delta.data(), s.datty.data(), a.q.data(), a.k.data(),
                     a.v.data(), a.atty.data(), a.lse.data(), run.B, run.T, c.n_heads, c.n_kv_heads, c.head_dim,
                     run.stream);
  rope_backward(s.dq.data(), run.pos, N, c.n_heads, c.head_dim, c.rope_theta, run.stream);
  rope_backward(s.dk.data(), run.pos, N, c.n_kv_heads, c.head_dim, c.rope_theta, run.stream);
  device_zero(s.dln, run.stream);
  proj_backward(run, LoraTarget::q, w.wq, C, QD, lora, s.dln.data(), s.dq.data(), a.ln1.data(), a, s);
  proj_backward(run, LoraTarget::k, w.wk, C, KVD, lora, s.dln.data(), s.dk.data(), a.ln1.data(), a, s);
  proj_backward(run, LoraTarget::v, w.wv, C, KVD, lora, s.dln.data(), s.dv.data(), a.ln1.data(), a, s);
  // dresid += d through the first norm: now d x_in.
  rmsnorm_backward(dresid, nullptr, s.dln.data(), x_in, w.attn_norm.data(), a.ln1_rstd.data(), N, C, run.stream);
}

}  // namespace ckf::cuda
