// Gradient sync overhead on the embedded SmolLM2-135M with data parallelism (tp 1, dp = ranks):
// each replica runs forward + backward of the default Multi-LoRA (shared k, v, o; task q; r 16,
// dropout 0.1) on B sequences of T random tokens of its own tasks, loss on the last `answer`
// tokens of each (CKF trains on answer tokens only), then GradSync::sync averages the trainable
// gradients over the dp and task groups. Ranks meet at a barrier before the sync, so its time is
// communication alone, not the wait for a slower rank. Prints per timed step the slowest rank's
// forward+backward and sync times, the sync as a fraction of the step, the bytes this rank sends
// per group, and the achieved all-reduce bandwidth (counted bytes / sync time, the busbw of
// allreduce_bench).
// Usage: mpirun -np 2 grad_sync_bench [model.gguf] [steps=3] [B=4] [T=128] [answer=8] [placement]
// placement default (dp 2): ctr:0,1;sequential:0;rating:1;topk:0,1 (two tasks on both replicas).
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/llama_model.h"
#include "core/rng.h"
#include "core/train/train_params.h"
#include "dist/grad_sync.h"
#include "dist/mpi_communicator.h"
#include "dist/process_grid.h"
#include "dist/run_collectively.h"
#include "dist/world.h"
#include "io/model_load.h"
#include "kernels/cpu/matmul.h"
#include "../unit/model_path.h"

using namespace ckf;

namespace {

// B sequences of T random tokens, tasks cycling over the replica's own, targets at the last
// `answer` positions.
LlamaBatch random_batch(const LlamaConfig& cfg, const std::vector<std::string>& tasks, int B, int T, int answer,
                        uint64_t seed) {
  LlamaBatch b;
  b.B = B;
  b.T = T;
  b.tokens.resize(size_t(B) * T);
  for (size_t i = 0; i < b.tokens.size(); ++i) b.tokens[i] = int32_t(rng_mix(seed * 0x9e3779b97f4a7c15ull + i) % uint64_t(cfg.vocab));
  b.lengths.assign(B, T);
  for (int s = 0; s < B; ++s) {
    b.tasks.push_back(tasks[size_t(s) * tasks.size() / B]);  // consecutive runs of one task
    for (int p = T - 1 - answer; p + 1 < T; ++p) b.outputs.push_back({s, p, b.tokens[size_t(s) * T + p + 1]});
  }
  return b;
}

double max_over(Communicator& c, double x) {
  c.all_reduce(std::span<double>(&x, 1), ReduceOp::max);
  return x;
}

int bench(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : test_model_gguf_path();
  const int steps = argc > 2 ? std::atoi(argv[2]) : 3;
  const int B = argc > 3 ? std::atoi(argv[3]) : 4, T = argc > 4 ? std::atoi(argv[4]) : 128;
  const int answer = argc > 5 ? std::atoi(argv[5]) : 8;
  auto world = MpiCommunicator::world();
  const int dp = world->size();
  const std::string spec = argc > 6 ? argv[6] : dp == 2 ? "ctr:0,1;sequential:0;rating:1;topk:0,1" : "";
  const std::vector<std::string> all_tasks = {"ctr", "sequential", "rating", "topk"};
  cpu::blas_set_threads(1);  // one core per rank

  const LlamaConfig cfg = llama_config_load(path);
  ProcessGrid grid(*world, 1, {cfg.n_heads, cfg.n_kv_heads, cfg.vocab, cfg.ffn},
                   spec.empty() ? placement_round_robin(all_tasks, dp) : placement_parse(spec, dp, "placement"));
  LlamaModel model = llama_model_load(path, lora_spec_shared_default(), lora_spec_task_default(), grid.my_tasks(), 1);
  TrainParams params;
  train_params_add_lora(params, model.lora, grid);
  GradSync sync(grid, params.sync_items);
  const LlamaBatch batch = random_batch(cfg, grid.my_tasks(), B, T, answer, 1 + grid.dp_rank());
  if (world->rank() == 0)
    std::printf("# grad_sync_bench: %s, dp %d, placement %s, B %d T %d, %d answer tokens/seq, %zu trainable "
                "tensors, bucket %zu MiB\n",
                path.c_str(), dp, grid.placement().str().c_str(), B, T, answer, params.params.size(),
                kDefaultBucketBytes >> 20);

  LlamaActs acts;
  double fb_sum = 0, sync_sum = 0;
  for (int s = 0; s <= steps; ++s) {  // step 0 warms up (allocates the activations)
    multilora_zero_grad(model.lora);
    double t0 = MPI_Wtime();
    const float loss = llama_forward(model, batch, acts, LlamaRunMode{true, uint64_t(s)});
    llama_backward(model, batch, acts, nullptr);
    const double fb = max_over(*world, MPI_Wtime() - t0);
    world->barrier();
    t0 = MPI_Wtime();
    sync.sync();
    const double sy = max_over(*world, MPI_Wtime() - t0);
    if (s > 0) fb_sum += fb, sync_sum += sy;
    if (world->rank() == 0)
      std::printf("step %d: loss %.4f  fwd+bwd %.3f s  sync %.3f ms  sync/step %.5f%s\n", s, loss, fb, sy * 1e3,
                  sy / (fb + sy), s == 0 ? "  (warm-up)" : "");
  }
  // Per rank (replicas hold different tasks, so their traffic differs), in rank order.
  for (int r = 0; r < world->size(); ++r) {
    world->barrier();
    if (r != world->rank()) continue;
    for (const GradSyncGroupStats& g : sync.last_stats())
      std::printf("rank %d  %-16s ranks %d  floats %9lld  all-reduces %llu  bytes sent %10llu\n", r, g.group.c_str(),
                  g.size, static_cast<long long>(g.n_params), static_cast<unsigned long long>(g.calls),
                  static_cast<unsigned long long>(g.bytes));
    std::fflush(stdout);
  }
  const double bytes = max_over(*world, double(sync.last_bytes()));
  if (world->rank() == 0 && steps > 0) {
    const double fb = fb_sum / steps, sy = sync_sum / steps;
    std::printf("RESULT dp=%d B=%d T=%d fwd_bwd_s=%.3f sync_ms=%.3f sync_fraction=%.6f bytes_per_step=%.0f "
                "counted_GB_per_s=%.3f\n",
                dp, B, T, fb, sy * 1e3, sy / (fb + sy), bytes, bytes / sy / 1e9);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  world_init(&argc, &argv);
  const int status = run_collectively("grad_sync_bench", [&] { return bench(argc, argv); });
  world_finalize();
  return status;
}
