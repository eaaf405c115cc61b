// PEFT export: a tiny model's Multi-LoRA adapters (shared and task sets overlapping on q_proj, with
// different ranks and alphas) and mapper are exported, read back with io/safetensors.h, and
// checked against the adapters themselves: tensor names and shapes, adapter_config.json's ranks
// and alphas, and for every projection the exported delta (PEFT's scale alpha_m / r_m times B A,
// in double) against the Multi-LoRA delta s_s B_s A_s + s_t B_t A_t computed naively in double.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/check.h"
#include "core/rng.h"
#include "io/json.h"
#include "io/peft_export.h"
#include "io/safetensors.h"

namespace ckf {
namespace {

using Delta = std::vector<double>;  // (out, in) row-major

// Adds scale * B A (double) into d.
void delta_add(Delta& d, const Tensor& A, const Tensor& B, double scale) {
  const int64_t r = A.shape()[0], in = A.shape()[1], out = B.shape()[0];
  if (d.empty()) d.assign(size_t(out * in), 0.0);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      double s = 0.0;
      for (int64_t j = 0; j < r; ++j) s += double(B.data<float>()[o * r + j]) * A.data<float>()[j * in + i];
      d[size_t(o * in + i)] += scale * s;
    }
}

// Random B's (they start at zero) so that every delta is non-zero.
void randomize_b(LoraSet& set, uint64_t seed) {
  uint64_t stream = 7;
  for (auto& layer : set.layers)
    for (auto& a : layer)
      if (a) rng_fill_uniform(a->B.data<float>(), a->B.numel(), -0.5f, 0.5f, seed, ++stream);
}

// The Multi-LoRA delta of every module that task `task` runs through, by PEFT module name.
std::map<std::string, Delta> multilora_deltas(const MultiLora& lora, const std::string& task) {
  std::map<std::string, Delta> out;
  for (const LoraSet* set : {&lora.shared, &lora.tasks.at(task)})
    for (size_t l = 0; l < set->layers.size(); ++l)
      for (int t = 0; t < kLoraTargets; ++t)
        if (const auto& a = set->layers[l][t]) delta_add(out[lora_module_path(int(l), LoraTarget(t))], a->A, a->B, a->scale);
  return out;
}

struct Case {
  LlamaConfig cfg;
  LoraSpec shared, task;
};

class PeftExport : public ::testing::TestWithParam<int> {};

TEST_P(PeftExport, DeltasNamesShapesAndConfig) {
  // Odd sizes; the shared and task sets overlap on q (and on down in the second case).
  const Case cases[] = {
      {{13, 12, 2, 3, 1, 4, 7}, {{LoraTarget::q, LoraTarget::k, LoraTarget::v, LoraTarget::o}, 3, 5.0f, 0.1f},
       {{LoraTarget::q}, 2, 7.0f, 0.05f}},
      {{11, 10, 3, 5, 5, 2, 9}, {{LoraTarget::k, LoraTarget::down}, 1, 3.0f, 0.0f},
       {{LoraTarget::q, LoraTarget::up, LoraTarget::down}, 4, 2.5f, 0.2f}},
  };
  const Case& c = cases[GetParam()];
  MultiLora lora = multilora_create(c.cfg, c.shared, c.task, {"ctr", "seq"}, 17 + GetParam());
  randomize_b(lora.shared, 3);
  for (auto& [name, set] : lora.tasks) randomize_b(set, 5 + name.size());
  Mapper mapper = mapper_create({5, c.cfg.d_model, 6, 7, MappingKind::metanet, 9});
  const ParamRefs mparams = mapper_params(mapper);
  const std::filesystem::path dir = testing::TempDir() + "peft_export_" + std::to_string(GetParam());
  peft_export(dir, {&lora, "seq", "some/base", &mapper, mparams});

  const std::map<std::string, Delta> want = multilora_deltas(lora, "seq");
  const SafetensorsFile st((dir / "adapter_model.safetensors").string());
  const Json config = json_parse_file(dir / "adapter_config.json");
  EXPECT_EQ(config.at("peft_type").as_string(), "LORA");
  EXPECT_EQ(config.at("task_type").as_string(), "CAUSAL_LM");
  EXPECT_EQ(config.at("base_model_name_or_path").as_string(), "some/base");
  EXPECT_EQ(config.at("bias").as_string(), "none");
  EXPECT_FALSE(config.at("fan_in_fan_out").as_bool());
  EXPECT_EQ(st.tensors().size(), 2 * want.size());
  for (const auto& [module, delta] : want) {
    SCOPED_TRACE(module);
    const std::string base = "base_model.model." + module;
    const Tensor A = st.load(base + ".lora_A.weight"), B = st.load(base + ".lora_B.weight");
    const std::string key = module.substr(6);  // rank_pattern keys drop the leading "model."
    const int64_t r = config.at("rank_pattern").at(key).as_int64();
    const double alpha = config.at("alpha_pattern").at(key).as_number();
    ASSERT_EQ(A.shape().size(), 2u);
    ASSERT_EQ(B.shape().size(), 2u);
    EXPECT_EQ(A.shape()[0], r);
    EXPECT_EQ(B.shape()[1], r);
    EXPECT_EQ(A.shape()[1] * B.shape()[0], int64_t(delta.size()));
    Delta got;
    delta_add(got, A, B, alpha / double(r));
    ASSERT_EQ(got.size(), delta.size());
    double max_err = 0.0, max_ref = 0.0;
    for (size_t i = 0; i < got.size(); ++i) {
      max_err = std::max(max_err, std::abs(got[i] - delta[i]));
      max_ref = std::max(max_ref, std::abs(delta[i]));
    }
    EXPECT_GT(max_ref, 1e-3);
    // Folding the scale into B rounds once in f32: relative error below 1e-6 of the delta's size.
    EXPECT_LT(max_err, 1e-6 * max_ref) << "max |delta| " << max_ref;
  }

  const SafetensorsFile ms((dir / "mapper.safetensors").string());
  EXPECT_NE(ms.metadata().at("ckf_mapper").find("\"d_cf\":5"), std::string::npos) << ms.metadata().at("ckf_mapper");
  ASSERT_EQ(ms.tensors().size(), mparams.size());
  for (const Param* p : mparams) {
    const Tensor t = ms.load(p->name);
    ASSERT_EQ(t.shape(), p->value.shape()) << p->name;
    for (int64_t i = 0; i < t.numel(); ++i) ASSERT_EQ(t.data<float>()[i], p->value.data<float>()[i]) << p->name;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, PeftExport, ::testing::Values(0, 1));

TEST(PeftExportErrors, UnknownTaskIsNamed) {
  MultiLora lora = multilora_create({13, 12, 2, 3, 1, 4, 7}, lora_spec_shared_default(), lora_spec_task_default(),
                                    {"ctr"}, 1);
  try {
    peft_export(testing::TempDir() + "peft_bad", {&lora, "rating", "", nullptr, {}});
    ADD_FAILURE() << "exported an unknown task";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rating"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(testing::TempDir() + "peft_bad"));
}

}  // namespace
}  // namespace ckf
