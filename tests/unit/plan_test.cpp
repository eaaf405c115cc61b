// core/plan: every memory and time term against values worked out by hand for a tiny model,
// parameter counts against the published sizes of SmolLM2-135M and LLaMA-7B, and the TP filter.
#include "core/plan.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "core/check.h"

namespace ckf {
namespace {

// 2 layers, d 8, 4 heads (head dim 2), 2 KV heads (kv dim 4), ffn 12, vocab 20, untied head.
PlanModel tiny_model() { return {"tiny", 2, 8, 4, 2, 12, 20, false}; }

TEST(Plan, ParamCountMatchesPublishedModelSizes) {
  // Hugging Face num_parameters(): SmolLM2-135M 134,515,008; LLaMA-7B 6,738,415,616.
  PlanParamCount smol = plan_param_count(plan_model_preset("embedded"));
  EXPECT_EQ(smol.sharded + smol.replicated, 134515008);
  PlanParamCount llama = plan_param_count(plan_model_preset("llama-7b"));
  EXPECT_EQ(llama.sharded + llama.replicated, 6738415616);
}

TEST(Plan, TinyModelParamCountsByHand) {
  PlanParamCount c = plan_param_count(tiny_model());
  // per layer: q 8*8 + k 8*4 + v 8*4 + o 8*8 + gate 8*12 + up 8*12 + down 12*8 = 480
  EXPECT_EQ(c.matmul, 2 * 480);
  EXPECT_EQ(c.sharded, 960 + 2 * 20 * 8);    // + embedding and LM head
  EXPECT_EQ(c.replicated, 2 * 2 * 8 + 8);     // two norms per layer + final norm
  // LoRA r 2 under tp 2: k, v column-parallel r*(in + out/2) = 2*(8+2) = 20 each;
  // o row-parallel r*(in/2 + out) = 2*(4+8) = 24; q column-parallel 2*(8+4) = 24.
  EXPECT_EQ(plan_lora_params_per_gpu(tiny_model(), 2, {"k", "v", "o"}, 2), 2 * (20 + 20 + 24));
  EXPECT_EQ(plan_lora_params_per_gpu(tiny_model(), 2, {"q"}, 2), 2 * 24);
  EXPECT_EQ(plan_lora_params_per_gpu(tiny_model(), 2, {"down"}, 1), 2 * 2 * (12 + 8));
  // mapper, d_cf 2, meta hidden 3, proj hidden 4, d_model 8: MLPs with biases
  //   meta 2->3->4: 2*3+3 + 3*4+4 = 25; user and item 2->4->8: 2*4+4 + 4*8+8 = 52 each
  EXPECT_EQ(plan_mapper_params({2, 3, 4}, 8), 25 + 52 + 52);
}

TEST(Plan, EstimateTermsMatchHandComputation) {
  PlanModel m = tiny_model();
  PlanLora lora{2, {"k", "v", "o"}, {"q"}, 3};
  PlanMapper mp{2, 3, 4};
  PlanHardware hw;
  hw.gpus_per_node = 2;        // tp 2 x dp 2 spans two nodes: DP over IB
  hw.gpu_tflops = 1e-9;        // 1000 FLOP/s
  hw.efficiency = 0.5;         // -> 500 FLOP/s
  hw.nvlink_gbps = 1e-6;       // 1000 bytes/s
  hw.ib_gbps = 8e-6;           // 1000 bytes/s
  hw.nvlink_latency_us = 10;
  hw.ib_latency_us = 20;
  hw.gpu_mem_gb = 1e-5;        // 10,000 bytes, 9,000 usable with 10% headroom
  PlanWorkload w{3, 2, false};  // T = 6 tokens per replica
  PlanEstimate e = plan_estimate(m, lora, mp, hw, w, {2, 2});

  EXPECT_DOUBLE_EQ(e.memory.weights, 2.0 * (1280 / 2 + 40));
  // per layer and token: 4 d + (2 d + 2 kv + 3 ffn)/tp + r * 4 targets = 32 + 60/2 + 8 = 70 elements;
  // tokens * (L * (2 bytes * 70 + 8) + 2 bytes * 2 d) = 6 * (2 * 148 + 32)
  EXPECT_DOUBLE_EQ(e.memory.activations, 6.0 * (2 * 148 + 32));
  // 3 tasks over dp 2: 2 task sets per replica; 16 bytes per trainable parameter
  EXPECT_DOUBLE_EQ(e.memory.adapters, 16.0 * (128 + 2 * 48));
  EXPECT_DOUBLE_EQ(e.memory.mapper, 16.0 * 129);
  EXPECT_TRUE(e.fits);  // 1360 + 1968 + 3584 + 2064 = 8976 <= 9000

  // 4 N T / tp + 12 T s d L / tp + 6 T (shared + one task set)
  const double flops = 4.0 * 960 / 2 * 6 + 12.0 * 6 * 3 * 8 * 2 / 2 + 6.0 * 6 * (128 + 48);
  EXPECT_DOUBLE_EQ(e.flops_per_gpu, flops);
  EXPECT_NEAR(e.time.compute, flops / 500.0, 1e-12);
  // TP: 4 L + 1 = 9 all-reduces of 6 * 8 bf16 over 2 ranks (1e-5 s + (2*1/2) * 96 B / 1000 B/s),
  // plus the o adapter's r-wide all-reduce per layer (1e-5 + 24 / 1000).
  EXPECT_NEAR(e.time.tp_comm, 9 * (1e-5 + 0.096) + 2 * (1e-5 + 0.024), 1e-12);
  // DP over IB: shared adapters + mapper in fp32 over 2 replicas; task groups of max(1, 2/3) = 1 replica
  EXPECT_NEAR(e.time.dp_comm, 2e-5 + 4.0 * (128 + 129) / 1000, 1e-12);
  EXPECT_NEAR(e.tokens_per_s, 2 * 6 / (flops / 500.0 + e.time.tp_comm + e.time.dp_comm), 1e-9);

  hw.gpu_mem_gb = 8.9e-6;  // 8,010 usable bytes < 8,976
  EXPECT_FALSE(plan_estimate(m, lora, mp, hw, w, {2, 2}).fits);
}

TEST(Plan, DpInsideOneNodeUsesNvlink) {
  PlanHardware hw;
  hw.gpus_per_node = 8;
  hw.nvlink_gbps = 1e-6;  // 1000 bytes/s
  hw.ib_gbps = 1;         // would be far faster: the test fails if IB is chosen
  PlanLora lora{2, {"k"}, {"q"}, 1};
  PlanEstimate e = plan_estimate(tiny_model(), lora, {2, 3, 4}, hw, {3, 2, false}, {1, 4});
  // shared k (2 * 2 * (8 + 4) = 48) + mapper 129, fp32, ring over 4: 1e-5 + 2 * 3/4 * bytes / 1000;
  // the task q adapter (2 * 2 * 16 = 64) over all 4 replicas of the single task, also NVLink.
  EXPECT_NEAR(e.time.dp_comm, 1e-5 + 1.5 * 4 * (48 + 129) / 1000 + 1e-5 + 1.5 * 4 * 64 / 1000, 1e-12);
  EXPECT_EQ(e.time.tp_comm, 0);
}

TEST(Plan, ValidTpDividesHeadsKvFfnVocabWorldAndStaysInNode) {
  PlanModel m = tiny_model();  // heads 4, kv 2, ffn 12, vocab 20
  EXPECT_EQ(plan_valid_tp(m, 8, 4), (std::vector<int>{1, 2}));   // 4 fails kv heads
  EXPECT_EQ(plan_valid_tp(m, 8, 6), (std::vector<int>{1, 2}));   // 3 fails heads, 6 too
  EXPECT_EQ(plan_valid_tp(m, 1, 4), (std::vector<int>{1}));      // one GPU per node
  m.vocab = 21;
  EXPECT_EQ(plan_valid_tp(m, 8, 4), (std::vector<int>{1}));      // vocab odd
  m.vocab = 20;
  m.d_ffn = 13;
  EXPECT_EQ(plan_valid_tp(m, 8, 4), (std::vector<int>{1}));
  // SmolLM2: 9 heads, 3 KV heads -> TP 3 only where the GPU count allows it
  PlanModel smol = plan_model_preset("embedded");
  EXPECT_EQ(plan_valid_tp(smol, 8, 8), (std::vector<int>{1}));
  EXPECT_EQ(plan_valid_tp(smol, 8, 24), (std::vector<int>{1, 3}));
  EXPECT_EQ(plan_valid_tp(plan_model_preset("llama-7b"), 8, 64), (std::vector<int>{1, 2, 4, 8}));
}

TEST(Plan, LayoutsPutFittingFastestFirst) {
  PlanModel m = plan_model_preset("llama-7b");
  PlanHardware hw;
  hw.gpu_mem_gb = 20;  // only tp >= 2 fit (tp 1 needs ~31 GB)
  std::vector<PlanEstimate> est = plan_layouts(m, {}, {}, hw, {}, 8);
  ASSERT_EQ(est.size(), 4u);
  EXPECT_TRUE(est[0].fits);
  EXPECT_EQ(est[0].layout.tp, 2);
  EXPECT_EQ(est[0].layout.dp, 4);
  EXPECT_FALSE(est.back().fits);
  EXPECT_EQ(est.back().layout.tp, 1);
  for (size_t i = 1; i + 1 < est.size(); ++i) EXPECT_GE(est[i - 1].tokens_per_s, est[i].tokens_per_s);
}

TEST(Plan, BadInputNamesTheProblem) {
  auto message = [](auto fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] { plan_model_preset("llama-70x"); }).find("llama-70x"), std::string::npos);
  EXPECT_NE(message([] { plan_proj_shape(tiny_model(), "qq"); }).find("'qq'"), std::string::npos);
  EXPECT_NE(message([] { plan_model_from_file("/nonexistent/sizes.ini"); }).find("/nonexistent/sizes.ini"),
            std::string::npos);
  const std::string path = testing::TempDir() + "plan_sizes.ini";
  std::ofstream(path) << "[model]\nn_layer = 2\nd_model = 8\nn_head = 4\nn_kv_head = 2\nd_ffn = 12\n";
  EXPECT_NE(message([&] { plan_model_from_file(path); }).find("missing 'vocab'"), std::string::npos);
  std::ofstream(path, std::ios::app) << "vocab = 2x0\n";
  EXPECT_NE(message([&] { plan_model_from_file(path); }).find("'vocab' = '2x0'"), std::string::npos);
  std::ofstream(path) << "n_layer=2\nd_model=8\nn_head=4\nn_kv_head=2\nd_ffn=12\nvocab=20 # comment\n";
  PlanModel m = plan_model_from_file(path);
  EXPECT_EQ(m.vocab, 20);
  EXPECT_EQ(m.n_kv_head, 2);
  EXPECT_FALSE(m.tied_embeddings);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ckf
