// GradSyncCuda (dist/grad_sync_cuda.h) on random per-rank device gradients, against
//   - the mean over the group's ranks in double, every rank's data regenerated here
//     (|got - want| <= 1e-6 max |want|: at most 3 fp32 additions of values in [-1, 1], then an
//     exact or correctly rounded 1/p);
//   - the CPU GradSync on the same data: bit for bit when the group has at most 2 ranks (a + b
//     rounds alike in either order and both multiply by the same float 1/p), else within 1e-6
//     max |want| (MPI may sum 3 or 4 terms in another order than NCCL);
//   - itself without overlap: begin_final_backward + on_layer_done(L-1..0) + finish must give the
//     same bits as finish alone (the canonical order makes timing irrelevant);
//   - the closed forms of the stats (calls = buckets, bytes = 2 (p-1)/p * 4 n per bucket, rounded
//     down) and of how many dp buckets the overlap sends after each layer.
// The placement gives tasks different replica sets (np 4: ctr {0,1}, topk {2,3}, rating {1,2,3},
// a group of 3), items come in a scrambled given order (mapper first, layers ascending) and the
// bucket sizes split items and mix layers. Skipped on every rank when some rank has no device
// (tests/mpi/mpi_cuda_util.h); the argument checks need none and run everywhere CUDA is built.
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "dist/grad_sync.h"
#include "dist/mpi_communicator.h"
#include "dist/process_grid.h"
#include "mpi_test_util.h"
#ifdef CKF_WITH_CUDA
#include "dist/grad_sync_cuda.h"
#include "kernels/cuda/buffer.h"
#include "kernels/cuda/context.h"
#include "mpi_cuda_util.h"
#include "../unit/cuda_test_util.h"
#endif

using namespace ckf;
using namespace ckf::mpitest;

