// Export of one task's Multi-LoRA adapters as a Hugging Face PEFT LoRA adapter directory:
//   adapter_config.json         PEFT LoraConfig (peft_type LORA, task_type CAUSAL_LM)
//   adapter_model.safetensors   base_model.model.<module>.lora_A.weight (r_m, in) / lora_B.weight (out, r_m)
//   mapper.safetensors          the CKF mapper's Params by their ckf names (not part of PEFT; metadata
//                               "ckf_mapper" holds its configuration). Absent when there is no mapper.
//
// Merge: task T runs through the shared set and T's set, whose deltas add on a shared projection,
// with their own ranks and alphas. PEFT's single adapter has one (r, alpha) per module, so each
// module's A's are concatenated along the rank dimension and the per-set scales alpha/r folded
// into the B's:  A_m = [A_shared; A_task] (r_s + r_t, in),  B_m = [s_s B_shared, s_t B_task]
// (out, r_s + r_t), so B_m A_m = s_s B_s A_s + s_t B_t A_t exactly. Every module is then listed in
// rank_pattern with its concatenated rank and in alpha_pattern with alpha equal to that rank, so
// PEFT's scale alpha/r is 1 everywhere. This (rather than one adapter per set) keeps a single
// loadable adapter whose forward equals ckf's in exact arithmetic; the price is that the merged
// adapter cannot be split back into sets (the checkpoint keeps them) and dropout acts on the
// concatenation with the task set's rate (training only).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/mapper.h"
#include "core/multi_lora.h"
#include "core/param.h"

namespace ckf {

// One PEFT module's merged adapter: delta W = B A (scales folded into B).
struct PeftModule {
  std::string module;  // e.g. "model.layers.3.self_attn.q_proj"
  Tensor A;            // (r_m, in)
  Tensor B;            // (out, r_m)
};

// The merged modules of `task` (shared set, then the task's set on each projection), in layer and
// block order. Throws naming the task when `lora` does not hold it.
std::vector<PeftModule> peft_merge(const MultiLora& lora, const std::string& task);

struct PeftExportInput {
  const MultiLora* lora = nullptr;
  std::string task;
  std::string base_model;  // base_model_name_or_path ("" for a random model)
  const Mapper* mapper = nullptr;  // null: no mapper.safetensors
  ParamRefs mapper_params;         // the mapper's Params (core/mapper.h mapper_params)
};

// Writes the directory `out` as described above; an existing directory is replaced atomically.
void peft_export(const std::filesystem::path& out, const PeftExportInput& in);

}  // namespace ckf
