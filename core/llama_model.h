// The LLaMA-family decoder with Multi-LoRA over a batch: forward to logits at requested positions
// and their cross-entropy, backward to the LoRA gradients and to the soft-token vectors. The
// (B*T, V) logits matrix never exists: only the M requested rows go through the LM head.
// Under tensor parallelism each tp rank holds its slice of the weights and adapters
// (llama_weights_shard, multilora_create with the tp rank) and computes its slice of the heads,
// MLP columns and vocabulary (core/llama_tp.h); every rank of the group runs the same batch.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/llama_config.h"
#include "core/llama_tp.h"
#include "core/llama_weights.h"
#include "core/multi_lora.h"
#include "core/tensor.h"
#include "core/transformer_block.h"
#include "core/vocab_parallel.h"

namespace ckf {

struct LlamaModel {
  LlamaConfig config;    // the whole model's
  LlamaTp tp;            // this rank's place in the tensor-parallel group (size 1: the whole model)
  LlamaWeights weights;  // frozen; this tp rank's slice
  MultiLora lora;        // trainable; gradients live in the adapters
};

// HF's ignore index: a requested row with this target gets logits but no loss.
inline constexpr int32_t kIgnoreTarget = -100;

// A position whose token embedding is replaced by a vector (a CF soft token).
struct SoftToken {
  int seq;
  int pos;
};

// A position whose next-token logits are wanted, with the token that should follow it.
struct LogitRequest {
  int seq;
  int pos;
  int32_t target;  // kIgnoreTarget for logits only
};

struct LlamaBatch {
  int B = 0;
  int T = 0;
  std::vector<int32_t> tokens;        // (B, T) right-padded; entries past a length are ignored
  std::vector<int> lengths;           // (B) real tokens per sequence, 1..T
  std::vector<std::string> tasks;     // (B) task of each sequence (selects its adapters)
  std::vector<SoftToken> soft;        // (S)
  Tensor soft_vectors;                // (S, C) replaces the embeddings at `soft`
  std::vector<LogitRequest> outputs;  // (M)
};

// Throws naming the offending field and index (ids, lengths, positions, tasks, shapes).
// soft_vectors_elsewhere: the soft-token vectors do not come from batch.soft_vectors (the device
// step computes them on the device), so that field is not checked.
void llama_batch_validate(const LlamaConfig& cfg, const LlamaBatch& batch, bool soft_vectors_elsewhere = false);

// Everything forward keeps for backward, and backward's buffers. N = B*T.
struct LlamaActs {
  std::vector<int32_t> pos;  // (N) position of each row
  std::vector<LoraSegment> segments;
  bool train = false;
  uint64_t dropout_seed = 0;
  Tensor resid;                   // (L+1, N, C) residual stream entering each layer, [L] leaving the last
  std::vector<LayerActs> layers;  // (L)
  Tensor lnf;                     // (N, C) final rmsnorm
  Tensor lnf_rstd;                // (N)
  Tensor sel;                     // (M, C) lnf rows at the requested positions
  Tensor logits;                  // (M, V/tp) this tp rank's vocabulary columns
  VocabParallelCeActs ce;
  Tensor losses;                  // (M) per-row cross-entropy, 0 for ignored rows
  float loss = 0.0f;              // mean over rows with a target
  int loss_rows = 0;              // rows with a target
  // Backward buffers.
  Tensor dresid;   // (N, C)
  Tensor dsel;     // (M, C)
  Tensor dlogits;  // (M, V/tp)
  BlockScratch scratch;
};

struct LlamaRunMode {
  bool train = false;         // LoRA dropout on
  uint64_t dropout_seed = 0;  // e.g. derived from (seed, step): masks are a pure function of it
};

// Runs the batch; fills acts.logits (M, V/tp) and acts.losses, returns the mean loss (0 without targets).
float llama_forward(const LlamaModel& model, const LlamaBatch& batch, LlamaActs& acts, const LlamaRunMode& mode);

// out (M, V): the whole vocabulary's logits of the last forward (gathered over tp; collective).
void llama_logits_gather(const LlamaModel& model, const LlamaActs& acts, float* out);

// Gradient of the mean loss of the last forward on the same batch: accumulates (+=) into every
// adapter's dA, dB and writes d_soft (S, C) when non-null. The base weights get no gradient.
void llama_backward(LlamaModel& model, const LlamaBatch& batch, LlamaActs& acts, Tensor* d_soft);

}  // namespace ckf
