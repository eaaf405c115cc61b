// One Multi-LoRA training step (forward + backward, no optimizer) on the embedded SmolLM2-135M,
// the paper's default adapters (shared k, v, o + task q; r 16, alpha 64, dropout 0.1), a batch of
// B random sequences of T tokens, loss on every next token. Prints tokens/s and the process's
// peak RSS; tests/bench/peft_step_bench.py is the PyTorch + PEFT peer, lora_vs_peft.sh runs both.
// Usage: lora_step_bench [model.gguf] [steps=3] [threads=2] [B=8] [T=256]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "core/llama_model.h"
#include "core/rng.h"
#include "io/model_load.h"
#include "kernels/cpu/matmul.h"
#include "../unit/model_path.h"

using namespace ckf;

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : test_model_gguf_path();
  const int steps = argc > 2 ? std::atoi(argv[2]) : 3;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  const int B = argc > 4 ? std::atoi(argv[4]) : 8, T = argc > 5 ? std::atoi(argv[5]) : 256;
  cpu::blas_set_threads(threads);
  auto t_load = std::chrono::steady_clock::now();
  LlamaModel model = llama_model_load(path, lora_spec_shared_default(), lora_spec_task_default(), {"t"}, 1);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  LlamaBatch batch;
  batch.B = B;
  batch.T = T;
  batch.tokens.resize(size_t(B) * T);
  for (size_t i = 0; i < batch.tokens.size(); ++i) batch.tokens[i] = int32_t(rng_mix(7 * 0x9e3779b97f4a7c15ull + i) % uint64_t(model.config.vocab));
  batch.lengths.assign(B, T);
  batch.tasks.assign(B, "t");
  for (int b = 0; b < B; ++b)
    for (int p = 0; p + 1 < T; ++p) batch.outputs.push_back({b, p, batch.tokens[size_t(b) * T + p + 1]});
  LlamaActs acts;
  double total = 0.0;
  for (int s = 0; s <= steps; ++s) {  // step 0 warms up (allocates the activations)
    auto t0 = std::chrono::steady_clock::now();
    multilora_zero_grad(model.lora);
    float loss = llama_forward(model, batch, acts, LlamaRunMode{true, uint64_t(s)});
    llama_backward(model, batch, acts, nullptr);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > 0) total += dt;
    std::printf("step %d: loss %.4f, %.2f s%s\n", s, loss, dt, s == 0 ? " (warm-up)" : "");
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("RESULT ckf threads=%d B=%d T=%d load_s=%.1f tokens_per_s=%.1f peak_rss_mb=%.0f\n", threads, B, T, load_s,
              double(B) * T * steps / total, double(ru.ru_maxrss) / 1024.0);
  return 0;
}
