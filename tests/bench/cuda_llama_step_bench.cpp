// One Multi-LoRA training step (forward + backward, no optimizer) of the device decoder
// (core/cuda/llama_model_cuda.h) on the embedded model's shape (SmolLM2-135M: 30 layers, C 576,
// 9 query / 3 KV heads, F 1536, V 49152, tied) with random weights, the paper's default adapters
// (shared k, v, o + task q; r 16, alpha 64, dropout 0.1), B random sequences of T tokens, loss on
// every next token. Prints tokens/s and the device memory the model and its activations hold
// (buffers are allocated once and kept, so this is the peak but for cuBLAS's workspace).
// lora_step_bench is the CPU peer.
// Usage: cuda_llama_step_bench [steps=5] [B=8] [T=512]
#include <cstdio>
#include <cstdlib>

#include "kernels/device.h"

#ifdef CKF_WITH_CUDA

#include <chrono>
#include <exception>

#include "core/cuda/llama_model_cuda.h"
#include "core/rng.h"

using namespace ckf;

namespace {

LlamaConfig embedded_config() {
  return LlamaConfig{.vocab = 49152, .d_model = 576, .n_layers = 30, .n_heads = 9, .n_kv_heads = 3, .head_dim = 64,
                      .ffn = 1536, .rms_eps = 1e-5f, .rope_theta = 100000.0f, .tie_embeddings = true, .max_seq = 8192};
}

size_t device_used_bytes() {
  size_t free = 0, total = 0;
  CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return total - free;
}

int run(int steps, int B, int T) {
  const LlamaConfig cfg = embedded_config();
  LlamaModel model;
  model.config = cfg;
  model.weights = llama_weights_random(cfg, 1);
  model.lora = multilora_create(cfg, lora_spec_shared_default(), lora_spec_task_default(), {"t"}, 2);
  LlamaBatch batch;
  batch.B = B;
  batch.T = T;
  batch.tokens.resize(size_t(B) * T);
  for (size_t i = 0; i < batch.tokens.size(); ++i) batch.tokens[i] = int32_t(rng_mix(7 + i) % uint64_t(cfg.vocab));
  batch.lengths.assign(B, T);
  batch.tasks.assign(B, "t");
  for (int b = 0; b < B; ++b)
    for (int p = 0; p + 1 < T; ++p) batch.outputs.push_back({b, p, batch.tokens[size_t(b) * T + p + 1]});

  cuda::CudaContext ctx(0);
  const size_t base = device_used_bytes();
  cuda::LlamaModelCuda dev = cuda::llama_model_cuda_upload(model);
  const size_t with_model = device_used_bytes();
  cuda::LlamaActsCuda acts;
  double total = 0.0;
  float loss = 0.0f;
  for (int s = 0; s <= steps; ++s) {  // step 0 warms up (allocates the activations)
    const auto t0 = std::chrono::steady_clock::now();
    loss = cuda::llama_cuda_forward(dev, batch, acts, {true, uint64_t(s)}, ctx);
    cuda::multilora_cuda_zero_grad(dev.lora, ctx.stream());
    cuda::llama_cuda_backward(dev, acts, ctx);
    ctx.synchronize();
    if (s > 0) total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const size_t with_acts = device_used_bytes();
  const double step_s = total / steps;
  std::printf("\n%-40s %-22s %s\n", "step", "result", "detail");
  std::printf("%-40s %-22.1f B=%d T=%d, %.1f ms/step, loss %.3f\n", "train step tokens/s (fwd+bwd)", B * T / step_s, B,
              T, step_s * 1e3, loss);
  std::printf("%-40s %-22.2f weights bf16 + adapters\n", "device memory: model (GiB)",
              (with_model - base) / 1073741824.0);
  std::printf("%-40s %-22.2f activations kept for backward + scratch\n", "device memory: activations (GiB)",
              (with_acts - with_model) / 1073741824.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const ckf::GpuQuery gq = ckf::gpu_query();
  if (gq.gpus.empty()) {
    std::printf("no usable GPU: %s\n", gq.why_none.c_str());
    return 1;
  }
  const int steps = argc > 1 ? std::atoi(argv[1]) : 5;
  const int B = argc > 2 ? std::atoi(argv[2]) : 8, T = argc > 3 ? std::atoi(argv[3]) : 512;
  if (steps < 1 || B < 1 || T < 2) {
    std::printf("usage: cuda_llama_step_bench [steps>=1] [B>=1] [T>=2]\n");
    return 1;
  }
  try {
    return run(steps, B, T);
  } catch (const std::exception& e) {
    std::printf("cuda_llama_step_bench: %s\n", e.what());
    return 1;
  }
}

#else

int main() {
  std::printf("no usable GPU: %s\n", ckf::gpu_query().why_none.c_str());
  return 1;
}

#endif