namespace {

#ifdef CKF_WITH_CUDA

using test::expect_error_containing;

constexpr int kLayers = 3;
constexpr double kTol = 1e-6;

TaskPlacement test_placement(int dp) {
  if (dp == 1) return placement_parse("ctr:0;topk:0", 1);
  if (dp == 2) return placement_parse("ctr:0,1;topk:1", 2);
  if (dp == 4) return placement_parse("ctr:0,1;topk:2,3;rating:1,2,3", 4);
  return placement_round_robin({"ctr", "topk"}, dp);
}

ProcessGrid make_grid(Communicator& world) { return ProcessGrid(world, 1, {1, 1, 1, 1}, test_placement(world.size())); }

struct Spec {
  std::string name;
  int64_t n;
  GradGroup group;
  std::string task;
  int layer;
};

// This replica's gradients, in a given order that is not the canonical one: the mapper first,
// then the layers ascending, shared and task items interleaved. Odd sizes; 211 > every small
// bucket, so some buckets are one piece of one item (reduced in place).
std::vector<Spec> test_specs(const ProcessGrid& grid) {
  std::vector<Spec> s = {{"mapper.w", 300, GradGroup::dp, "", -1}, {"mapper.b", 7, GradGroup::dp, "", -1}};
  for (int l = 0; l < kLayers; ++l) {
    const std::string L = ".l" + std::to_string(l);
    s.push_back({"shared.k" + L, 37, GradGroup::dp, "", l});
    for (const std::string& t : grid.my_tasks()) s.push_back({t + ".q" + L, 13 + l, GradGroup::task, t, l});
    s.push_back({"shared.v" + L, 211, GradGroup::dp, "", l});
    for (const std::string& t : grid.my_tasks()) s.push_back({t + ".o" + L, 64, GradGroup::task, t, l});
    s.push_back({"shared.o" + L, 5, GradGroup::dp, "", l});
  }
  return s;
}

// World rank r's gradient of item `name`: the same on whichever rank regenerates it.
std::vector<float> rank_grad(int r, const Spec& s) {
  const std::string key = s.name + "@" + std::to_string(r);
  std::seed_seq seed(key.begin(), key.end());
  std::mt19937_64 rng(seed);
  return random_vec(size_t(s.n), rng);
}

// World ranks whose gradients of spec's group average together (tp = 1: world rank = replica).
std::vector<int> group_ranks(const ProcessGrid& grid, const Spec& s) {
  if (s.group == GradGroup::task) return grid.placement().replicas_of(s.task);
  std::vector<int> all(grid.dp_size());
  for (int r = 0; r < grid.dp_size(); ++r) all[r] = r;
  return all;
}

struct SyncRun {
  std::vector<std::vector<float>> grads;  // (items, n) after the sync, in spec order
  std::vector<GradSyncGroupStats> stats;
  std::vector<int> sent_after_layer;      // (L) dp_buckets_sent() after on_layer_done(l), l = L-1..0
};

// Uploads this rank's gradients, syncs them (with or without overlap), downloads the result.
SyncRun run_sync(ProcessGrid& grid, const std::vector<Spec>& specs, int device, size_t bucket_bytes, bool overlap) {
  cuda::CudaContext ctx(device);
  std::deque<cuda::DeviceBuffer<float>> bufs;
  std::vector<GradSyncCudaItem> items;
  for (const Spec& s : specs) {
    bufs.emplace_back(rank_grad(grid.world().rank(), s));
    items.push_back({s.name, bufs.back().data(), s.n, s.group, s.task, s.layer});
  }
  GradSyncCuda sync(grid, items, device, ctx.stream(), bucket_bytes);
  SyncRun run;
  if (overlap) {
    // An earlier backward of gradient accumulation: its layers are not final, nothing may go.
    for (int l = kLayers - 1; l >= 0; --l) sync.on_layer_done(l);
    EXPECT_EQ(sync.dp_buckets_sent(), 0) << "buckets sent outside the final backward";
    sync.begin_final_backward();
    for (int l = kLayers - 1; l >= 0; --l) {
      sync.on_layer_done(l);
      run.sent_after_layer.push_back(sync.dp_buckets_sent());
    }
  }
  sync.finish();
  ctx.synchronize();
  run.stats = sync.last_stats();
  for (auto& b : bufs) run.grads.push_back(b.download());
  return run;
}

// The CPU GradSync on the same data.
std::vector<std::vector<float>> cpu_sync(ProcessGrid& grid, const std::vector<Spec>& specs, size_t bucket_bytes) {
  std::deque<Param> params;
  std::vector<GradSyncItem> items;
  for (const Spec& s : specs) {
    params.push_back(Param::make(s.name, {s.n}));
    const auto g = rank_grad(grid.world().rank(), s);
    std::copy(g.begin(), g.end(), params.back().grad.data<float>());
    items.push_back({&params.back(), s.group, s.task, false});
  }
  GradSync(grid, items, bucket_bytes).sync();
  std::vector<std::vector<float>> out;
  for (const Param& p : params) out.emplace_back(p.grad.data<float>(), p.grad.data<float>() + p.grad.numel());
  return out;
}

struct GroupWant {
  std::string name;
  int size;
  int64_t n;
};

// dp, then this replica's tasks in placement order, with their sizes and float counts.
std::vector<GroupWant> groups_wanted(const ProcessGrid& grid, const std::vector<Spec>& specs) {
  std::vector<GroupWant> want = {{"dp", grid.dp_size(), 0}};
  for (const std::string& t : grid.my_tasks())
    want.push_back({"task:" + t, int(grid.placement().replicas_of(t).size()), 0});
  for (const Spec& s : specs) {
    const std::string g = s.group == GradGroup::dp ? "dp" : "task:" + s.task;
    for (GroupWant& w : want)
      if (w.name == g) w.n += s.n;
  }
  return want;
}

TEST(GradSyncCuda, MatchesCpuAndDoubleReferenceWithAndWithoutOverlap) {
  auto world = MpiCommunicator::world();
  std::string why;
  const int device = rank_device(*world, &why);
  if (device < 0) GTEST_SKIP() << why;
  ProcessGrid grid = make_grid(*world);
  const std::vector<Spec> specs = test_specs(grid);

  for (size_t bucket_bytes : {size_t{4 * 97}, size_t{4 * 1000}, kDefaultBucketBytes}) {
    SCOPED_TRACE("bucket_bytes " + std::to_string(bucket_bytes));
    const SyncRun plain = run_sync(grid, specs, device, bucket_bytes, false);
    const SyncRun overlapped = run_sync(grid, specs, device, bucket_bytes, true);
    const auto cpu = cpu_sync(grid, specs, bucket_bytes);
    ASSERT_EQ(plain.grads.size(), specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
      const Spec& s = specs[i];
      SCOPED_TRACE("item " + s.name);
      const std::vector<int> ranks = group_ranks(grid, s);
      std::vector<double> want(size_t(s.n), 0.0);
      for (int r : ranks) {
        const auto g = rank_grad(r, s);
        for (int64_t j = 0; j < s.n; ++j) want[j] += g[j];
      }
      for (double& w : want) w /= double(ranks.size());
      expect_close(plain.grads[i], want, "device sync vs double mean", kTol);
      EXPECT_EQ(std::memcmp(plain.grads[i].data(), overlapped.grads[i].data(), size_t(s.n) * 4), 0)
          << "overlapped sync differs in bits from finish() alone";
      if (ranks.size() <= 2) EXPECT_EQ(std::memcmp(plain.grads[i].data(), cpu[i].data(), size_t(s.n) * 4), 0)
          << "device sync differs in bits from the CPU GradSync on a group of " << ranks.size();
      else expect_close(cpu[i], want, "CPU GradSync vs double mean", kTol);
    }

    // Stats: one all-reduce per bucket, ring bytes per bucket, nothing for a single-rank group.
    const int64_t cap = int64_t(bucket_bytes / 4);
    const std::vector<GroupWant> want = groups_wanted(grid, specs);
    for (const SyncRun* run : {&plain, &overlapped}) {
      ASSERT_EQ(run->stats.size(), want.size());
      for (size_t g = 0; g < want.size(); ++g) {
        const GradSyncGroupStats& s = run->stats[g];
        const int p = want[g].size;
        uint64_t calls = 0, bytes = 0;
        for (int64_t begin = 0; p > 1 && begin < want[g].n; begin += cap, ++calls)
          bytes += uint64_t(2 * (p - 1)) * 4 * uint64_t(std::min(cap, want[g].n - begin)) / uint64_t(p);
        EXPECT_EQ(s.group, want[g].name);
        EXPECT_EQ(s.size, p) << s.group;
        EXPECT_EQ(s.n_params, want[g].n) << s.group;
        EXPECT_EQ(s.calls, calls) << s.group;
        EXPECT_EQ(s.bytes, bytes) << s.group;
      }
    }

    // Overlap: after layer l, every dp bucket that lies within the items of layers >= l (canonical
    // order: layers descending, the mapper last) has gone, and no other.
    int64_t prefix = 0;
    std::vector<int> sent_want;
    for (int l = kLayers - 1; l >= 0; --l) {
      for (const Spec& s : specs)
        if (s.group == GradGroup::dp && s.layer == l) prefix += s.n;
      sent_want.push_back(grid.dp_size() > 1 ? int(prefix / cap) : 0);
    }
    EXPECT_EQ(overlapped.sent_after_layer, sent_want);
  }
}

// Every rank of a group ends with the same bits (NCCL's guarantee; the emulator's rank-order sum).
TEST(GradSyncCuda, ReplicasEndBitIdentical) {
  auto world = MpiCommunicator::world();
  std::string why;
  const int device = rank_device(*world, &why);
  if (device < 0) GTEST_SKIP() << why;
  ProcessGrid grid = make_grid(*world);
  const std::vector<Spec> specs = test_specs(grid);
  const SyncRun run = run_sync(grid, specs, device, 4 * 97, true);
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].group != GradGroup::dp) continue;
    std::vector<float> first = run.grads[i];
    grid.dp().broadcast(std::span<float>(first), 0);
    EXPECT_EQ(std::memcmp(first.data(), run.grads[i].data(), first.size() * 4), 0) << specs[i].name;
  }
}

