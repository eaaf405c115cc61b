// Multi-LoRA routing: a sequence's logits depend on the shared adapters and its own task's
// adapters only; its gradients reach only those; a replica holding a subset of tasks agrees with
// one holding all of them.
#include <gtest/gtest.h>

#include "core/check.h"
#include "core/llama_model.h"
#include "llama_reference.h"

namespace ckf::test {
namespace {

// Logits rows of each sequence, copied out of a forward.
std::vector<std::vector<float>> rows_by_seq(const LlamaBatch& batch, const LlamaActs& acts) {
  std::vector<std::vector<float>> out(batch.B);
  const int64_t V = acts.logits.dim(1);
  for (size_t m = 0; m < batch.outputs.size(); ++m) {
    const float* row = acts.logits.data<const float>() + m * V;
    out[batch.outputs[m].seq].insert(out[batch.outputs[m].seq].end(), row, row + V);
  }
  return out;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float d = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

void perturb_set(LoraSet& set, uint64_t seed) {
  uint64_t stream = 100;
  for (auto& layer : set.layers)
    for (auto& a : layer)
      if (a) rng_fill_uniform(a->B.data<float>(), a->B.numel(), -0.4f, 0.4f, seed, ++stream);
}

class LlamaMultiLora : public ::testing::Test {
 protected:
  const LlamaConfig cfg = tiny_config();
  LlamaModel model = tiny_model(cfg, {"ctr", "rating", "seq"}, 31);
  // Sequences 0 and 2 are ctr, 1 is seq; "rating" is held but not in the batch.
  LlamaBatch batch = tiny_batch(cfg, {"ctr", "seq", "ctr"}, 3);
  LlamaActs acts;

  std::vector<std::vector<float>> run() {
    llama_forward(model, batch, acts, {});
    return rows_by_seq(batch, acts);
  }
};

TEST_F(LlamaMultiLora, OtherTasksAdaptersDoNotChangeASequence) {
  auto before = run();
  perturb_set(model.lora.tasks.at("seq"), 5);
  auto after = run();
  EXPECT_EQ(before[0], after[0]) << "a ctr sequence saw the seq adapters";
  EXPECT_EQ(before[2], after[2]) << "a ctr sequence saw the seq adapters";
  EXPECT_GT(max_abs_diff(before[1], after[1]), 1e-3f) << "the seq sequence ignored its own adapters";

  perturb_set(model.lora.tasks.at("ctr"), 6);
  auto after_ctr = run();
  EXPECT_EQ(after[1], after_ctr[1]) << "the seq sequence saw the ctr adapters";
  EXPECT_GT(max_abs_diff(after[0], after_ctr[0]), 1e-3f);
  EXPECT_GT(max_abs_diff(after[2], after_ctr[2]), 1e-3f);

  perturb_set(model.lora.tasks.at("rating"), 7);
  EXPECT_EQ(run(), after_ctr) << "an adapter of a task absent from the batch changed the output";

  perturb_set(model.lora.shared, 8);
  auto after_shared = run();
  for (int s = 0; s < batch.B; ++s)
    EXPECT_GT(max_abs_diff(after_ctr[s], after_shared[s]), 1e-3f) << "sequence " << s << " ignored the shared set";
}

TEST_F(LlamaMultiLora, GradientsReachOnlyTheBatchsTasks) {
  batch.tasks = {"ctr", "ctr", "ctr"};
  llama_forward(model, batch, acts, {});
  multilora_zero_grad(model.lora);
  llama_backward(model, batch, acts, nullptr);
  for (const LoraParam& p : multilora_params(model.lora)) {
    double norm = 0.0;
    for (int64_t i = 0; i < p.grad.numel(); ++i) norm += std::abs(p.grad.data<const float>()[i]);
    if (p.name.starts_with("task.ctr.") || p.name.starts_with("shared."))
      EXPECT_GT(norm, 0.0) << p.name;
    else
      EXPECT_EQ(norm, 0.0) << p.name;
  }
}

TEST_F(LlamaMultiLora, ReplicaWithASubsetOfTasksAgrees) {
  // A replica pinned to "seq" only: same seed, so the same shared and seq adapters at init.
  LlamaModel replica = model;
  replica.lora = multilora_create(cfg, test_shared_spec(), test_task_spec(), {"seq"}, 31 + 1);
  LlamaModel fresh = model;
  fresh.lora = multilora_create(cfg, test_shared_spec(), test_task_spec(), {"ctr", "rating", "seq"}, 31 + 1);
  const auto& ra = *replica.lora.tasks.at("seq").layers[1][int(LoraTarget::up)];
  const auto& fa = *fresh.lora.tasks.at("seq").layers[1][int(LoraTarget::up)];
  for (int64_t i = 0; i < ra.A.numel(); ++i) ASSERT_EQ(ra.A.data<const float>()[i], fa.A.data<const float>()[i]);
  EXPECT_NE(ra.A.data<const float>()[0],
            fresh.lora.tasks.at("ctr").layers[1][int(LoraTarget::up)]->A.data<const float>()[0])
      << "different tasks must start from different A";

  // With the full model's adapters copied in, a seq-only batch gives the same logits.
  replica.lora.shared = model.lora.shared;
  replica.lora.tasks.at("seq") = model.lora.tasks.at("seq");
  batch.tasks = {"seq", "seq", "seq"};
  auto full = run();
  LlamaActs replica_acts;
  llama_forward(replica, batch, replica_acts, {});
  EXPECT_EQ(full, rows_by_seq(batch, replica_acts));

  batch.tasks = {"seq", "ctr", "seq"};
  EXPECT_THROW(llama_forward(replica, batch, replica_acts, {}), Error);
}

TEST(LlamaMultiLoraSegments, ConsecutiveSequencesOfOneTaskShareASegment) {
  MultiLora lora = multilora_create(tiny_config(), test_shared_spec(), test_task_spec(), {"a", "b"}, 1);
  auto segs = multilora_segments(lora, {"a", "a", "b", "a"}, 5);
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[0].begin, 0);
  EXPECT_EQ(segs[0].end, 10);
  EXPECT_EQ(segs[1].task, "b");
  EXPECT_EQ(segs[1].begin, 10);
  EXPECT_EQ(segs[2].begin, 15);
  EXPECT_EQ(segs[2].end, 20);
  EXPECT_EQ(segs[2].task, "a");
}

}  // namespace
}  // namespace ckf::test
