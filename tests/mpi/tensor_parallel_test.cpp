// Column- and row-parallel linear layers with LoRA adapters at TP = world size (1, 2, 4): outputs,
// input gradients and adapter gradients equal an unsplit double-precision computation of the same
// layer (tp_reference.h) within 1e-5 relative, for several shapes, with dropout on one adapter.
#include <gtest/gtest.h>

#include <vector>

#include "core/check.h"
#include "dist/grad_sync.h"
#include "dist/mpi_communicator.h"
#include "dist/process_grid.h"
#include "dist/tensor_parallel.h"
#include "tp_reference.h"

using namespace ckf;
using namespace ckf::tpref;

namespace {

struct Shape4 {
  int64_t N, in, out;
  int r;
};
// in and out divide by 4 (the largest tp); N and r odd on purpose.
const std::vector<Shape4> kShapes = {{7, 12, 20, 4}, {5, 8, 16, 3}, {3, 8, 4, 1}};

// Two adapters as Multi-LoRA uses them: "shared" on every row, "task" on rows [1, N) with dropout.
struct LayerSetup {
  std::vector<float> W, A1, B1, A2, B2, x, dy;
  std::vector<RefLora> ref;
};

LayerSetup make_setup(const Shape4& s, std::mt19937_64& rng) {
  LayerSetup st;
  st.W = random_vec(s.out * s.in, rng);
  st.A1 = random_vec(s.r * s.in, rng);
  st.B1 = random_vec(s.out * s.r, rng);  // non-zero (PEFT starts at zero) so the B path is tested
  st.A2 = random_vec(s.r * s.in, rng);
  st.B2 = random_vec(s.out * s.r, rng);
  st.x = random_vec(s.N * s.in, rng);
  st.dy = random_vec(s.N * s.out, rng);
  st.ref = {{&st.A1, &st.B1, s.r, 2.0, 0.0f, 11, 0, s.N, {}, {}},
            {&st.A2, &st.B2, s.r, 4.0, 0.3f, 12, std::min<int64_t>(1, s.N), s.N, {}, {}}};
  return st;
}

// The two adapters on `l`, loaded from the full tensors; uses match st.ref.
struct Adapters {
  ParallelLoraAdapter a1, a2;
  std::vector<LoraUse> uses;
};

void load_adapters(Adapters& ad, const ParallelLinear& l, const Shape4& s, const LayerSetup& st, Communicator& tp) {
  std::mt19937_64 rng(1);
  ad.a1 = parallel_lora_create("shared", l, s.r, 2.0f * s.r, 0.0f, rng, tp);
  ad.a2 = parallel_lora_create("task", l, s.r, 4.0f * s.r, 0.3f, rng, tp);
  param_load_shard(ad.a1.A, st.A1.data());
  param_load_shard(ad.a1.B, st.B1.data());
  param_load_shard(ad.a2.A, st.A2.data());
  param_load_shard(ad.a2.B, st.B2.data());
  ad.uses = {{&ad.a1, st.ref[0].begin, st.ref[0].end, 11}, {&ad.a2, st.ref[1].begin, st.ref[1].end, 12}};
}

TEST(TensorParallel, ColumnParallelLinearWithLora) {
  auto world = MpiCommunicator::world();
  ProcessGrid grid(*world, world->size(), TpSplitDims{4, 4, 16, 16}, placement_round_robin({"t"}, 1));
  Communicator& tp = grid.tp();
  for (const Shape4& s : kShapes) {
    SCOPED_TRACE("N " + std::to_string(s.N) + " in " + std::to_string(s.in) + " out " + std::to_string(s.out));
    std::mt19937_64 rng(42 + s.N);
    LayerSetup st = make_setup(s, rng);
    auto x = to_double(st.x);
    auto y_ref = ref_linear_forward(x, st.W, s.N, s.in, s.out, st.ref);
    auto dx_ref = ref_linear_backward(to_double(st.dy), x, st.W, s.N, s.in, s.out, st.ref);

    ParallelLinear l = column_parallel_linear_create("q", s.in, s.out, tp);
    EXPECT_EQ(l.weight.split_dim, 0);
    EXPECT_EQ(l.weight.split_offset, tp.rank() * s.out / tp.size());
    EXPECT_EQ(l.weight.global_shape, (Shape{s.out, s.in}));
    param_load_shard(l.weight, st.W.data());
    Adapters ad;
    load_adapters(ad, l, s, st, tp);
    EXPECT_EQ(ad.a1.A.split_dim, -1);
    EXPECT_EQ(ad.a1.B.split_dim, 0);

    std::vector<float> y(s.N * l.out_local), dx(s.N * s.in);
    ParallelLinearActs acts;
    column_parallel_linear_forward(l, y.data(), st.x.data(), s.N, ad.uses, acts);
    expect_close(y, ref_cols(y_ref, s.N, s.out, l.weight.split_offset, l.out_local), "column output");
    auto dy_local = ref_cols(to_double(st.dy), s.N, s.out, l.weight.split_offset, l.out_local);
    std::vector<float> dy_f(dy_local.begin(), dy_local.end());
    column_parallel_linear_backward(l, dx.data(), dy_f.data(), st.x.data(), s.N, ad.uses, acts, tp);
    expect_close(dx, dx_ref, "column input grad");
    // dA is TP-partial: the gradient sync sums it over tp (DP = 1 here, so nothing else changes).
    GradSync sync(grid, {{&ad.a1.A, GradGroup::dp, "", true}, {&ad.a1.B, GradGroup::dp, "", false},
                         {&ad.a2.A, GradGroup::task, "t", true}, {&ad.a2.B, GradGroup::task, "t", false}});
    sync.sync();
    const int64_t o0 = l.weight.split_offset;
    expect_close(ad.a1.A.grad, st.ref[0].dA, "shared dA");
    expect_close(ad.a2.A.grad, st.ref[1].dA, "task dA");
    expect_close(ad.a1.B.grad, std::vector<double>(st.ref[0].dB.begin() + o0 * s.r, st.ref[0].dB.begin() + (o0 + l.out_local) * s.r), "shared dB");
    expect_close(ad.a2.B.grad, std::vector<double>(st.ref[1].dB.begin() + o0 * s.r, st.ref[1].dB.begin() + (o0 + l.out_local) * s.r), "task dB");
  }
}

TEST(TensorParallel, RowParallelLinearWithLora) {
  auto world = MpiCommunicator::world();
  ProcessGrid grid(*world, world->size(), TpSplitDims{4, 4, 16, 16}, placement_round_robin({"t"}, 1));
  Communicator& tp = grid.tp();
  for (const Shape4& s : kShapes) {
    SCOPED_TRACE("N " + std::to_string(s.N) + " in " + std::to_string(s.in) + " out " + std::to_string(s.out));
    std::mt19937_64 rng(7 + s.N);
    LayerSetup st = make_setup(s, rng);
    auto x = to_double(st.x);
    auto y_ref = ref_linear_forward(x, st.W, s.N, s.in, s.out, st.ref);
    auto dx_ref = ref_linear_backward(to_double(st.dy), x, st.W, s.N, s.in, s.out, st.ref);

    ParallelLinear l = row_parallel_linear_create("o", s.in, s.out, tp);
    EXPECT_EQ(l.weight.split_dim, 1);
    EXPECT_EQ(l.weight.split_offset, tp.rank() * s.in / tp.size());
    param_load_shard(l.weight, st.W.data());
    Adapters ad;
    load_adapters(ad, l, s, st, tp);
    EXPECT_EQ(ad.a1.A.split_dim, 1);
    EXPECT_EQ(ad.a1.B.split_dim, -1);
    const int64_t c0 = l.weight.split_offset;
    auto x_local = ref_cols(x, s.N, s.in, c0, l.in_local);
    std::vector<float> xl(x_local.begin(), x_local.end());

    std::vector<float> y(s.N * s.out), dx(s.N * l.in_local);
    ParallelLinearActs acts;
    uint64_t before = tp.counter(Collective::all_reduce).bytes;
    row_parallel_linear_forward(l, y.data(), xl.data(), s.N, ad.uses, acts, tp);
    // Output all-reduce of N*out floats plus one of (rows x r) per adapter, never (rows x out).
    const uint64_t rows2 = st.ref[1].end - st.ref[1].begin;
    EXPECT_EQ(tp.counter(Collective::all_reduce).bytes - before,
              ring_bytes_sent(Collective::all_reduce, 4 * s.N * s.out, tp.size(), 0, 0) +
                  ring_bytes_sent(Collective::all_reduce, 4 * s.N * s.r, tp.size(), 0, 0) +
                  ring_bytes_sent(Collective::all_reduce, 4 * rows2 * s.r, tp.size(), 0, 0));
    expect_close(y, y_ref, "row output");
    row_parallel_linear_backward(l, dx.data(), st.dy.data(), xl.data(), s.N, ad.uses, acts);
    expect_close(dx, ref_cols(dx_ref, s.N, s.in, c0, l.in_local), "row input grad");
    expect_close(ad.a1.A.grad, ref_cols(st.ref[0].dA, s.r, s.in, c0, l.in_local), "shared dA");
    expect_close(ad.a2.A.grad, ref_cols(st.ref[1].dA, s.r, s.in, c0, l.in_local), "task dA");
    expect_close(ad.a1.B.grad, st.ref[0].dB, "shared dB");
    expect_close(ad.a2.B.grad, st.ref[1].dB, "task dB");
  }
}

TEST(TensorParallel, DropoutMaskRateAndScale) {
  const float p = 0.1f;
  int dropped = 0, n = 20000;
  for (int i = 0; i < n; i++) {
    float m = lora_dropout_scale(3, i / 100, i % 100, p);
    if (m == 0.0f) dropped++;
    else EXPECT_FLOAT_EQ(m, 1.0f / (1.0f - p));
  }
  // Binomial(20000, 0.1): sd ~ 42; 0.08..0.12 is ~ 9 sd either way.
  EXPECT_NEAR(dropped / double(n), p, 0.02);
  int differ = 0;  // another seed gives another mask
  for (int i = 0; i < 1000; i++) differ += lora_dropout_scale(3, 0, i, p) != lora_dropout_scale(4, 0, i, p);
  EXPECT_GT(differ, 50);
  EXPECT_EQ(lora_dropout_scale(3, 5, 6, 0.0f), 1.0f);
}

TEST(TensorParallel, ShardErrorsNameTheTensor) {
  try {
    param_shard("layers.0.q.weight", {6, 8}, 0, 0, 4);
    FAIL() << "no error for 6 rows over tp 4";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layers.0.q.weight"), std::string::npos) << e.what();
  }
  auto world = MpiCommunicator::world();
  ParallelLinear l = column_parallel_linear_create("q", 8, 8, *world);
  ParallelLoraAdapter a;
  std::mt19937_64 rng(1);
  a = parallel_lora_create("q.lora", l, 2, 4.0f, 0.0f, rng, *world);
  std::vector<float> x(3 * 8, 1.0f), y(3 * l.out_local);
  ParallelLinearActs acts;
  std::vector<LoraUse> bad = {{&a, 0, 4, 0}};  // rows beyond N = 3
  EXPECT_THROW(column_parallel_linear_forward(l, y.data(), x.data(), 3, bad, acts), Error);
  EXPECT_THROW(parallel_lora_create("q.lora", l, 2, 4.0f, 1.0f, rng, *world), Error);
}

}  // namespace