// The argument checks run before any device call: the pointers are never dereferenced, and a
// missing check would reach the device (or NCCL) and fail with another message, or not at all.
TEST(GradSyncCuda, BadInputsGiveClearErrors) {
  auto world = MpiCommunicator::world();
  ProcessGrid grid = make_grid(*world);
  float fake[8];
  auto item = [&](std::string name, int i, GradGroup g = GradGroup::dp, std::string task = "", int layer = 0) {
    return GradSyncCudaItem{std::move(name), fake + i, 4, g, std::move(task), layer};
  };
  auto build = [&](std::vector<GradSyncCudaItem> items, size_t bucket = 64) {
    GradSyncCuda(grid, std::move(items), 0, nullptr, bucket);
  };
  GradSyncCudaItem partial = item("lora.shared.layers.1.k.A", 0);
  partial.tp_partial = true;
  expect_error_containing([&] { build({item("a", 1), partial}); }, "item 'lora.shared.layers.1.k.A' is TP-partial");
  expect_error_containing([&] { build({item("a", 1)}, 6); }, "bucket size 6 bytes must be a positive multiple of 4");
  expect_error_containing([&] { build({item("a", 1), item("b", 1)}); }, "item 'b': its gradient is listed twice");
  expect_error_containing([&] { build({item("a", 1, GradGroup::task, "review")}); },
                          "item 'a' belongs to task 'review', which replica " + std::to_string(grid.dp_rank()) +
                              " does not hold");
  GradSyncCudaItem empty = item("e", 2), null = item("z", 3), deep = item("d", 4, GradGroup::dp, "", -2);
  empty.n = 0;
  null.grad = nullptr;
  expect_error_containing([&] { build({empty}); }, "item 'e' has 0 elements");
  expect_error_containing([&] { build({null}); }, "item 'z' has a null gradient pointer");
  expect_error_containing([&] { build({deep}); }, "item 'd' has layer -2");
  // Ranks listing different items would issue mismatched NCCL calls: every rank refuses.
  if (world->size() > 1) {
    std::vector<GradSyncCudaItem> items = {item("a", 1)};
    if (world->rank() == 0) items.push_back(item("b", 2));
    expect_error_containing([&] { build(items); }, "the ranks of group 'dp' list different gradients");
    items = {item(world->rank() == 1 ? "x" : "a", 1)};  // same count and size, another name
    expect_error_containing([&] { build(items); }, "the ranks of group 'dp' list different gradients");
  }
  // Tensor parallelism: refused, whatever the items.
  if (world->size() % 2 == 0) {
    const int dp = world->size() / 2;
    ProcessGrid tp2(*world, 2, {2, 2, 2, 2}, placement_round_robin({"ctr"}, dp));
    expect_error_containing([&] { GradSyncCuda(tp2, {item("a", 1)}, 0, nullptr, 64); },
                            "tensor parallelism (tp 2) is not supported on the device path");
  }
}

TEST(GradSyncCuda, LayersOutOfOrderAreRefused) {
  auto world = MpiCommunicator::world();
  std::string why;
  const int device = rank_device(*world, &why);
  if (device < 0) GTEST_SKIP() << why;
  ProcessGrid grid = make_grid(*world);
  cuda::CudaContext ctx(device);
  cuda::DeviceBuffer<float> buf(std::vector<float>(16, 0.5f));
  GradSyncCuda sync(grid, {{"a", buf.data(), 16, GradGroup::dp, "", 1}}, device, ctx.stream(), 64);
  sync.begin_final_backward();
  sync.on_layer_done(1);
  expect_error_containing([&] { sync.on_layer_done(1); }, "on_layer_done(1) after layer 1");
  expect_error_containing([&] { sync.begin_final_backward(); }, "begin_final_backward() called twice");
  sync.finish();
  ctx.synchronize();
  EXPECT_EQ(buf.download(), std::vector<float>(16, 0.5f));  // the mean of equal values
}

#else

TEST(GradSyncCuda, NotBuilt) { GTEST_SKIP() << "built without CUDA: no GradSyncCuda"; }

#endif

}  // namespace
