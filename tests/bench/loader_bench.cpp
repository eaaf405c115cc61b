// Loader throughput against the trainer's appetite. Measures, on one core (the loader's background
// thread; the consumer only takes batches): samples/s of shard_read alone (decode), of a cold loader
// (first epoch: every shard decoded once), of a warm one (shards cached: order + row gather), and of
// one whose cache holds a single shard (a decode of every shard a step touches, every step), and
// of one shuffling 2 shards at a time with a 4-shard cache (each shard decoded once per epoch).
// The trainer does not exist yet, so its rate is estimated: SmolLM2-135M with a frozen base costs
// about 4 * N * tokens FLOPs per sample (forward 2N, input gradients 2N, no weight gradients) at
// ~200 prompt tokens, divided by the measured single-core and all-core sgemm GFLOP/s here, and by an
// assumed 40% of an H200's 989 dense bf16 TFLOP/s for the GPU trainer.
// Usage: loader_bench [DATASET_DIR]   (default: a synthetic dataset in a temporary directory; for
// MovieLens run cluster/setup-data.sh, then `ckf prep --source movielens-latest --input
// ~/.cache/ckf/data/movielens-small --out DIR`, and pass DIR)
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "io/loader.h"
#include "kernels/cpu/matmul.h"

using namespace ckf;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr double kParams = 135e6;      // SmolLM2-135M
constexpr double kPromptTokens = 200;  // typical CKF prompt
constexpr double kFlopsPerSample = 4 * kParams * kPromptTokens;
constexpr double kGpuFlops = 0.4 * 989e12;  // assumed H200 bf16 utilisation

// Synthetic dataset shaped like `ckf prep`'s defaults (history 10; 10 and 100 candidates).
fs::path synthetic_dataset() {
  fs::path dir = fs::temp_directory_path() / "ckf_loader_bench";
  fs::remove_all(dir);
  std::mt19937 gen(1);
  for (Task task : kAllTasks) {
    for (int64_t k = 0; k < 4; ++k) {
      SampleTable t;
      t.task = task;
      t.history_len = 10;
      t.num_candidates = task == Task::Sequential ? 10 : task == Task::Topk ? 100 : 0;
      std::vector<int32_t> hist(10), cand(size_t(t.num_candidates));
      std::vector<float> rate(10, 4.0f);
      for (int i = 0; i < 25000; ++i) {
        for (auto& h : hist) h = int32_t(gen() % 9000);
        for (auto& c : cand) c = int32_t(gen() % 9000);
        t.push(int32_t(gen() % 600), int32_t(gen() % 9000), 1.0f, hist, rate, cand);
      }
      fs::path file = shard_path(dir, Split::Train, task, k);
      fs::create_directories(file.parent_path());
      shard_write(t, ShardInfo{k, 1, 600, 9000}, file);
    }
  }
  return dir;
}

// Samples/s of `steps` batches of one task, or fewer when time runs out.
double stream_rate(Loader& l, int64_t max_samples) {
  auto t0 = Clock::now();
  int64_t n = 0;
  while (n < max_samples && seconds_since(t0) < 10) n += int64_t(l.next().tasks[0].samples.size());
  return double(n) / seconds_since(t0);
}

double sgemm_gflops(int threads) {
  cpu::blas_set_threads(threads);
  const int M = 512, N = 1536, K = 576;  // tokens x SmolLM2 ffn x d_model
  std::vector<float> a(size_t(M) * K, 0.5f), b(size_t(K) * N, 0.25f), c(size_t(M) * N);
  double best = 0;
  for (int rep = 0; rep < 20; ++rep) {
    auto t0 = Clock::now();
    cpu::gemm(c.data(), a.data(), b.data(), M, N, K, false, false);
    best = std::max(best, 2.0 * M * N * K / seconds_since(t0) / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = argc > 1 ? fs::path(argv[1]) : synthetic_dataset();
  std::printf("dataset %s\n", dir.c_str());
  const double gflops1 = sgemm_gflops(1), gflops_all = sgemm_gflops(int(std::thread::hardware_concurrency()));
  const double cpu1_rate = gflops1 * 1e9 / kFlopsPerSample, cpu_all_rate = gflops_all * 1e9 / kFlopsPerSample;
  const double gpu_rate = kGpuFlops / kFlopsPerSample;
  std::printf(
      "sgemm %.1f GFLOP/s on 1 thread, %.1f on %u; trainer estimate (4 N tokens = %.3g FLOP/sample): "
      "%.3f samples/s per core, %.2f all cores, %.0f per H200 at 40%%\n",
      gflops1, gflops_all, std::thread::hardware_concurrency(), kFlopsPerSample, cpu1_rate, cpu_all_rate, gpu_rate);
  std::printf("%-11s %9s %7s %10s %10s %10s %10s %10s %10s %10s\n", "task", "samples", "shards", "decode/s", "cold/s",
              "warm/s", "1-shard/s", "window2/s", "warm/H200", "warm/core");
  TaskPlacement placement = placement_round_robin({"ctr", "sequential", "rating", "topk"}, 1);
  for (Task task : kAllTasks) {
    std::vector<fs::path> files = shard_list(dir, Split::Train, task);
    if (files.empty()) continue;
    auto t0 = Clock::now();
    int64_t total = 0;
    for (const fs::path& f : files) total += int64_t(shard_read(f).size());
    double decode = double(total) / seconds_since(t0);

    LoaderOptions o;
    o.dir = dir;
    o.tasks = {{task, 64}};
    Loader cold(o, placement, 0);
    double cold_rate = stream_rate(cold, total);
    double warm_rate = stream_rate(cold, 4 * total);
    o.cache_shards = 1;
    Loader small(o, placement, 0);
    double small_rate = stream_rate(small, total);
    o.shard_window = 2;
    o.cache_shards = 4;
    Loader window(o, placement, 0);
    double window_rate = stream_rate(window, 2 * total);
    std::printf("%-11s %9lld %7zu %10.0f %10.0f %10.0f %10.0f %10.0f %10.0f %10.0f\n", task_name(task),
                (long long)total, files.size(), decode, cold_rate, warm_rate, small_rate, window_rate,
                warm_rate / gpu_rate, warm_rate / cpu1_rate);
  }
  std::printf(
      "(warm/H200, warm/core: loader samples/s over the estimated trainer samples/s; above 1 the loader "
      "keeps up)\n");
  return 0;
}
