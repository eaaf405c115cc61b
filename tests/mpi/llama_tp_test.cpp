// The tensor-parallel decoder on 1, 2 and 4 ranks against the whole model on one rank (fp32,
// relative error <= 1e-5), for every tp size that divides the world:
//  - forward loss and (gathered) logits, the soft tokens' input gradient and every LoRA gradient,
//    with adapters on all seven projections (shared and task, column and row split) and dropout on;
//    each rank's initial A is the reference's slice without any copying;
//  - tp x dp: each replica runs its share of the batch, gradients are synchronised (GradSync) and
//    one clipped AdamW step applied: every rank's slice of every synchronised gradient and updated
//    adapter, the gradient norm and the clip factor equal the single-rank step on the whole batch.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/llama_model.h"
#include "core/optimizer.h"
#include "core/rng.h"
#include "core/train/train_params.h"
#include "dist/grad_sync.h"
#include "dist/mpi_communicator.h"
#include "dist/process_grid.h"
#include "dist/tp_communicator.h"
#include "mpi_test_util.h"

using namespace ckf;
using namespace ckf::mpitest;

namespace {

const std::vector<std::string> kTasks = {"ctr", "rating"};
constexpr int kSeqs = 4;  // sequences in the whole batch; dp (1, 2 or 4) divides it

LlamaConfig tiny_config() {
  return LlamaConfig{.vocab = 96, .d_model = 32, .n_layers = 2, .n_heads = 8, .n_kv_heads = 4, .head_dim = 8,
                      .ffn = 48, .tie_embeddings = true, .max_seq = 64};
}

TpSplitDims split_dims(const LlamaConfig& c) { return {c.n_heads, c.n_kv_heads, c.vocab, c.ffn}; }

bool is_lora_b(const std::string& name) { return name.size() > 13 && name.ends_with("lora_B.weight"); }

// Adapters on every projection: shared on k, v, o, gate, down; task on q, o, up. B is random
// (PEFT starts it at zero, which would leave every dA zero and the check blind).
LlamaModel reference_model(float dropout) {
  using T = LoraTarget;
  LlamaModel m;
  m.config = tiny_config();
  m.weights = llama_weights_random(m.config, 11);
  m.lora = multilora_create(m.config, {{T::k, T::v, T::o, T::gate, T::down}, 4, 8.0f, dropout},
                            {{T::q, T::o, T::up}, 4, 16.0f, dropout}, kTasks, 11);
  for (LoraParam& p : multilora_params(m.lora))
    if (is_lora_b(p.name))
      rng_fill_uniform(p.param.data<float>(), p.param.numel(), -0.5f, 0.5f, 12, rng_hash_string(p.name.c_str()));
  return m;
}

// The block [offset, offset + local[split_dim]) of a 2-D tensor along split_dim (-1: all of it).
std::vector<double> slice_of(const Tensor& full, int split_dim, int64_t offset, const Shape& local) {
  std::vector<double> out;
  const float* f = full.data<const float>();
  for (int64_t i = 0; i < local[0]; ++i)
    for (int64_t j = 0; j < local[1]; ++j) {
      const int64_t r = split_dim == 0 ? offset + i : i, c = split_dim == 1 ? offset + j : j;
      out.push_back(f[r * full.dim(1) + c]);
    }
  return out;
}

// This tp rank's slice of ref: sliced weights, adapters created for the rank (A from the seed
// alone), B copied from the reference's slice.
LlamaModel tp_model(LlamaModel& ref, const LlamaTp& tp) {
  LlamaModel m;
  m.config = ref.config;
  m.tp = tp;
  m.weights = llama_weights_shard(ref.config, ref.weights, tp.rank, tp.size);
  m.lora = multilora_create(ref.config, ref.lora.shared_spec, ref.lora.task_spec, kTasks, 11, tp.rank, tp.size);
  std::vector<LoraParam> mine = multilora_params(m.lora), theirs = multilora_params(ref.lora);
  for (size_t i = 0; i < mine.size(); ++i) {
    if (!is_lora_b(mine[i].name)) continue;
    const auto b = slice_of(theirs[i].param, mine[i].split_dim, mine[i].split_offset, mine[i].param.shape());
    for (size_t k = 0; k < b.size(); ++k) mine[i].param.data<float>()[k] = float(b[k]);
  }
  return m;
}

// Sequences [first, first + count) of a fixed batch: two tasks, padding, soft tokens, and exactly
// two target rows per sequence (so the mean loss of equal parts averages to the whole's).
LlamaBatch batch_part(const LlamaConfig& c, int first, int count) {
  const int T = 9;
  const int lengths[kSeqs] = {9, 7, 9, 6};
  LlamaBatch b;
  b.B = count;
  b.T = T;
  b.tokens.assign(size_t(count) * T, 0);
  std::vector<float> soft;
  for (int s = 0; s < count; ++s) {
    const int g = first + s;  // the sequence's index in the whole batch
    b.lengths.push_back(lengths[g]);
    b.tasks.push_back(kTasks[g / 2]);
    for (int t = 0; t < lengths[g]; ++t)
      b.tokens[size_t(s) * T + t] = int32_t(rng_uniform(5, uint64_t(g), uint64_t(t)) * float(c.vocab)) % c.vocab;
    b.soft.push_back({s, 2});
    for (int k = 0; k < c.d_model; ++k) soft.push_back(rng_uniform(6, uint64_t(g), uint64_t(k)) - 0.5f);
    for (int pos : {lengths[g] - 3, lengths[g] - 2}) b.outputs.push_back({s, pos, b.tokens[size_t(s) * T + pos + 1]});
    b.outputs.push_back({s, lengths[g] - 1, kIgnoreTarget});
  }
  b.soft_vectors = Tensor::empty({int64_t(b.soft.size()), c.d_model});
  std::copy(soft.begin(), soft.end(), b.soft_vectors.data<float>());
  return b;
}

std::vector<double> doubles(const Tensor& t) { return {t.data<const float>(), t.data<const float>() + t.numel()}; }

TEST(LlamaTensorParallel, ForwardAndGradientsMatchSingleRank) {
  auto world = MpiCommunicator::world();
  const int W = world->size();
  LlamaModel ref = reference_model(0.1f);
  const LlamaBatch batch = batch_part(ref.config, 0, kSeqs);
  const LlamaRunMode mode{true, 1234};
  LlamaActs ref_acts;
  const float ref_loss = llama_forward(ref, batch, ref_acts, mode);
  Tensor ref_dsoft;
  llama_backward(ref, batch, ref_acts, &ref_dsoft);
  const std::vector<LoraParam> ref_params = multilora_params(ref.lora);

  for (int tp = 1; tp <= W; ++tp) {
    if (W % tp) continue;
    SCOPED_TRACE("tp " + std::to_string(tp));
    auto group = world->split(world->rank() / tp, world->rank() % tp, "tp");
    CommunicatorTp comm(*group);
    LlamaModel m = tp_model(ref, comm.llama_tp());
    std::vector<LoraParam> params = multilora_params(m.lora);
    ASSERT_EQ(params.size(), ref_params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      ASSERT_EQ(params[i].name, ref_params[i].name);
      ASSERT_EQ(params[i].global_shape, ref_params[i].param.shape()) << params[i].name;
      if (is_lora_b(params[i].name)) continue;
      EXPECT_EQ(doubles(params[i].param),
                slice_of(ref_params[i].param, params[i].split_dim, params[i].split_offset, params[i].param.shape()))
          << params[i].name << ": the initial A slice differs from the reference's";
    }

    LlamaActs acts;
    const float loss = llama_forward(m, batch, acts, mode);
    EXPECT_NEAR(loss, ref_loss, 1e-5 * std::abs(ref_loss));
    Tensor logits = Tensor::empty(ref_acts.logits.shape());
    llama_logits_gather(m, acts, logits.data<float>());
    expect_close(logits, doubles(ref_acts.logits), "logits");

    Tensor dsoft;
    llama_backward(m, batch, acts, &dsoft);
    expect_close(dsoft, doubles(ref_dsoft), "soft-token gradient");
    for (size_t i = 0; i < params.size(); ++i) {
      Tensor g = params[i].grad.clone();
      if (params[i].tp_partial) comm.all_reduce_sum(g.data<float>(), g.numel());
      expect_close(g, slice_of(ref_params[i].grad, params[i].split_dim, params[i].split_offset, g.shape()),
                   params[i].name.c_str());
    }
  }
}

OptimizerConfig clipped_adamw() {
  OptimizerConfig oc;
  oc.schedule.peak_lr = 0.05f;
  oc.adamw.weight_decay = 0.1f;
  // A large eps makes the first Adam update smooth in the gradient (about lr g / (|g| + 1) rather
  // than lr sign(g)), so fp32 noise in a tiny gradient cannot flip an update.
  oc.adamw.eps = 1.0f;
  oc.max_grad_norm = 0.05f;  // below the gradient norm: the clip factor must agree everywhere
  return oc;
}

TEST(LlamaTensorParallel, DataAndTensorParallelStepEqualsWholeBatch) {
  auto world = MpiCommunicator::world();
  const int W = world->size();
  LlamaModel ref = reference_model(0.0f);  // dropout masks depend on the row within the call
  const LlamaBatch whole = batch_part(ref.config, 0, kSeqs);
  LlamaActs ref_acts;
  llama_forward(ref, whole, ref_acts, LlamaRunMode{true, 7});
  llama_backward(ref, whole, ref_acts, nullptr);
  auto self = world->split(world->rank(), 0, "self");
  ProcessGrid ref_grid(*self, 1, split_dims(ref.config), placement_parse("ctr:0;rating:0", 1));
  TrainParams ref_params;
  train_params_add_lora(ref_params, ref.lora, ref_grid);
  std::vector<std::vector<double>> ref_grads;  // (P) before the step zeroes them
  for (const Param* p : ref_params.params) ref_grads.push_back(doubles(p->grad));
  AdamW ref_opt(ref_params.params, clipped_adamw(), ref_params.count_in_norm);
  const StepResult ref_step = ref_opt.step([](double local) { return local; });
  ASSERT_TRUE(ref_step.applied);
  ASSERT_LT(ref_step.clip_scale, 1.0f);

  for (int tp = 1; tp <= W; ++tp) {
    if (W % tp) continue;
    const int dp = W / tp;
    SCOPED_TRACE("tp " + std::to_string(tp) + " dp " + std::to_string(dp));
    std::string everywhere;
    for (const std::string& task : kTasks) {
      everywhere += (everywhere.empty() ? "" : ";") + task + ":";
      for (int r = 0; r < dp; ++r) everywhere += (r ? "," : "") + std::to_string(r);
    }
    LlamaModel init = reference_model(0.0f);
    ProcessGrid grid(*world, tp, split_dims(init.config), placement_parse(everywhere, dp));
    CommunicatorTp comm(grid.tp());
    LlamaModel m = tp_model(init, comm.llama_tp());
    const LlamaBatch part = batch_part(m.config, grid.dp_rank() * (kSeqs / dp), kSeqs / dp);
    LlamaActs acts;
    llama_forward(m, part, acts, LlamaRunMode{true, 7});
    llama_backward(m, part, acts, nullptr);
    TrainParams params;
    train_params_add_lora(params, m.lora, grid);
    GradSync(grid, params.sync_items, 4096).sync();
    for (size_t i = 0; i < params.params.size(); ++i) {
      const Param& p = *params.params[i];
      Tensor whole = Tensor::empty(p.global_shape);
      std::copy(ref_grads[i].begin(), ref_grads[i].end(), whole.data<float>());
      expect_close(p.grad, slice_of(whole, p.split_dim, p.split_offset, p.grad.shape()), p.name.c_str());
    }
    AdamW opt(params.params, clipped_adamw(), params.count_in_norm);
    const StepResult step = opt.step([&](double local) {
      world->all_reduce(&local, 1, ElemType::f64, ReduceOp::sum);
      return local;
    });
    ASSERT_TRUE(step.applied);
    EXPECT_NEAR(step.grad_norm, ref_step.grad_norm, 1e-5 * ref_step.grad_norm);
    EXPECT_NEAR(step.clip_scale, ref_step.clip_scale, 1e-5 * ref_step.clip_scale);
    for (size_t i = 0; i < params.params.size(); ++i) {
      const Param& p = *params.params[i];
      ASSERT_EQ(p.name, ref_params.params[i]->name);
      expect_close(p.value, slice_of(ref_params.params[i]->value, p.split_dim, p.split_offset, p.value.shape()),
                   p.name.c_str());
    }
  }
}

}  // namespace
