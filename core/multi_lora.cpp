#include "core/multi_lora.h"

#include <cstring>

#include "core/check.h"
#include "core/rng.h"

namespace ckf {

std::pair<int, int> lora_target_dims(const LlamaConfig& cfg, LoraTarget t) {
  const int C = cfg.d_model, QD = cfg.n_heads * cfg.head_dim, KVD = cfg.n_kv_heads * cfg.head_dim;
  switch (t) {
    case LoraTarget::q:
      return {C, QD};
    case LoraTarget::k:
    case LoraTarget::v:
      return {C, KVD};
    case LoraTarget::o:
      return {QD, C};
    case LoraTarget::gate:
    case LoraTarget::up:
      return {C, cfg.ffn};
    case LoraTarget::down:
      return {cfg.ffn, C};
  }
  CKF_FAIL("unknown LoRA target " << static_cast<int>(t));
}

namespace {

LoraSet lora_set_create(const LlamaConfig& cfg, const LoraSpec& spec, const std::string& set_name, uint64_t seed,
                        int tp_rank, int tp_size) {
  LoraSet set;
  set.layers.resize(cfg.n_layers);
  const uint64_t set_stream = rng_hash_string(set_name.c_str());
  for (int l = 0; l < cfg.n_layers; ++l) {
    for (LoraTarget t : spec.targets) {
      auto [in, out] = lora_target_dims(cfg, t);
      uint64_t stream = rng_mix(set_stream + static_cast<uint64_t>(l) * kLoraTargets + static_cast<uint64_t>(t));
      const LoraShard shard{tp_size > 1 ? lora_target_split(t) : LoraSplit::none, tp_rank, tp_size};
      set.layers[l][static_cast<int>(t)] = lora_adapter_create(in, out, spec, seed, stream, shard);
    }
  }
  return set;
}

void set_params(LoraSet& set, const std::string& prefix, std::vector<LoraParam>& out) {
  for (size_t l = 0; l < set.layers.size(); ++l) {
    for (int t = 0; t < kLoraTargets; ++t) {
      auto& a = set.layers[l][t];
      if (!a) continue;
      const auto target = static_cast<LoraTarget>(t);
      const std::string base = prefix + "." + lora_module_path(int(l), target);
      const int64_t r = a->A.dim(0);
      const bool in_cols = a->split == LoraSplit::in_cols, out_rows = a->split == LoraSplit::out_rows;
      out.push_back({base + ".lora_A.weight", a->A, a->dA, {r, a->in_global}, in_cols ? 1 : -1, a->in_offset,
                     out_rows});
      out.push_back({base + ".lora_B.weight", a->B, a->dB, {a->out_global, r}, out_rows ? 0 : -1, a->out_offset,
                     in_cols});
    }
  }
}

}  // namespace

std::string lora_module_path(int layer, LoraTarget t) {
  const bool mlp = t == LoraTarget::gate || t == LoraTarget::up || t == LoraTarget::down;
  return "model.layers." + std::to_string(layer) + (mlp ? ".mlp." : ".self_attn.") + lora_target_name(t);
}

LoraSplit lora_target_split(LoraTarget t) {
  return t == LoraTarget::o || t == LoraTarget::down ? LoraSplit::in_cols : LoraSplit::out_rows;
}

MultiLora multilora_create(const LlamaConfig& cfg, const LoraSpec& shared, const LoraSpec& task,
                           const std::vector<std::string>& task_names, uint64_t seed, int tp_rank, int tp_size) {
  llama_config_validate(cfg);
  lora_spec_validate(shared, "shared");
  lora_spec_validate(task, "task");
  MultiLora m;
  m.shared_spec = shared;
  m.task_spec = task;
  m.shared = lora_set_create(cfg, shared, "shared", seed, tp_rank, tp_size);
  for (const std::string& name : task_names) {
    CKF_CHECK(!name.empty() && name != "shared", "Multi-LoRA: invalid task name '" << name << "'");
    CKF_CHECK(!m.tasks.count(name), "Multi-LoRA: task '" << name << "' listed twice");
    m.tasks.emplace(name, lora_set_create(cfg, task, "task." + name, seed, tp_rank, tp_size));
  }
  return m;
}

const LoraSet& multilora_task(const MultiLora& lora, const std::string& task) {
  auto it = lora.tasks.find(task);
  if (it == lora.tasks.end()) {
    std::string held;
    for (const auto& [name, set] : lora.tasks) held += (held.empty() ? "" : ", ") + name;
    CKF_FAIL("Multi-LoRA: no adapters for task '"
             << task << "' in this instance (holds: " << (held.empty() ? "none" : held) << ")");
  }
  return it->second;
}

LoraSet& multilora_task(MultiLora& lora, const std::string& task) {
  return const_cast<LoraSet&>(multilora_task(static_cast<const MultiLora&>(lora), task));
}

std::vector<LoraSegment> lora_segments_group(const std::vector<std::string>& seq_tasks, int T) {
  std::vector<LoraSegment> segments;
  for (size_t b = 0; b < seq_tasks.size(); ++b) {
    const int64_t begin = static_cast<int64_t>(b) * T;
    if (!segments.empty() && segments.back().task == seq_tasks[b]) {
      segments.back().end = begin + T;
      continue;
    }
    segments.push_back({begin, begin + T, seq_tasks[b]});
  }
  return segments;
}

std::vector<LoraSegment> multilora_segments(const MultiLora& lora, const std::vector<std::string>& seq_tasks, int T) {
  std::vector<LoraSegment> segments = lora_segments_group(seq_tasks, T);
  for (const LoraSegment& seg : segments) multilora_task(lora, seg.task);  // throws when the task is not held
  return segments;
}

std::vector<LoraParam> multilora_params(MultiLora& lora) {
  std::vector<LoraParam> out;
  set_params(lora.shared, "shared", out);
  for (auto& [name, set] : lora.tasks) set_params(set, "task." + name, out);
  return out;
}

void multilora_zero_grad(MultiLora& lora) {
  for (LoraParam& p : multilora_params(lora)) std::memset(p.grad.raw(), 0, p.grad.nbytes());
}

}  // namespace ckf
