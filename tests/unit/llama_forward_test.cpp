// Forward of the LLaMA + Multi-LoRA model against the double-precision reference in
// llama_reference.h, and the input checks of the model, its weights map and its batches.
#include <gtest/gtest.h>

#include <functional>

#include "core/check.h"
#include "core/llama_model.h"
#include "llama_reference.h"

namespace ckf::test {
namespace {

// Largest |a - b| over the logits, relative to the largest |reference logit|.
double logits_rel_error(const Tensor& logits, const RefResult& ref) {
  double err = 0.0, scale = 0.0;
  const int V = int(logits.dim(1));
  for (size_t m = 0; m < ref.logits.size(); ++m)
    for (int v = 0; v < V; ++v) {
      err = std::max(err, std::abs(logits.data<const float>()[m * V + v] - ref.logits[m][v]));
      scale = std::max(scale, std::abs(ref.logits[m][v]));
    }
  return err / scale;
}

class LlamaForward : public ::testing::TestWithParam<LlamaConfig> {};

TEST_P(LlamaForward, LogitsAndLossMatchDoubleReference) {
  const LlamaConfig cfg = GetParam();
  const std::vector<std::string> tasks = {"ctr", "seq", "ctr"};
  LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 11);
  LlamaBatch batch = tiny_batch(cfg, tasks, 5);
  LlamaActs acts;
  const float loss = llama_forward(model, batch, acts, {});
  RefResult ref = ref_forward(ref_from_model(model), batch, to_vec(batch.soft_vectors));
  ASSERT_EQ(acts.logits.dim(0), int64_t(batch.outputs.size()));
  // fp32 against double over a few layers: 1e-5 relative to the logit scale.
  EXPECT_LE(logits_rel_error(acts.logits, ref), 1e-5);
  EXPECT_NEAR(loss, ref.loss, 1e-5 * std::abs(ref.loss));
  EXPECT_EQ(acts.losses.data<const float>()[3], 0.0f) << "ignored target has no loss";
}

INSTANTIATE_TEST_SUITE_P(Shapes, LlamaForward, ::testing::Values(tiny_config(), odd_config()));

TEST(LlamaForward, DefaultSpecsPlaceSharedOnKvoAndTaskOnQ) {
  const LlamaConfig cfg = tiny_config();
  MultiLora lora = multilora_create(cfg, lora_spec_shared_default(), lora_spec_task_default(), {"ctr"}, 3);
  EXPECT_EQ(lora.shared_spec.r, 16);
  EXPECT_EQ(lora.shared_spec.alpha, 64.0f);
  EXPECT_FLOAT_EQ(lora.shared_spec.dropout, 0.1f);
  std::vector<std::string> names;
  for (const LoraParam& p : multilora_params(lora))
    if (p.name.find("layers.0.") != std::string::npos) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"shared.model.layers.0.self_attn.k_proj.lora_A.weight",
                                             "shared.model.layers.0.self_attn.k_proj.lora_B.weight",
                                             "shared.model.layers.0.self_attn.v_proj.lora_A.weight",
                                             "shared.model.layers.0.self_attn.v_proj.lora_B.weight",
                                             "shared.model.layers.0.self_attn.o_proj.lora_A.weight",
                                             "shared.model.layers.0.self_attn.o_proj.lora_B.weight",
                                             "task.ctr.model.layers.0.self_attn.q_proj.lora_A.weight",
                                             "task.ctr.model.layers.0.self_attn.q_proj.lora_B.weight"}));
  // PEFT init: A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_, a = sqrt(5)), B = 0, scale alpha / r.
  const LoraAdapter& q = *lora.tasks.at("ctr").layers[1][int(LoraTarget::q)];
  EXPECT_EQ(q.A.shape(), Shape({16, 24}));
  EXPECT_EQ(q.B.shape(), Shape({24, 16}));
  EXPECT_FLOAT_EQ(q.scale, 4.0f);
  const float bound = 1.0f / std::sqrt(24.0f);
  float amax = 0.0f;
  for (int64_t i = 0; i < q.A.numel(); ++i) amax = std::max(amax, std::abs(q.A.data<const float>()[i]));
  EXPECT_LE(amax, bound);
  EXPECT_GT(amax, 0.8f * bound);
  for (int64_t i = 0; i < q.B.numel(); ++i) ASSERT_EQ(q.B.data<const float>()[i], 0.0f);
}

