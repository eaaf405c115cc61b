#include "core/cuda/llama_model_cuda.h"

#include "core/check.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/cross_entropy.h"
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/rmsnorm.h"

namespace ckf::cuda {

int llama_batch_cuda_pack(const LlamaBatch& b, LlamaBatchCuda& in) {
  const int T = b.T, N = b.B * b.T, M = static_cast<int>(b.outputs.size()), S = static_cast<int>(b.soft.size());
  in.ids_host = b.tokens;
  for (int s = 0; s < b.B; ++s)
    for (int t = b.lengths[s]; t < T; ++t) in.ids_host[size_t(s) * T + t] = 0;
  in.pos_host.resize(N);
  for (int i = 0; i < N; ++i) in.pos_host[i] = i % T;
  in.soft_rows_host.resize(S);
  for (int i = 0; i < S; ++i) in.soft_rows_host[i] = b.soft[i].seq * T + b.soft[i].pos;
  in.soft_host.clear();
  if (S > 0 && b.soft_vectors.ndim() > 0)
    in.soft_host.assign(b.soft_vectors.data<const float>(),
                        b.soft_vectors.data<const float>() + b.soft_vectors.numel());
  in.out_rows_host.resize(M);
  in.targets_host.resize(M);
  int loss_rows = 0;
  for (int m = 0; m < M; ++m) {
    const LogitRequest& r = b.outputs[m];
    in.out_rows_host[m] = r.seq * T + r.pos;
    in.targets_host[m] = r.target;
    if (r.target != kIgnoreTarget) ++loss_rows;
  }
  row_scatter_plan(in.out_rows_host.data(), M, in.out_plan_host);
  in.dlosses_host.resize(M);
  for (int m = 0; m < M; ++m)
    in.dlosses_host[m] = in.targets_host[m] == kIgnoreTarget ? 0.0f : 1.0f / static_cast<float>(loss_rows);
  return loss_rows;
}

namespace {

// Resizes dst to host's length and copies host into it on the stream (host must outlive the copy).
template <class D, class H>
void upload_async(DeviceBuffer<D>& dst, const std::vector<H>& host, cudaStream_t stream) {
  static_assert(sizeof(D) == sizeof(H));
  device_ensure(dst, host.size());
  if (!host.empty()) CUDA_CHECK(cudaMemcpyAsync(dst.data(), host.data(), dst.bytes(), cudaMemcpyHostToDevice, stream));
}

// Packs the batch (llama_batch_cuda_pack) and uploads its arrays.
void batch_upload(const LlamaBatch& b, LlamaActsCuda& acts, cudaStream_t stream) {
  LlamaBatchCuda& in = acts.in;
  acts.loss_rows = llama_batch_cuda_pack(b, in);
  upload_async(in.ids, in.ids_host, stream);
  upload_async(in.pos, in.pos_host, stream);
  upload_async(in.soft_rows, in.soft_rows_host, stream);
  upload_async(in.soft, in.soft_host, stream);
  upload_async(in.out_rows, in.out_rows_host, stream);
  upload_async(in.out_plan_rows, in.out_plan_host.rows, stream);
  upload_async(in.out_plan_offsets, in.out_plan_host.offsets, stream);
  upload_async(in.out_plan_srcs, in.out_plan_host.srcs, stream);
  upload_async(in.targets, in.targets_host, stream);
}

// Residual stream entering layer l (l == L: leaving the last layer), (N, C).
Bf16* resid_at(LlamaActsCuda& acts, int C, int l) { return acts.resid.data() + size_t(l) * acts.B * acts.T * C; }

BlockRunCuda block_run(const LlamaConfig& cfg, const LlamaActsCuda& acts, int layer, const CudaContext& ctx) {
  return {.cfg = &cfg,
          .layer = layer,
          .B = acts.B,
          .T = acts.T,
          .pos = acts.in.pos.data(),
          .segments = &acts.segments,
          .train = acts.train,
          .dropout_seed = acts.dropout_seed,
          .cublas = ctx.cublas(),
          .stream = ctx.stream()};
}

std::vector<float> download_f32(const DeviceBuffer<float>& buf, const CudaContext& ctx) {
  ctx.synchronize();  // a non-blocking stream: the legacy-stream copy would not wait for it
  return buf.download();
}

}  // namespace

LlamaModelCuda llama_model_cuda_upload(const LlamaModel& model) {
  CKF_CHECK(model.tp.size == 1, "llama_model_cuda_upload: the device path runs tp = 1, this model is tp rank "
                                    << model.tp.rank << " of " << model.tp.size);
  llama_config_validate(model.config);
  LlamaModelCuda dev{model.config, llama_weights_cuda_upload(model.config, model.weights),
                     multilora_cuda_upload(model.lora)};
  // A pageable cudaMemcpy may return before its DMA lands, and kernels on a non-blocking stream
  // would not wait for it.
  CUDA_CHECK(cudaDeviceSynchronize());
  return dev;
}

float llama_cuda_forward(const LlamaModelCuda& model, const LlamaBatch& batch, LlamaActsCuda& acts,
                         const LlamaRunMode& mode, const CudaContext& ctx, const float* soft) {
  const LlamaConfig& cfg = model.config;
  const LlamaWeightsCuda& w = model.weights;
  llama_batch_validate(cfg, batch, soft != nullptr);
  const int B = batch.B, T = batch.T, N = B * T, C = cfg.d_model, L = cfg.n_layers, V = cfg.vocab;
  acts.B = B;
  acts.T = T;
  acts.train = mode.train;
  acts.dropout_seed = mode.dropout_seed;
  acts.M = static_cast<int>(batch.outputs.size());
  acts.S = static_cast<int>(batch.soft.size());
  const int M = acts.M, S = acts.S;
  acts.segments = multilora_cuda_segments(model.lora, batch.tasks, T);
  const cudaStream_t stream = ctx.stream();
  batch_upload(batch, acts, stream);

  device_ensure(acts.resid, size_t(L + 1) * N * C);
  acts.layers.resize(L);
  for (int l = 0; l < L; ++l) block_cuda_acts_resize(acts.layers[l], cfg, model.lora, l, B, T);
  block_cuda_scratch_resize(acts.scratch, cfg, model.lora, B, T);
  device_ensure(acts.lnf, size_t(N) * C);
  device_ensure(acts.lnf_rstd, N);
  device_ensure(acts.sel, size_t(M) * C);
  device_ensure(acts.logits, size_t(M) * V);
  device_ensure(acts.lse, M);
  device_ensure(acts.ce_scratch, size_t(2) * M);
  device_ensure(acts.losses, M);

  Bf16* x0 = resid_at(acts, C, 0);
  embedding_forward(x0, acts.in.ids.data(), w.embedding.data(), acts.in.soft_rows.data(),
                    soft ? soft : acts.in.soft.data(), N, C, S, stream);
  rmsnorm_forward(acts.layers[0].ln1.data(), acts.layers[0].ln1_rstd.data(), x0, w.layers[0].attn_norm.data(), N, C,
                  cfg.rms_eps, stream);
  for (int l = 0; l < L; ++l) {
    const NextNormCuda next = l + 1 < L ? NextNormCuda{w.layers[l + 1].attn_norm.data(), acts.layers[l + 1].ln1.data(),
                                                       acts.layers[l + 1].ln1_rstd.data()}
                                        : NextNormCuda{w.norm.data(), acts.lnf.data(), acts.lnf_rstd.data()};
    block_cuda_forward(block_run(cfg, acts, l, ctx), w.layers[l], model.lora, resid_at(acts, C, l),
                       resid_at(acts, C, l + 1), next, acts.layers[l], acts.scratch);
  }

  acts.loss = 0.0f;
  if (M == 0) {
    ctx.synchronize();  // as with targets: the next forward may then refill the host arrays
    return acts.loss;
  }
  // The LM head runs on the requested rows only; gathering rows is an embedding lookup in lnf.
  embedding_forward(acts.sel.data(), acts.in.out_rows.data(), acts.lnf.data(), nullptr, nullptr, M, C, 0, stream);
  gemm(ctx.cublas(), acts.logits.data(), GemmType::f32, acts.sel.data(), w.lm_head(), GemmType::bf16, M, V, C, false,
       true);
  cross_entropy_forward(acts.losses.data(), acts.lse.data(), acts.ce_scratch.data(), acts.logits.data(),
                        acts.in.targets.data(), M, V, kIgnoreTarget, stream);
  std::vector<float> losses(M);
  CUDA_CHECK(cudaMemcpyAsync(losses.data(), acts.losses.data(), acts.losses.bytes(), cudaMemcpyDeviceToHost, stream));
  ctx.synchronize();
  double sum = 0.0;
  for (int m = 0; m < M; ++m)
    if (acts.in.targets_host[m] != kIgnoreTarget) sum += losses[m];
  acts.loss = acts.loss_rows ? static_cast<float>(sum / acts.loss_rows) : 0.0f;
  return acts.loss;
}

void llama_cuda_backward(LlamaModelCuda& model, LlamaActsCuda& acts, const CudaContext& ctx, float loss_weight,
                         const std::function<void(int layer)>& on_layer_done) {
  const LlamaConfig& cfg = model.config;
  const LlamaWeightsCuda& w = model.weights;
  const int N = acts.B * acts.T, C = cfg.d_model, L = cfg.n_layers, V = cfg.vocab, M = acts.M, S = acts.S;
  CKF_CHECK(N > 0 && acts.layers.size() == size_t(L) && acts.logits.size() == size_t(M) * V,
            "llama_cuda_backward: activations do not come from a forward of this model");
  const cudaStream_t stream = ctx.stream();
  device_ensure(acts.dlogits, size_t(M) * V);
  device_ensure(acts.dsel, size_t(M) * C);
  device_ensure(acts.dlnf, size_t(N) * C);
  device_ensure(acts.dresid, size_t(N) * C);
  device_ensure(acts.d_soft, size_t(S) * C);
  // The weight enters once, at the loss: every gradient below is linear in dlosses.
  acts.in.dlosses_weighted_host.resize(M);
  for (int m = 0; m < M; ++m) acts.in.dlosses_weighted_host[m] = loss_weight * acts.in.dlosses_host[m];
  // A pageable source is staged before cudaMemcpyAsync returns: the next backward may refill it.
  upload_async(acts.in.dlosses, acts.in.dlosses_weighted_host, stream);

  // Head: d logits, d sel, then scatter onto the requested rows (a row requested twice sums).
  device_zero(acts.dlnf, stream);
  if (M > 0) {
    cross_entropy_backward(acts.dlogits.data(), acts.logits.data(), acts.lse.data(), acts.in.targets.data(),
                           acts.in.dlosses.data(), M, V, 0, kIgnoreTarget, stream);
    device_zero(acts.dsel, stream);
    linear_backward_input(ctx.cublas(), acts.dsel.data(), acts.dlogits.data(), w.lm_head(), M, C, V);
    // Row out_rows[m] of dlnf = the sum of its dsel[m] (in m order when requested twice); the rest stay 0.
    row_scatter_sum(acts.dlnf.data(), acts.dsel.data(), acts.in.out_plan_rows.data(), acts.in.out_plan_offsets.data(),
                    acts.in.out_plan_srcs.data(), static_cast<int>(acts.in.out_plan_host.rows.size()), C, stream);
  }
  device_zero(acts.dresid, stream);
  rmsnorm_backward(acts.dresid.data(), nullptr, acts.dlnf.data(), resid_at(acts, C, L), w.norm.data(),
                   acts.lnf_rstd.data(), N, C, stream);
  for (int l = L - 1; l >= 0; --l) {
    block_cuda_backward(block_run(cfg, acts, l, ctx), w.layers[l], model.lora, resid_at(acts, C, l), acts.dresid.data(),
                        acts.layers[l], acts.scratch);
    if (on_layer_done) on_layer_done(l);
  }

  // The embedding table is frozen: only the soft-token vectors receive the input gradient.
  device_zero(acts.d_soft, stream);
  embedding_backward_soft(acts.d_soft.data(), acts.dresid.data(), acts.in.soft_rows.data(), S, C, stream);
}

std::vector<float> llama_cuda_logits(const LlamaActsCuda& acts, const CudaContext& ctx) {
  return download_f32(acts.logits, ctx);
}

std::vector<float> llama_cuda_d_soft(const LlamaActsCuda& acts, const CudaContext& ctx) {
  return download_f32(acts.d_soft, ctx);
}

}  // namespace ckf::cuda
