// Composed tensor-parallel check at TP = world size (1, 2, 4): vocab-parallel embedding with soft
// tokens replacing two positions, two residual "attention-free" MLP blocks (column gate/up ->
// SwiGLU -> row down, LoRA on gate and on down), then the vocab-parallel LM head and parallel
// cross-entropy at the answer rows only. Loss, soft-token gradients and every LoRA gradient equal
// an unsplit double-precision computation (1e-5 relative).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "dist/grad_sync.h"
#include "dist/mpi_communicator.h"
#include "dist/process_grid.h"
#include "dist/tensor_parallel.h"
#include "dist/vocab_parallel.h"
#include "kernels/cpu/swiglu.h"
#include "tp_reference.h"

using namespace ckf;
using namespace ckf::tpref;

namespace {

constexpr int64_t V = 16, D = 8, F = 12, N = 7, R = 3, L = 2;
const std::vector<int64_t> kSoft = {1, 4};       // positions the soft tokens replace
// Rows the loss reads; without attention a row only sees its own token, so the soft tokens must
// be among them for their gradients to be non-zero.
const std::vector<int64_t> kAnswer = {1, 4, 6};
constexpr int64_t M = 3;

struct LayerData {
  std::vector<float> Wg, Wu, Wd, Ag, Bg, Ad, Bd;  // (F,D) (F,D) (D,F) (R,D) (F,R) (R,F) (D,R)
};

double silu(double z) { return z / (1.0 + std::exp(-z)); }

struct RefResult {
  double loss = 0;
  std::vector<double> dsoft;                       // (2, D)
  std::vector<std::vector<RefLora>> lora;          // per layer {gate, down}, with dA, dB
};

RefResult reference(const std::vector<float>& table, const std::vector<float>& soft, const std::vector<int32_t>& ids,
                    const std::vector<int32_t>& targets, const std::vector<LayerData>& layers) {
  RefResult res;
  std::vector<double> x(N * D);
  for (int64_t i = 0; i < N; i++)
    for (int64_t c = 0; c < D; c++) x[i * D + c] = table[ids[i] * D + c];
  for (size_t k = 0; k < kSoft.size(); k++)
    for (int64_t c = 0; c < D; c++) x[kSoft[k] * D + c] = soft[k * D + c];
  std::vector<std::vector<double>> xs, gs, us, as;
  for (int64_t l = 0; l < L; l++) {
    const LayerData& w = layers[l];
    res.lora.push_back({{&w.Ag, &w.Bg, R, 2.0, 0.25f, uint64_t(100 + l), 0, N, {}, {}},
                        {&w.Ad, &w.Bd, R, 2.0, 0.0f, uint64_t(200 + l), 0, N, {}, {}}});
    std::vector<RefLora> gate = {res.lora[l][0]}, down = {res.lora[l][1]}, none;
    auto g = ref_linear_forward(x, w.Wg, N, D, F, gate);
    auto u = ref_linear_forward(x, w.Wu, N, D, F, none);
    std::vector<double> a(N * F);
    for (int64_t i = 0; i < N * F; i++) a[i] = silu(g[i]) * u[i];
    auto y = ref_linear_forward(a, w.Wd, N, F, D, down);
    xs.push_back(x), gs.push_back(g), us.push_back(u), as.push_back(a);
    for (int64_t i = 0; i < N * D; i++) x[i] += y[i];
  }
  std::vector<double> dx(N * D, 0.0);
  for (int64_t m = 0; m < M; m++) {
    const double* h = &x[kAnswer[m] * D];
    std::vector<double> z(V);
    double mx = -1e300, se = 0;
    for (int64_t v = 0; v < V; v++) {
      z[v] = 0;
      for (int64_t c = 0; c < D; c++) z[v] += h[c] * table[v * D + c];
      mx = std::max(mx, z[v]);
    }
    for (int64_t v = 0; v < V; v++) se += std::exp(z[v] - mx);
    res.loss += (std::log(se) + mx - z[targets[m]]) / M;
    for (int64_t v = 0; v < V; v++) {
      const double dz = (std::exp(z[v] - mx) / se - (v == targets[m])) / M;
      for (int64_t c = 0; c < D; c++) dx[kAnswer[m] * D + c] += dz * table[v * D + c];
    }
  }
  for (int64_t l = L - 1; l >= 0; l--) {
    const LayerData& w = layers[l];
    std::vector<RefLora> gate = {res.lora[l][0]}, down = {res.lora[l][1]}, none;
    auto da = ref_linear_backward(dx, as[l], w.Wd, N, F, D, down);
    std::vector<double> dg(N * F), du(N * F);
    for (int64_t i = 0; i < N * F; i++) {
      const double z = gs[l][i], sg = 1.0 / (1.0 + std::exp(-z));
      du[i] = da[i] * silu(z);
      dg[i] = da[i] * us[l][i] * sg * (1.0 + z * (1.0 - sg));
    }
    auto dxg = ref_linear_backward(dg, xs[l], w.Wg, N, D, F, gate);
    auto dxu = ref_linear_backward(du, xs[l], w.Wu, N, D, F, none);
    for (int64_t i = 0; i < N * D; i++) dx[i] += dxg[i] + dxu[i];
    res.lora[l][0] = gate[0], res.lora[l][1] = down[0];
  }
  for (int64_t k : kSoft) res.dsoft.insert(res.dsoft.end(), dx.begin() + k * D, dx.begin() + (k + 1) * D);
  return res;
}

struct TpLayer {
  ParallelLinear gate, up, down;
  ParallelLoraAdapter lg, ld;
  ParallelLinearActs acts_g, acts_u, acts_d;
  std::vector<float> x, g, u, a;  // (N,D) (N,F/tp) (N,F/tp) (N,F/tp) saved for backward
};

TEST(TpMlpChain, EqualsUnsplitLossAndGradients) {
  auto world = MpiCommunicator::world();
  ProcessGrid grid(*world, world->size(), TpSplitDims{4, 4, 16, 16}, placement_round_robin({"t"}, 1));
  Communicator& tp = grid.tp();
  std::mt19937_64 rng(2024);
  auto table = random_vec(V * D, rng);
  auto soft = random_vec(kSoft.size() * D, rng);
  std::vector<int32_t> ids(N), targets(M);
  for (auto& i : ids) i = static_cast<int32_t>(rng() % V);
  for (auto& t : targets) t = static_cast<int32_t>(rng() % V);
  std::vector<LayerData> data(L);
  for (auto& w : data) {
    w.Wg = random_vec(F * D, rng), w.Wu = random_vec(F * D, rng), w.Wd = random_vec(D * F, rng);
    w.Ag = random_vec(R * D, rng), w.Bg = random_vec(F * R, rng), w.Ad = random_vec(R * F, rng);
    w.Bd = random_vec(D * R, rng);
  }
  RefResult ref = reference(table, soft, ids, targets, data);

  VocabParallelEmbedding embed = vocab_parallel_embedding_create("embed", V, D, tp);  // tied LM head
  param_load_shard(embed.weight, table.data());
  std::vector<TpLayer> layers(L);
  std::vector<GradSyncItem> items;
  for (int64_t l = 0; l < L; l++) {
    TpLayer& t = layers[l];
    const std::string p = "layers." + std::to_string(l);
    t.gate = column_parallel_linear_create(p + ".gate", D, F, tp);
    t.up = column_parallel_linear_create(p + ".up", D, F, tp);
    t.down = row_parallel_linear_create(p + ".down", F, D, tp);
    param_load_shard(t.gate.weight, data[l].Wg.data());
    param_load_shard(t.up.weight, data[l].Wu.data());
    param_load_shard(t.down.weight, data[l].Wd.data());
    t.lg = parallel_lora_create(p + ".gate.lora", t.gate, R, 2.0f * R, 0.25f, rng, tp);
    t.ld = parallel_lora_create(p + ".down.lora", t.down, R, 2.0f * R, 0.0f, rng, tp);
    param_load_shard(t.lg.A, data[l].Ag.data()), param_load_shard(t.lg.B, data[l].Bg.data());
    param_load_shard(t.ld.A, data[l].Ad.data()), param_load_shard(t.ld.B, data[l].Bd.data());
    items.push_back({&t.lg.A, GradGroup::dp, "", true});
    items.push_back({&t.lg.B, GradGroup::dp, "", false});
    items.push_back({&t.ld.A, GradGroup::task, "t", false});
    items.push_back({&t.ld.B, GradGroup::task, "t", false});
  }
  const int64_t Fl = F / tp.size();
  auto uses = [](ParallelLoraAdapter& a, uint64_t seed) { return std::vector<LoraUse>{{&a, 0, N, seed}}; };

  std::vector<float> x(N * D);
  vocab_parallel_embedding_forward(embed, x.data(), ids.data(), N, tp);
  for (size_t k = 0; k < kSoft.size(); k++) std::copy_n(soft.data() + k * D, D, x.data() + kSoft[k] * D);
  for (int64_t l = 0; l < L; l++) {
    TpLayer& t = layers[l];
    t.x = x, t.g.resize(N * Fl), t.u.resize(N * Fl), t.a.resize(N * Fl);
    column_parallel_linear_forward(t.gate, t.g.data(), x.data(), N, uses(t.lg, 100 + l), t.acts_g);
    column_parallel_linear_forward(t.up, t.u.data(), x.data(), N, {}, t.acts_u);
    cpu::swiglu_forward(t.a.data(), t.g.data(), t.u.data(), N * Fl);
    std::vector<float> y(N * D);
    row_parallel_linear_forward(t.down, y.data(), t.a.data(), N, uses(t.ld, 200 + l), t.acts_d, tp);
    for (int64_t i = 0; i < N * D; i++) x[i] += y[i];
  }
  std::vector<float> h(M * D), logits(M * embed.vocab_local), losses(M);
  for (int64_t m = 0; m < M; m++) std::copy_n(x.data() + kAnswer[m] * D, D, h.data() + m * D);
  vocab_parallel_lm_head_forward(embed, logits.data(), h.data(), M);
  VocabParallelCeActs ce;
  vocab_parallel_cross_entropy_forward(embed, losses.data(), logits.data(), targets.data(), M, -100, tp, ce);
  double loss = 0;
  for (float v : losses) loss += v / M;
  EXPECT_NEAR(loss, ref.loss, kRelTol * std::abs(ref.loss));

  std::vector<float> dl(M, 1.0f / M), dlogits(M * embed.vocab_local), dh(M * D), dx(N * D, 0.0f);
  vocab_parallel_cross_entropy_backward(embed, dlogits.data(), logits.data(), targets.data(), dl.data(), M, -100, ce);
  vocab_parallel_lm_head_backward(embed, dh.data(), dlogits.data(), h.data(), M, false, tp);
  for (int64_t m = 0; m < M; m++) std::copy_n(dh.data() + m * D, D, dx.data() + kAnswer[m] * D);
  for (int64_t l = L - 1; l >= 0; l--) {
    TpLayer& t = layers[l];
    std::vector<float> da(N * Fl), dg(N * Fl), du(N * Fl), dxg(N * D), dxu(N * D);
    row_parallel_linear_backward(t.down, da.data(), dx.data(), t.a.data(), N, uses(t.ld, 200 + l), t.acts_d);
    cpu::swiglu_backward(dg.data(), du.data(), da.data(), t.g.data(), t.u.data(), N * Fl);
    column_parallel_linear_backward(t.gate, dxg.data(), dg.data(), t.x.data(), N, uses(t.lg, 100 + l), t.acts_g, tp);
    column_parallel_linear_backward(t.up, dxu.data(), du.data(), t.x.data(), N, {}, t.acts_u, tp);
    for (int64_t i = 0; i < N * D; i++) dx[i] += dxg[i] + dxu[i];
  }
  GradSync sync(grid, items, 64);  // tiny buckets: several per group
  sync.sync();

  std::vector<float> dsoft;
  for (int64_t k : kSoft) dsoft.insert(dsoft.end(), dx.begin() + k * D, dx.begin() + (k + 1) * D);
  expect_close(dsoft, ref.dsoft, "soft-token grads");
  for (int64_t l = 0; l < L; l++) {
    SCOPED_TRACE("layer " + std::to_string(l));
    TpLayer& t = layers[l];
    const RefLora &rg = ref.lora[l][0], &rd = ref.lora[l][1];
    const int64_t o0 = t.gate.weight.split_offset, c0 = t.down.weight.split_offset;
    expect_close(t.lg.A.grad, rg.dA, "gate dA");
    expect_close(t.lg.B.grad, std::vector<double>(rg.dB.begin() + o0 * R, rg.dB.begin() + (o0 + Fl) * R), "gate dB");
    expect_close(t.ld.A.grad, ref_cols(rd.dA, R, F, c0, Fl), "down dA");
    expect_close(t.ld.B.grad, rd.dB, "down dB");
  }
}

}  // namespace
