#include "io/peft_export.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/json_write.h"
#include "io/safetensors_write.h"

namespace ckf {

namespace fs = std::filesystem;

namespace {

// Appends adapter a's A rows and scale-folded B columns at rank offset r0 of (A, B).
void module_append(Tensor& A, Tensor& B, int r0, const LoraAdapter& a) {
  const int64_t r = a.A.shape()[0], in = a.A.shape()[1], out = a.B.shape()[0], R = B.shape()[1];
  std::memcpy(A.data<float>() + r0 * in, a.A.data<float>(), size_t(r * in) * sizeof(float));
  const float* b = a.B.data<float>();
  float* dst = B.data<float>();
  for (int64_t o = 0; o < out; ++o)
    for (int64_t j = 0; j < r; ++j) dst[o * R + r0 + j] = a.scale * b[o * r + j];
}

Json string_array(const std::vector<std::string>& v) {
  Json::Array a;
  for (const std::string& s : v) a.push_back(Json(s));
  return Json(std::move(a));
}

// PEFT matches pattern keys as regular expressions against the end of a module name after a dot;
// "layers.N.self_attn.q_proj" matches in every PEFT version (its dots match themselves too).
std::string pattern_key(const std::string& module) { return module.substr(std::string("model.").size()); }

std::string adapter_config(const std::vector<PeftModule>& modules, const PeftExportInput& in) {
  std::vector<std::string> targets;
  Json::Object ranks, alphas;
  int64_t r_max = 0;
  for (const PeftModule& m : modules) {
    const std::string name = m.module.substr(m.module.rfind('.') + 1);
    if (std::find(targets.begin(), targets.end(), name) == targets.end()) targets.push_back(name);
    const int64_t r = m.A.shape()[0];
    ranks.emplace_back(pattern_key(m.module), Json::integer(r));
    alphas.emplace_back(pattern_key(m.module), Json::integer(r));  // alpha = r: scale 1, folded into B
    r_max = std::max(r_max, r);
  }
  const Json::Object config{
      {"peft_type", Json(std::string("LORA"))},
      {"task_type", Json(std::string("CAUSAL_LM"))},
      {"base_model_name_or_path", Json(in.base_model)},
      {"r", Json::integer(r_max)},
      {"lora_alpha", Json::integer(r_max)},
      {"lora_dropout", Json(double(in.lora->task_spec.dropout))},
      {"target_modules", string_array(targets)},
      {"rank_pattern", Json(std::move(ranks))},
      {"alpha_pattern", Json(std::move(alphas))},
      {"bias", Json(std::string("none"))},
      {"fan_in_fan_out", Json(false)},
      {"use_rslora", Json(false)},
      {"use_dora", Json(false)},
      {"init_lora_weights", Json(true)},
      {"inference_mode", Json(true)},
      {"modules_to_save", Json()},
      {"layers_to_transform", Json()},
      {"revision", Json()},
  };
  return json_write(Json(config)) + "\n";
}

std::string mapper_config(const MapperConfig& c) {
  const Json::Object o{{"d_cf", Json::integer(c.d_cf)},
                       {"d_model", Json::integer(c.d_model)},
                       {"meta_hidden", Json::integer(c.meta_hidden)},
                       {"proj_hidden", Json::integer(c.proj_hidden)},
                       {"kind", Json(std::string(c.kind == MappingKind::metanet ? "metanet" : "shared_linear"))}};
  return json_write(Json(o), 0);
}

void text_write(const fs::path& path, const std::string& text) {
  atomic_write(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    CKF_CHECK(out, "open " << tmp << " for writing");
    out << text;
    out.flush();
    CKF_CHECK(out, "write " << tmp << ": I/O error");
  });
}

}  // namespace

std::vector<PeftModule> peft_merge(const MultiLora& lora, const std::string& task) {
  const LoraSet& own = multilora_task(lora, task);
  std::vector<PeftModule> modules;
  for (size_t l = 0; l < lora.shared.layers.size(); ++l) {
    for (int t = 0; t < kLoraTargets; ++t) {
      std::vector<const LoraAdapter*> parts;
      for (const LoraSet* set : {&lora.shared, &own})
        if (l < set->layers.size() && set->layers[l][t]) parts.push_back(&*set->layers[l][t]);
      if (parts.empty()) continue;
      int64_t r = 0;
      for (const LoraAdapter* a : parts) r += a->A.shape()[0];
      PeftModule m{lora_module_path(int(l), LoraTarget(t)), Tensor::empty({r, parts[0]->A.shape()[1]}),
                   Tensor::empty({parts[0]->B.shape()[0], r})};
      int r0 = 0;
      for (const LoraAdapter* a : parts) {
        module_append(m.A, m.B, r0, *a);
        r0 += int(a->A.shape()[0]);
      }
      modules.push_back(std::move(m));
    }
  }
  return modules;
}

void peft_export(const fs::path& out, const PeftExportInput& in) {
  CKF_CHECK(in.lora != nullptr, "peft_export " << out << ": no adapters given");
  const std::vector<PeftModule> modules = peft_merge(*in.lora, in.task);
  CKF_CHECK(!modules.empty(), "peft_export " << out << ": task '" << in.task << "' has no adapters to export");
  std::vector<SafetensorsEntry> adapter;
  for (const PeftModule& m : modules) {
    adapter.push_back({"base_model.model." + m.module + ".lora_A.weight", m.A});
    adapter.push_back({"base_model.model." + m.module + ".lora_B.weight", m.B});
  }
  std::vector<SafetensorsEntry> mapper;
  for (const Param* p : in.mapper_params) mapper.push_back({p->name, p->value});
  atomic_write(out, [&](const fs::path& tmp) {
    fs::create_directories(tmp);
    text_write(tmp / "adapter_config.json", adapter_config(modules, in));
    safetensors_write(tmp / "adapter_model.safetensors", adapter, {{"format", "pt"}, {"ckf_task", in.task}});
    if (in.mapper)
      safetensors_write(tmp / "mapper.safetensors", mapper, {{"format", "pt"}, {"ckf_mapper", mapper_config(in.mapper->cfg)}});
  });
}

}  // namespace ckf
