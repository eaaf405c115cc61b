#include "core/llama_model.h"

#include <cmath>
#include <cstring>
#include <set>

#include "core/check.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rmsnorm.h"

namespace ckf {

namespace {

float* row_ptr(const Tensor& t, int64_t row) { return t.data<float>() + row * t.dim(t.ndim() - 1); }

// Residual stream entering layer l (l == L: leaving the last layer), (N, C).
float* resid_at(const LlamaActs& acts, int l) {
  return acts.resid.data<float>() + l * acts.resid.dim(1) * acts.resid.dim(2);
}

std::vector<int32_t> output_targets(const LlamaBatch& batch) {
  std::vector<int32_t> targets;
  for (const LogitRequest& r : batch.outputs) targets.push_back(r.target);
  return targets;
}

BlockRun block_run(const LlamaConfig& local, const LlamaTp& tp, const LlamaBatch& batch, const LlamaActs& acts,
                   int layer) {
  return {&local, layer, batch.B, batch.T, acts.pos.data(), &acts.segments, acts.train, acts.dropout_seed, &tp};
}

}  // namespace

void llama_batch_validate(const LlamaConfig& cfg, const LlamaBatch& b, bool soft_vectors_elsewhere) {
  CKF_CHECK(b.B > 0 && b.T > 0, "batch: B and T must be positive, got B=" << b.B << " T=" << b.T);
  CKF_CHECK(b.T <= cfg.max_seq, "batch: T=" << b.T << " exceeds the model's max_seq " << cfg.max_seq);
  CKF_CHECK(b.tokens.size() == size_t(b.B) * b.T,
            "batch: tokens has " << b.tokens.size() << " entries, expected B*T = " << b.B * b.T);
  CKF_CHECK(b.lengths.size() == size_t(b.B),
            "batch: lengths has " << b.lengths.size() << " entries, expected B=" << b.B);
  CKF_CHECK(b.tasks.size() == size_t(b.B), "batch: tasks has " << b.tasks.size() << " entries, expected B=" << b.B);
  for (int s = 0; s < b.B; ++s) {
    CKF_CHECK(b.lengths[s] >= 1 && b.lengths[s] <= b.T,
              "batch: lengths[" << s << "] = " << b.lengths[s] << " outside [1, " << b.T << "]");
    for (int t = 0; t < b.lengths[s]; ++t) {
      int32_t id = b.tokens[size_t(s) * b.T + t];
      CKF_CHECK(id >= 0 && id < cfg.vocab, "batch: token id " << id << " at sequence " << s << " position " << t
                                                              << " outside vocab " << cfg.vocab);
    }
  }
  auto check_pos = [&](const char* field, size_t i, int seq, int pos) {
    CKF_CHECK(seq >= 0 && seq < b.B && pos >= 0 && pos < b.lengths[seq],
              "batch: " << field << "[" << i << "] = (sequence " << seq << ", position " << pos
                        << ") outside the batch's real tokens");
  };
  std::set<std::pair<int, int>> soft_seen;
  for (size_t i = 0; i < b.soft.size(); ++i) {
    check_pos("soft", i, b.soft[i].seq, b.soft[i].pos);
    CKF_CHECK(soft_seen.insert({b.soft[i].seq, b.soft[i].pos}).second,
              "batch: soft[" << i << "] repeats position (" << b.soft[i].seq << ", " << b.soft[i].pos << ")");
  }
  if (!b.soft.empty() && !soft_vectors_elsewhere) {
    CKF_CHECK(b.soft_vectors.dtype() == DType::f32 && b.soft_vectors.device() == Device::cpu &&
                  b.soft_vectors.shape() == Shape({int64_t(b.soft.size()), cfg.d_model}),
              "batch: soft_vectors is " << b.soft_vectors.describe() << ", expected f32[" << b.soft.size() << ", "
                                        << cfg.d_model << "] cpu");
    const float* v = b.soft_vectors.data<const float>();
    for (int64_t i = 0; i < b.soft_vectors.numel(); ++i)
      CKF_CHECK(std::isfinite(v[i]), "batch: soft_vectors row " << i / cfg.d_model << " has a non-finite value");
  }
  for (size_t i = 0; i < b.outputs.size(); ++i) {
    check_pos("outputs", i, b.outputs[i].seq, b.outputs[i].pos);
    int32_t tg = b.outputs[i].target;
    CKF_CHECK(tg == kIgnoreTarget || (tg >= 0 && tg < cfg.vocab),
              "batch: outputs[" << i << "].target = " << tg << " outside vocab " << cfg.vocab);
  }
}

float llama_forward(const LlamaModel& model, const LlamaBatch& batch, LlamaActs& acts, const LlamaRunMode& mode) {
  const LlamaConfig& cfg = model.config;
  const LlamaWeights& w = model.weights;
  llama_batch_validate(cfg, batch);
  llama_tp_validate(model.tp);
  const LlamaConfig local = llama_config_tp_local(cfg, model.tp.size);
  const VocabSlice vs = vocab_slice(local, model.tp.rank);
  CKF_CHECK(w.embedding.dim(0) == vs.size && w.lm_head.dim(0) == vs.size,
            "llama_forward: the weights hold " << w.embedding.dim(0) << " vocabulary rows, tp rank " << model.tp.rank
                                               << " of " << model.tp.size << " needs its slice of " << vs.size);
  const int B = batch.B, T = batch.T, N = B * T, C = cfg.d_model, L = cfg.n_layers;
  const int M = static_cast<int>(batch.outputs.size());

  acts.train = mode.train;
  acts.dropout_seed = mode.dropout_seed;
  acts.segments = multilora_segments(model.lora, batch.tasks, T);
  acts.pos.resize(N);
  for (int i = 0; i < N; ++i) acts.pos[i] = i % T;
  buffer_ensure(acts.resid, {L + 1, N, C});
  acts.layers.resize(L);
  for (int l = 0; l < L; ++l) block_acts_resize(acts.layers[l], local, model.lora, l, B, T, mode.train);
  buffer_ensure(acts.lnf, {N, C});
  buffer_ensure(acts.lnf_rstd, {N});
  buffer_ensure(acts.sel, {M, C});
  buffer_ensure(acts.logits, {M, vs.size});
  buffer_ensure(acts.losses, {M});

  // Embeddings; padding rows look up token 0 (their values never reach a real row).
  std::vector<int32_t> ids(batch.tokens);
  for (int s = 0; s < B; ++s)
    for (int t = batch.lengths[s]; t < T; ++t) ids[size_t(s) * T + t] = 0;
  float* x0 = resid_at(acts, 0);
  vocab_parallel_embedding_forward(model.tp, vs, x0, ids.data(), N, w.embedding.data<const float>(), C);
  for (size_t i = 0; i < batch.soft.size(); ++i) {
    std::memcpy(x0 + (int64_t(batch.soft[i].seq) * T + batch.soft[i].pos) * C, row_ptr(batch.soft_vectors, i),
                sizeof(float) * C);
  }

  for (int l = 0; l < L; ++l)
    block_forward(block_run(local, model.tp, batch, acts, l), w.layers[l], model.lora, resid_at(acts, l), resid_at(acts, l + 1),
                  acts.layers[l]);
  cpu::rmsnorm_forward(acts.lnf.data<float>(), acts.lnf_rstd.data<float>(), resid_at(acts, L),
                       w.norm.data<const float>(), N, C, cfg.rms_eps);

  // The LM head runs on the requested rows only.
  for (int m = 0; m < M; ++m) {
    const LogitRequest& r = batch.outputs[m];
    std::memcpy(row_ptr(acts.sel, m), row_ptr(acts.lnf, int64_t(r.seq) * T + r.pos), sizeof(float) * C);
  }
  cpu::linear_forward(acts.logits.data<float>(), acts.sel.data<const float>(), w.lm_head.data<const float>(), nullptr,
                      M, C, int(vs.size));
  std::vector<int32_t> targets = output_targets(batch);
  vocab_parallel_cross_entropy_forward(model.tp, vs, acts.losses.data<float>(), acts.logits.data<const float>(),
                                       targets.data(), M, kIgnoreTarget, acts.ce);
  double sum = 0.0;
  acts.loss_rows = 0;
  for (int m = 0; m < M; ++m) {
    if (targets[m] == kIgnoreTarget) continue;
    sum += acts.losses.data<const float>()[m];
    ++acts.loss_rows;
  }
  acts.loss = acts.loss_rows ? static_cast<float>(sum / acts.loss_rows) : 0.0f;
  return acts.loss;
}

void llama_backward(LlamaModel& model, const LlamaBatch& batch, LlamaActs& acts, Tensor* d_soft) {
  const LlamaConfig& cfg = model.config;
  const LlamaWeights& w = model.weights;
  const LlamaConfig local = llama_config_tp_local(cfg, model.tp.size);
  const VocabSlice vs = vocab_slice(local, model.tp.rank);
  const int B = batch.B, T = batch.T, N = B * T, C = cfg.d_model, L = cfg.n_layers;
  const int M = static_cast<int>(batch.outputs.size());
  CKF_CHECK(acts.logits.raw() != nullptr && acts.logits.shape() == Shape({M, vs.size}) &&
                acts.resid.shape() == Shape({L + 1, N, C}),
            "llama_backward: activations do not come from a forward of this batch");
  buffer_ensure(acts.dresid, {N, C});
  buffer_ensure(acts.dsel, {M, C});
  buffer_ensure(acts.dlogits, {M, vs.size});
  block_scratch_resize(acts.scratch, local, N);

  std::vector<int32_t> targets = output_targets(batch);
  std::vector<float> dlosses(M, 0.0f);
  for (int m = 0; m < M; ++m)
    if (targets[m] != kIgnoreTarget) dlosses[m] = 1.0f / static_cast<float>(acts.loss_rows);
  vocab_parallel_cross_entropy_backward(vs, acts.dlogits.data<float>(), acts.logits.data<const float>(),
                                        targets.data(), dlosses.data(), M, kIgnoreTarget, acts.ce);
  std::memset(acts.dsel.raw(), 0, acts.dsel.nbytes());
  cpu::linear_backward(acts.dsel.data<float>(), nullptr, nullptr, acts.dlogits.data<const float>(),
                       acts.sel.data<const float>(), w.lm_head.data<const float>(), M, C, int(vs.size));
  tp_all_reduce_sum(model.tp, acts.dsel.data<float>(), int64_t{M} * C);  // each rank's share of its vocabulary

  // Scatter the requested rows back (a position requested twice accumulates), then the final norm.
  Tensor& dlnf = acts.scratch.dln;
  std::memset(dlnf.raw(), 0, dlnf.nbytes());
  for (int m = 0; m < M; ++m) {
    float* dst = row_ptr(dlnf, int64_t(batch.outputs[m].seq) * T + batch.outputs[m].pos);
    const float* src = row_ptr(acts.dsel, m);
    for (int c = 0; c < C; ++c) dst[c] += src[c];
  }
  std::memset(acts.dresid.raw(), 0, acts.dresid.nbytes());
  cpu::rmsnorm_backward(acts.dresid.data<float>(), nullptr, dlnf.data<const float>(), resid_at(acts, L),
                        w.norm.data<const float>(), acts.lnf_rstd.data<const float>(), N, C);

  for (int l = L - 1; l >= 0; --l)
    block_backward(block_run(local, model.tp, batch, acts, l), w.layers[l], model.lora, resid_at(acts, l),
                   acts.dresid.data<float>(), acts.layers[l], acts.scratch);

  // The embedding table is frozen: only the soft-token vectors receive the input gradient.
  if (d_soft != nullptr) {
    const int64_t S = static_cast<int64_t>(batch.soft.size());
    buffer_ensure(*d_soft, {S, C});
    for (int64_t i = 0; i < S; ++i)
      std::memcpy(row_ptr(*d_soft, i), row_ptr(acts.dresid, int64_t(batch.soft[i].seq) * T + batch.soft[i].pos),
                  sizeof(float) * C);
  }
}

void llama_logits_gather(const LlamaModel& model, const LlamaActs& acts, float* out) {
  const int64_t M = acts.logits.dim(0), Vl = acts.logits.dim(1);
  if (model.tp.size == 1) {
    std::memcpy(out, acts.logits.data<const float>(), sizeof(float) * M * Vl);
    return;
  }
  std::vector<float> blocks(size_t(model.tp.size) * M * Vl);  // (tp, M, V/tp)
  model.tp.comm->all_gather(acts.logits.data<const float>(), blocks.data(), M * Vl);
  const int64_t V = Vl * model.tp.size;
  for (int r = 0; r < model.tp.size; ++r)
    for (int64_t m = 0; m < M; ++m)
      std::memcpy(out + m * V + r * Vl, blocks.data() + (r * M + m) * Vl, sizeof(float) * Vl);
}

}  // namespace ckf
