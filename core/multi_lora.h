// Multi-LoRA: one adapter set shared by all tasks plus one set per task. A sequence of task t runs
// through the shared set and t's set only; where both sit on one projection their deltas add.
// A model instance may hold a subset of the tasks (a DP replica holds its own tasks only).
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/llama_config.h"
#include "core/lora.h"

namespace ckf {

// The adapters of one set for every layer: layers[l][target], empty where the spec places none.
struct LoraSet {
  std::vector<std::array<std::optional<LoraAdapter>, kLoraTargets>> layers;  // (L)
};

struct MultiLora {
  LoraSpec shared_spec;
  LoraSpec task_spec;
  LoraSet shared;
  std::map<std::string, LoraSet> tasks;  // the tasks this instance holds
};

// (in, out) of the linear layer a target names.
std::pair<int, int> lora_target_dims(const LlamaConfig& cfg, LoraTarget t);

// Adapter A matrices depend only on (seed, set name, layer, target): replicas holding different
// task subsets, and tp ranks holding different slices, agree on every adapter they share. cfg is
// the whole model's; tp rank `tp_rank` of `tp_size` gets its slices (core/llama_tp.h).
MultiLora multilora_create(const LlamaConfig& cfg, const LoraSpec& shared, const LoraSpec& task,
                           const std::vector<std::string>& task_names, uint64_t seed, int tp_rank = 0,
                           int tp_size = 1);

// The split of an adapter on `t` under tensor parallelism: out_rows on the column-parallel q, k,
// v, gate, up; in_cols on the row-parallel o, down.
LoraSplit lora_target_split(LoraTarget t);

// Throws naming the task and the tasks held when this instance lacks it.
const LoraSet& multilora_task(const MultiLora& lora, const std::string& task);
LoraSet& multilora_task(MultiLora& lora, const std::string& task);

// Rows [begin, end) of a batch whose consecutive sequences share one task.
struct LoraSegment {
  int64_t begin;
  int64_t end;
  std::string task;
};

// Groups the sequences (each of T rows) into runs of equal task.
std::vector<LoraSegment> lora_segments_group(const std::vector<std::string>& seq_tasks, int T);
// lora_segments_group, checking that every task is held.
std::vector<LoraSegment> multilora_segments(const MultiLora& lora, const std::vector<std::string>& seq_tasks, int T);

// The Hugging Face module an adapter sits on, e.g. "model.layers.3.self_attn.q_proj".
std::string lora_module_path(int layer, LoraTarget t);

// A trainable tensor and its gradient, named as PEFT names them below a set prefix, e.g.
// "shared.model.layers.0.self_attn.k_proj.lora_A.weight", with its place in the global tensor.
struct LoraParam {
  std::string name;
  Tensor param;  // the adapter's A or B (shared storage)
  Tensor grad;   // its dA or dB
  Shape global_shape;
  int split_dim = -1;        // -1 whole; else the slice [split_offset, + shape[split_dim]) of global_shape
  int64_t split_offset = 0;
  bool tp_partial = false;   // grad is this tp rank's share of a sum over tp (dA on out_rows, dB on in_cols)
};
std::vector<LoraParam> multilora_params(MultiLora& lora);

void multilora_zero_grad(MultiLora& lora);

}  // namespace ckf
