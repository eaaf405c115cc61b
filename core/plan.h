// Cost model behind `ckf plan`: memory per GPU and predicted step time of a TP x DP layout for
// training Multi-LoRA + mapper on a frozen LLaMA-family model. Every term is a closed form stated
// next to its function, so the numbers can be checked by hand (tests/unit/plan_test.cpp does).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ckf {

// Sizes of a LLaMA-family decoder.
struct PlanModel {
  std::string name;
  int64_t n_layer = 0, d_model = 0, n_head = 0, n_kv_head = 0, d_ffn = 0, vocab = 0;
  bool tied_embeddings = false;  // LM head shares the embedding matrix
};

// "embedded" (SmolLM2-135M), "llama-1b" (Llama 3.2 1B), "llama-7b", "llama-13b" (LLaMA 1/2).
PlanModel plan_model_preset(const std::string& name);
// An INI file with n_layer, d_model, n_head, n_kv_head, d_ffn, vocab [, tied_embeddings, name].
PlanModel plan_model_from_file(const std::string& path);

// Weight count of one projection: "q","k","v","o","gate","up","down" -> (in, out) features.
struct ProjShape {
  int64_t in = 0, out = 0;
  bool row_parallel = false;  // o and down: input split under TP; the others split their output
};
ProjShape plan_proj_shape(const PlanModel& m, const std::string& proj);

struct PlanLora {
  int r = 16;
  std::vector<std::string> shared_targets{"k", "v", "o"};
  std::vector<std::string> task_targets{"q"};
  int n_tasks = 4;
};

// Mapper sizes: parameter count is taken from core/mapper.h itself (replicated on every GPU).
struct PlanMapper {
  int d_cf = 64, meta_hidden = 64, proj_hidden = 256;
};

struct PlanHardware {
  int gpus_per_node = 8;
  double gpu_mem_gb = 141;      // HBM per GPU (H200), GB = 1e9 bytes
  double gpu_tflops = 989;      // bf16 dense datasheet peak (H100/H200 SXM)
  double efficiency = 0.8;      // achieved fraction of peak on large GEMMs (replaced by --calibrate)
  double nvlink_gbps = 450;     // NVLink 4 GB/s per direction per GPU
  double ib_gbps = 400;         // InfiniBand Gb/s per GPU (one NDR NIC per GPU)
  double nvlink_latency_us = 10, ib_latency_us = 20;  // per collective
  double mem_headroom = 0.1;    // fraction of HBM kept for CUDA context, workspaces, fragmentation
};

struct PlanWorkload {
  int64_t seq = 512, batch = 8;         // tokens per sample, samples per replica per step
  bool attention_probs_saved = false;   // true: (heads, seq, seq) probabilities kept (non-flash)
};

struct PlanLayout {
  int tp = 1, dp = 1;
};

// Bytes per GPU.
struct PlanMemory {
  double weights = 0;      // frozen base, bf16, TP shards + replicated norms
  double activations = 0;  // saved for backward, bf16, recompute off
  double adapters = 0;     // LoRA value + grad + AdamW m, v (fp32: 16 bytes / param)
  double mapper = 0;       // same 16 bytes / param, replicated
  double total() const { return weights + activations + adapters + mapper; }
};

// Seconds per step (one micro-batch per replica), no overlap of communication with compute.
struct PlanTime {
  double compute = 0, tp_comm = 0, dp_comm = 0;
  double total() const { return compute + tp_comm + dp_comm; }
};

struct PlanEstimate {
  PlanLayout layout;
  PlanMemory memory;
  PlanTime time;
  double flops_per_gpu = 0;  // per step
  bool fits = false;
  double tokens_per_s = 0;   // dp * batch * seq / time
};

// Frozen base parameters: sharded (everything but the norms) and replicated (norms).
struct PlanParamCount {
  int64_t sharded = 0, replicated = 0, matmul = 0;  // matmul: in the decoder layers' projections
};
PlanParamCount plan_param_count(const PlanModel& m);

// LoRA parameters one GPU holds for one adapter set on `targets`: per layer and projection
// r*(in+out), with the TP-split factor applied to B (column-parallel base) or A (row-parallel base).
int64_t plan_lora_params_per_gpu(const PlanModel& m, int r, const std::vector<std::string>& targets, int tp);

int64_t plan_mapper_params(const PlanMapper& mp, int64_t d_model);

// TP sizes allowed for this model on `world` GPUs: tp divides heads, KV heads, d_ffn, vocab and
// world, and tp <= gpus_per_node (TP traffic stays on NVLink).
std::vector<int> plan_valid_tp(const PlanModel& m, int gpus_per_node, int world);

PlanEstimate plan_estimate(const PlanModel& m, const PlanLora& lora, const PlanMapper& mp, const PlanHardware& hw,
                           const PlanWorkload& w, const PlanLayout& layout);

// Ring all-reduce of `bytes` over n ranks: latency + 2 (n-1)/n * bytes / bandwidth (bytes/s).
double plan_allreduce_seconds(double bytes, int n, double bytes_per_s, double latency_s);

// All layouts of `world` GPUs, best (highest tokens/s among those that fit) first.
std::vector<PlanEstimate> plan_layouts(const PlanModel& m, const PlanLora& lora, const PlanMapper& mp,
                                       const PlanHardware& hw, const PlanWorkload& w, int world);

}  // namespace ckf