TEST(LlamaForward, DropoutOnlyInTrainingAndSeeded) {
  const LlamaConfig cfg = tiny_config();
  LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 11);
  LlamaBatch batch = tiny_batch(cfg, {"ctr", "seq", "ctr"}, 5);
  LlamaActs acts;
  const float eval_plain = llama_forward(model, batch, acts, {});
  model.lora.shared_spec.dropout = 0.5f;
  model.lora.task_spec.dropout = 0.5f;
  EXPECT_EQ(llama_forward(model, batch, acts, {false, 1}), eval_plain) << "dropout must be off in evaluation";
  const float a1 = llama_forward(model, batch, acts, {true, 1});
  const float a2 = llama_forward(model, batch, acts, {true, 1});
  const float b1 = llama_forward(model, batch, acts, {true, 2});
  EXPECT_EQ(a1, a2);
  EXPECT_NE(a1, b1);
  EXPECT_NE(a1, eval_plain);
  // Kept inputs are scaled by 1/(1-p); about half are dropped.
  const Tensor& mask = acts.layers[0].lora_shared[int(LoraTarget::k)].mask;
  int64_t zeros = 0;
  for (int64_t i = 0; i < mask.numel(); ++i) {
    float v = mask.data<const float>()[i];
    ASSERT_TRUE(v == 0.0f || v == 2.0f) << v;
    zeros += v == 0.0f;
  }
  EXPECT_NEAR(double(zeros) / mask.numel(), 0.5, 0.08);
}

std::map<std::string, Tensor> weights_as_map(const LlamaWeights& w, bool with_lm_head) {
  std::map<std::string, Tensor> m{{"model.embed_tokens.weight", w.embedding}, {"model.norm.weight", w.norm}};
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const LlamaLayerWeights& lw = w.layers[l];
    m[p + "input_layernorm.weight"] = lw.attn_norm;
    m[p + "self_attn.q_proj.weight"] = lw.wq;
    m[p + "self_attn.k_proj.weight"] = lw.wk;
    m[p + "self_attn.v_proj.weight"] = lw.wv;
    m[p + "self_attn.o_proj.weight"] = lw.wo;
    m[p + "post_attention_layernorm.weight"] = lw.mlp_norm;
    m[p + "mlp.gate_proj.weight"] = lw.w_gate;
    m[p + "mlp.up_proj.weight"] = lw.w_up;
    m[p + "mlp.down_proj.weight"] = lw.w_down;
  }
  if (with_lm_head) m["lm_head.weight"] = w.lm_head;
  return m;
}

