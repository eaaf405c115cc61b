// The LLaMA decoder's training step on the device (twin of core/llama_model.h, tp = 1): the frozen
// weights (bf16) and the Multi-LoRA adapters (fp32 masters, bf16 copies, fp32 gradients) are
// uploaded once from a LlamaModel; forward and backward then run entirely on the GPU, activations
// stay there for backward, and the host only uploads each batch's indices and soft-token vectors
// and reads back the M per-row losses.
//   forward:  embedding + soft tokens -> L blocks -> final norm -> LM head at the M requested rows
//             -> cross-entropy (mean over the rows with a target)
//   backward: to every adapter's dA, dB (accumulated in lora.grads) and to the soft-token vectors.
// LoRA dropout in training draws the CPU path's masks exactly (kernels/cuda/lora_dropout.h).
// Not on the device path: tensor parallelism (tp must be 1). The optimizer step is
// core/cuda/optimizer_cuda.h's.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "core/cuda/llama_weights_cuda.h"
#include "core/cuda/multi_lora_cuda.h"
#include "core/cuda/transformer_block_cuda.h"
#include "core/llama_model.h"
#include "kernels/cuda/context.h"
#include "kernels/cuda/row_scatter.h"

namespace ckf::cuda {

struct LlamaModelCuda {
  LlamaConfig config;
  LlamaWeightsCuda weights;  // frozen
  MultiLoraCuda lora;        // trainable
};

// Uploads weights and adapters; throws unless model.tp.size == 1.
LlamaModelCuda llama_model_cuda_upload(const LlamaModel& model);

// One batch's host-built index arrays on the device. N = B*T.
// The host copies stay alive here until the asynchronous uploads from them are done.
struct LlamaBatchCuda {
  std::vector<int32_t> ids_host, pos_host, soft_rows_host, out_rows_host, targets_host;  // as below
  std::vector<float> soft_host, dlosses_host;                                            // as below
  std::vector<float> dlosses_weighted_host;  // (M) loss_weight * dlosses_host, the last backward's
  RowScatterPlan out_plan_host;  // out_rows grouped by row: the head's backward scatter (R distinct rows)
  DeviceBuffer<int32_t> ids;        // (N) token ids; padding rows look up token 0
  DeviceBuffer<int32_t> pos;        // (N) position of each row in its sequence
  DeviceBuffer<int32_t> soft_rows;  // (S) row of each soft token
  DeviceBuffer<float> soft;         // (S, C) soft-token vectors
  DeviceBuffer<int32_t> out_rows;   // (M) row of each requested position
  DeviceBuffer<int32_t> out_plan_rows;     // (R) out_plan_host.rows
  DeviceBuffer<int32_t> out_plan_offsets;  // (R + 1) out_plan_host.offsets
  DeviceBuffer<int32_t> out_plan_srcs;     // (M) out_plan_host.srcs
  DeviceBuffer<int32_t> targets;  // (M) kIgnoreTarget for logits-only rows
  DeviceBuffer<float> dlosses;    // (M) loss_weight * d mean-loss / d row loss, uploaded by the backward
};

// Fills in's host arrays from a validated batch with the CPU path's conventions (padding rows look
// up token 0, row = seq * T + pos); returns the number of rows with a target. The forward calls it
// and uploads the arrays. dlosses_host (M) = d mean-loss / d row loss: 1/loss_rows, 0 when ignored.
// soft_host copies batch.soft_vectors, left empty when that has no shape (soft tokens on the device).
int llama_batch_cuda_pack(const LlamaBatch& batch, LlamaBatchCuda& in);

struct LlamaActsCuda {
  int B = 0, T = 0, M = 0, S = 0;
  std::vector<LoraSegment> segments;
  bool train = false;  // LoRA dropout on; backward redraws the forward's masks from the seed
  uint64_t dropout_seed = 0;
  LlamaBatchCuda in;
  DeviceBuffer<Bf16> resid;           // (L+1, N, C) residual stream entering each layer, [L] leaving the last
  std::vector<LayerActsCuda> layers;  // (L)
  DeviceBuffer<Bf16> lnf;             // (N, C) final rmsnorm
  DeviceBuffer<float> lnf_rstd;       // (N)
  DeviceBuffer<Bf16> sel;             // (M, C) lnf rows at the requested positions
  DeviceBuffer<float> logits;         // (M, V)
  DeviceBuffer<float> lse;            // (M) logits' log-sum-exp, for backward
  DeviceBuffer<float> ce_scratch;     // (2, M)
  DeviceBuffer<float> losses;         // (M) per-row cross-entropy, 0 for ignored rows
  float loss = 0.0f;                  // mean over rows with a target
  int loss_rows = 0;
  // Backward buffers.
  DeviceBuffer<Bf16> dlogits;  // (M, V)
  DeviceBuffer<Bf16> dsel;     // (M, C)
  DeviceBuffer<Bf16> dlnf;     // (N, C)
  DeviceBuffer<Bf16> dresid;   // (N, C)
  DeviceBuffer<float> d_soft;  // (S, C)
  BlockScratchCuda scratch;
};

// Runs the batch (validated as the CPU path does); returns the mean loss (0 without targets).
// Synchronises once at the end (to read back the M losses), so the uploads from acts.in's host
// arrays are complete when the next forward refills them.
// soft: the (S, C) fp32 soft-token vectors in device memory (computed there, e.g. by the mapper on
// ctx's stream), replacing batch.soft_vectors, which is then not read; nullptr: batch.soft_vectors.
float llama_cuda_forward(const LlamaModelCuda& model, const LlamaBatch& batch, LlamaActsCuda& acts,
                         const LlamaRunMode& mode, const CudaContext& ctx, const float* soft = nullptr);

// loss_weight * the gradient of the mean loss of the last forward on the same batch: accumulates
// (+=) into model.lora.grads and writes acts.d_soft (S, C). Asynchronous on ctx's stream.
// on_layer_done(l), when set, is called on the host right after layer l's backward is enqueued
// (l = L-1 down to 0): from then on, work queued on the stream sees layer l's adapter gradients final.
void llama_cuda_backward(LlamaModelCuda& model, LlamaActsCuda& acts, const CudaContext& ctx, float loss_weight = 1.0f,
                         const std::function<void(int layer)>& on_layer_done = {});

// (M, V) logits and (S, C) soft-token gradient of the last forward / backward; they wait for
// ctx's stream.
std::vector<float> llama_cuda_logits(const LlamaActsCuda& acts, const CudaContext& ctx);
std::vector<float> llama_cuda_d_soft(const LlamaActsCuda& acts, const CudaContext& ctx);

}  // namespace ckf::cuda