void expect_error(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no error, expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(LoraSpecParse, TargetsAndErrors) {
  EXPECT_EQ(lora_target_parse("q"), LoraTarget::q);
  EXPECT_EQ(lora_target_parse("down_proj"), LoraTarget::down);
  expect_error([] { lora_target_parse("qkv"); }, "unknown LoRA target 'qkv'");
  LoraSpec twice{{LoraTarget::k, LoraTarget::k}, 4, 8.0f, 0.0f};
  expect_error([&] { lora_spec_validate(twice, "shared"); }, "shared LoRA: target k_proj listed twice");
  LoraSpec bad_p{{LoraTarget::k}, 4, 8.0f, 1.0f};
  expect_error([&] { lora_spec_validate(bad_p, "task"); }, "task LoRA: dropout must be in [0, 1)");
  LoraSpec bad_r{{LoraTarget::k}, 0, 8.0f, 0.0f};
  expect_error([&] { multilora_create(tiny_config(), bad_r, test_task_spec(), {"a"}, 1); }, "rank r must be positive");
  expect_error(
      [&] {
        multilora_create(tiny_config(), test_shared_spec(), test_task_spec(), {"a", "a"}, 1);
      },
      "task 'a' listed twice");
}

TEST(LlamaWeightsFromMap, AcceptsHfNamesAndConvertsBf16) {
  const LlamaConfig cfg = tiny_config();
  LlamaWeights w = llama_weights_random(cfg, 4);
  auto m = weights_as_map(w, true);
  m["model.layers.1.mlp.up_proj.weight"] = w.layers[1].w_up.to(DType::bf16);
  m["model.layers.0.self_attn.rotary_emb.inv_freq"] = Tensor::zeros({3});
  LlamaWeights got = llama_weights_from_map(cfg, m);
  EXPECT_EQ(got.layers[1].w_up.dtype(), DType::f32);
  EXPECT_EQ(got.layers[0].wk.data<const float>(), w.layers[0].wk.data<const float>());
  EXPECT_EQ(got.lm_head.data<const float>(), w.lm_head.data<const float>());
}

TEST(LlamaWeightsFromMap, TiedUsesEmbedding) {
  const LlamaConfig cfg = odd_config();
  LlamaWeights w = llama_weights_random(cfg, 4);
  LlamaWeights got = llama_weights_from_map(cfg, weights_as_map(w, false));
  EXPECT_EQ(got.lm_head.data<const float>(), got.embedding.data<const float>());
}

TEST(LlamaWeightsFromMap, ClearErrors) {
  const LlamaConfig cfg = tiny_config();
  LlamaWeights w = llama_weights_random(cfg, 4);
  auto missing = weights_as_map(w, true);
  missing.erase("model.layers.1.self_attn.v_proj.weight");
  expect_error([&] { llama_weights_from_map(cfg, missing); },
               "missing tensor 'model.layers.1.self_attn.v_proj.weight'");
  auto no_head = weights_as_map(w, false);
  expect_error([&] { llama_weights_from_map(cfg, no_head); }, "'lm_head.weight'");
  auto bad_shape = weights_as_map(w, true);
  bad_shape["model.layers.0.mlp.down_proj.weight"] = w.layers[0].w_up;
  expect_error([&] { llama_weights_from_map(cfg, bad_shape); },
               "'model.layers.0.mlp.down_proj.weight' has shape [40, 24]");
  auto extra = weights_as_map(w, true);
  extra["model.layers.2.mlp.up_proj.weight"] = w.layers[0].w_up;
  expect_error([&] { llama_weights_from_map(cfg, extra); }, "unexpected tensor 'model.layers.2.mlp.up_proj.weight'");
  auto nan = weights_as_map(w, true);
  Tensor bad = w.norm.clone();
  bad.data<float>()[3] = std::nanf("");
  nan["model.norm.weight"] = bad;
  expect_error([&] { llama_weights_from_map(cfg, nan); }, "'model.norm.weight' has a non-finite value at 3");
  auto ints = weights_as_map(w, true);
  ints["model.norm.weight"] = Tensor::zeros({24}, DType::i32);
  expect_error([&] { llama_weights_from_map(cfg, ints); }, "dtype i32");
}

TEST(LlamaBatchValidate, ClearErrors) {
  const LlamaConfig cfg = tiny_config();
  LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 11);
  const LlamaBatch good = tiny_batch(cfg, {"ctr", "seq", "ctr"}, 5);
  LlamaActs acts;
  auto run = [&](LlamaBatch b) { llama_forward(model, b, acts, {}); };
  LlamaBatch b = good;
  b.tokens[8] = 37;
  expect_error([&] { run(b); }, "token id 37 at sequence 1 position 1");
  b = good;
  b.lengths[2] = 8;
  expect_error([&] { run(b); }, "lengths[2] = 8");
  b = good;
  b.outputs[2].pos = 4;  // sequence 1 has 4 real tokens
  expect_error([&] { run(b); }, "outputs[2] = (sequence 1, position 4)");
  b = good;
  b.outputs[0].target = 40;
  expect_error([&] { run(b); }, "outputs[0].target = 40");
  b = good;
  b.soft[1] = {0, 2};
  expect_error([&] { run(b); }, "soft[1] repeats position");
  b = good;
  b.soft_vectors = Tensor::zeros({3, 23});
  expect_error([&] { run(b); }, "soft_vectors is f32[3, 23]");
  b = good;
  b.tasks[1] = "rating";
  expect_error([&] { run(b); }, "no adapters for task 'rating' in this instance (holds: ctr, seq)");
}

}  // namespace
}  // namespace ckf::test
