// One Multi-LoRA training step of the device decoder (core/cuda/llama_model_cuda.h) with random
// bf16 weights: forward, backward, and the optimizer step `ckf train --device cuda` runs over every
// LoRA parameter (core/cuda/optimizer_cuda.h's AdamWCuda: the fp64 gradient norm, one 8-byte
// read-back, one AdamW launch that clips, updates and zeroes the gradients; train defaults: lr 1e-4
// cosine, betas 0.9/0.999, eps 1e-8, no weight decay, clip 1.0). Adapters are the train defaults
// (core/train/train_config.h): shared k, v, o + one task's q, r 16, alpha 64, dropout 0.1; every
// sequence belongs to that task ("ctr"), so a token meets exactly the adapters a CKF sample meets.
// No soft tokens (text only). B random sequences of T tokens; the loss is on the last `answers`
// positions of each sequence (a CKF sample's short answer), the LM head runs on those rows only.
// tests/bench/peft_gpu_bench.py is the PyTorch + PEFT peer: same shapes, adapters, batch, loss
// rows, FLOP formula and output line.
//
// Configurations (--config):
//   smollm2-135m  the embedded model (SmolLM2-135M-Instruct GGUF metadata: V 49152, C 576, L 30,
//                 H 9, KVH 3, D 64, F 1536, rope 1e5, rms eps 1e-5, tied embeddings)
//   llama-1b      LLaMA-3.2-1B's shape (V 128256, C 2048, L 16, H 32, KVH 8, D 64, F 8192,
//                 rope 5e5, tied embeddings as its config.json says; llama3 rope scaling is left out:
//                 it changes no shape or FLOP)
//   tiny          a toy shape for the CUDA emulator (CKF_CUDA=EMU): proves the code path, its numbers mean nothing
//
// B "auto" (the default, but for tiny) fills the device: the activation memory of one step is measured at
// B = 1 and B = 2 and modelled as fixed + per_seq * B; B is the largest value whose modelled memory
// fits in --fill (0.9) of the memory left free after the weights are uploaded, capped at
// --max-tokens / T.
//
// Timing: CUDA events around the timed steps, after --warmup steps; the host work of each step
// (batch packing, the forward's read-back of the losses, the optimizer's read-back of the gradient
// norm) is inside the measured time.
// Memory: peak_mib = device memory in use (cudaMemGetInfo: total - free) after the timed steps
// minus before the upload; the step allocates nothing transiently (activation buffers are sized
// once and kept), so this is the step's high-water mark (cuBLAS's workspace, allocated by the GEMM
// peak before, is not in it: a few MiB).
// MFU = model FLOPs per step (step_model_flops below) / step time / gemm_peak, gemm_peak = the best
// of 5 timed rounds of a bf16 (fp32-accumulate) cuBLAS GEMM of --peak-n^3 in this binary.
//
// Output: one machine-readable line per result, `gemm ...` and `step ...`.
// Usage: cuda_llama_step_bench [--config smollm2-135m|llama-1b|tiny] [--B auto|N] [--T N]
//          [--answers K] [--steps N] [--warmup N] [--fill F] [--max-tokens N] [--peak-n N]
// Exit 1 without a usable GPU, on a bad flag, or on any failure.
#include <cstdio>
#include <cstdlib>

#include "kernels/device.h"

#ifdef CKF_WITH_CUDA

#include <algorithm>
#include <cmath>
#include <exception>
#include <iomanip>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/check.h"
#include "core/cuda/llama_model_cuda.h"
#include "core/cuda/multi_lora_cuda.h"
#include "core/cuda/optimizer_cuda.h"
#include "core/rng.h"
#include "kernels/cuda/gemm.h"

using namespace ckf;

namespace {

struct BenchOptions {
  std::string config = "smollm2-135m";
  int B = 0;  // 0: auto
  int T = 1024;
  int answers = 4;
  int steps = 5;
  int warmup = 2;
  double fill = 0.9;
  int64_t max_tokens = int64_t{1} << 18;
  int peak_n = 8192;
};

LlamaConfig bench_config(const std::string& name) {
  if (name == "smollm2-135m")
    return {.vocab = 49152, .d_model = 576, .n_layers = 30, .n_heads = 9, .n_kv_heads = 3, .head_dim = 64,
            .ffn = 1536, .rms_eps = 1e-5f, .rope_theta = 100000.0f, .tie_embeddings = true, .max_seq = 8192};
  if (name == "llama-1b")
    return {.vocab = 128256, .d_model = 2048, .n_layers = 16, .n_heads = 32, .n_kv_heads = 8, .head_dim = 64,
            .ffn = 8192, .rms_eps = 1e-5f, .rope_theta = 500000.0f, .tie_embeddings = true, .max_seq = 131072};
  if (name == "tiny")
    return {.vocab = 512, .d_model = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .head_dim = 16, .ffn = 96,
            .rms_eps = 1e-5f, .rope_theta = 10000.0f, .tie_embeddings = true, .max_seq = 1024};
  CKF_CHECK(false, "--config: unknown configuration '" << name << "' (smollm2-135m, llama-1b, tiny)");
  return {};
}

// Parses --name value / --name=value pairs; throws naming the flag.
BenchOptions parse_options(int argc, char** argv) {
  std::map<std::string, std::string> kv;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    CKF_CHECK(a.rfind("--", 0) == 0, "unexpected argument '" << a << "' (flags are --name value)");
    const size_t eq = a.find('=');
    if (eq != std::string::npos) {
      kv[a.substr(2, eq - 2)] = a.substr(eq + 1);
    } else {
      CKF_CHECK(i + 1 < argc, a << " needs a value");
      kv[a.substr(2)] = argv[++i];
    }
  }
  BenchOptions o;
  if (kv.count("config") && kv["config"] == "tiny") {  // sized for the emulator
    o.B = 2;
    o.T = 32;
    o.steps = 2;
    o.warmup = 1;
    o.peak_n = 128;
  }
  auto num = [&](const std::string& flag, double lo, double hi, auto& dst) {
    auto it = kv.find(flag);
    if (it == kv.end()) return;
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    constexpr bool integral = std::is_integral_v<std::remove_reference_t<decltype(dst)>>;
    CKF_CHECK(end && *end == '\0' && !it->second.empty() && (!integral || v == std::floor(v)) && v >= lo && v <= hi,
              "--" << flag << ": '" << it->second << "' is not " << (integral ? "an integer" : "a number") << " in ["
                   << std::setprecision(15) << lo << ", " << hi << "]");
    dst = static_cast<std::remove_reference_t<decltype(dst)>>(v);
    kv.erase(it);
  };
  if (kv.count("config")) {
    o.config = kv["config"];
    kv.erase("config");
  }
  bench_config(o.config);  // throws on an unknown name
  if (kv.count("B") && kv["B"] == "auto") {
    o.B = 0;
    kv.erase("B");
  }
  num("B", 1, 1000000, o.B);
  num("T", 2, 1000000, o.T);
  num("answers", 1, 1000000, o.answers);
  num("steps", 1, 10000, o.steps);
  num("warmup", 0, 10000, o.warmup);
  num("fill", 0.05, 0.99, o.fill);
  num("max-tokens", 2, 1e12, o.max_tokens);
  num("peak-n", 16, 32768, o.peak_n);
  CKF_CHECK(kv.empty(), "unknown flag --" << kv.begin()->first);
  CKF_CHECK(o.answers < o.T, "--answers " << o.answers << " must be below --T " << o.T);
  return o;
}

// Model FLOPs of one training step (the same formula as peft_gpu_bench.py's step_model_flops), with
// N = B*T tokens and M = B*answers loss rows; a GEMM of (m, k) x (k, n) counts 2*m*k*n:
//   linear  forward 2*N*L*(C*H*D + 2*C*KVH*D + H*D*C + 3*C*F)         (q, k, v, o, gate, up, down)
//   attn    forward 2*L*B*H*D*T*(T+1)   (causal: query t meets t+1 keys; QK^T and PV, 2*D each)
//   lora    forward 2*N*L*sum over adapters of r*(in + out)
//   head    forward 2*M*C*V             (the LM head runs on the loss rows only)
//   step = 2*linear + 3*attn + 3*lora + 2*head
// Backward: frozen weights get input gradients only (1x forward each); attention needs dQ, dK, dV
// (2x forward); LoRA computes input and weight gradients (2x forward). Not counted: the
// flash-attention backward's recomputation of QK^T (hardware work, not model work), norms, RoPE,
// SwiGLU, softmax, the optimizer, and ckf's one-hot scatter GEMM of the head's gradient.
// Checked against torch.utils.flop_counter on the PyTorch peer (tiny config, two batch shapes): its
// GEMM count equals this one but for attention (it counts T^2, not causal), one more head row, and
// layer 0's q, k, v input gradients, which autograd skips on a text-only input (ckf computes them:
// soft tokens need them) and this formula counts.
double step_model_flops(const LlamaConfig& c, const LoraSpec& shared, const LoraSpec& task, int B, int T,
                        int answers) {
  const double N = double(B) * T, M = double(B) * answers, C = c.d_model, L = c.n_layers, H = c.n_heads,
               KVH = c.n_kv_heads, D = c.head_dim, F = c.ffn, V = c.vocab;
  const double linear = 2 * N * L * (C * H * D + 2 * C * KVH * D + H * D * C + 3 * C * F);
  const double attn = 2 * L * B * H * D * double(T) * (T + 1);
  double lora_rin_out = 0;  // sum over adapters of r * (in + out)
  for (const LoraSpec* s : {&shared, &task})
    for (LoraTarget t : s->targets) {
      const double q = H * D, kv = KVH * D;
      const double in_out[] = {C + q, C + kv, C + kv, q + C, C + F, C + F, F + C};  // LoraTarget order
      lora_rin_out += s->r * in_out[static_cast<int>(t)];
    }
  const double lora = 2 * N * L * lora_rin_out;
  const double head = 2 * M * C * V;
  return 2 * linear + 3 * attn + 3 * lora + 2 * head;
}

size_t device_used_bytes() {
  size_t free = 0, total = 0;
  CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return total - free;
}

class EventTimer {
 public:
  explicit EventTimer(cudaStream_t s) : stream_(s) {
    CUDA_CHECK(cudaEventCreate(&start_));
    CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~EventTimer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  void start() { CUDA_CHECK(cudaEventRecord(start_, stream_)); }
  double stop_seconds() {
    CUDA_CHECK(cudaEventRecord(stop_, stream_));
    CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0.0f;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return ms * 1e-3;
  }

 private:
  cudaStream_t stream_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// Best of 5 rounds of 10 bf16 GEMMs n^3 (fp32 accumulate, bf16 out), in TFLOP/s.
double gemm_peak_tflops(const cuda::CudaContext& ctx, int n) {
  std::vector<float> host(size_t(n) * n);
  rng_fill_uniform(host.data(), int64_t(host.size()), -1.0f, 1.0f, 3, 0);
  cuda::DeviceBuffer<cuda::Bf16> a(host.size()), b(host.size()), c(host.size());
  cuda::bf16_upload(a.data(), host.data(), host.size());
  rng_fill_uniform(host.data(), int64_t(host.size()), -1.0f, 1.0f, 3, 1);
  cuda::bf16_upload(b.data(), host.data(), host.size());
  auto run = [&] {
    cuda::gemm(ctx.cublas(), c.data(), cuda::GemmType::bf16, a.data(), b.data(), cuda::GemmType::bf16, n, n, n, false,
               true);
  };
  run();
  EventTimer timer(ctx.stream());
  double best = 0.0;
  for (int round = 0; round < 5; ++round) {
    timer.start();
    for (int i = 0; i < 10; ++i) run();
    best = std::max(best, 10 * 2.0 * n * n * double(n) / timer.stop_seconds() / 1e12);
  }
  return best;
}

LlamaBatch random_batch(const LlamaConfig& cfg, int B, int T, int answers, const std::string& task) {
  LlamaBatch batch;
  batch.B = B;
  batch.T = T;
  batch.tokens.resize(size_t(B) * T);
  for (size_t i = 0; i < batch.tokens.size(); ++i) batch.tokens[i] = int32_t(rng_mix(7 + i) % uint64_t(cfg.vocab));
  batch.lengths.assign(B, T);
  batch.tasks.assign(B, task);
  for (int b = 0; b < B; ++b)
    for (int p = T - 1 - answers; p < T - 1; ++p) batch.outputs.push_back({b, p, batch.tokens[size_t(b) * T + p + 1]});
  return batch;
}

struct StepRunner {
  LlamaModel host;
  cuda::LlamaModelCuda dev;
  std::optional<cuda::AdamWCuda> opt;  // over multilora_cuda_tensors, after the upload
  float loss = 0.0f;
  StepResult last;  // of the latest optimizer step

  // One training step on acts; asynchronous after the optimizer's read-back of the gradient norm.
  void step(const LlamaBatch& batch, cuda::LlamaActsCuda& acts, uint64_t seed, const cuda::CudaContext& ctx) {
    loss = cuda::llama_cuda_forward(dev, batch, acts, {true, seed}, ctx);
    cuda::llama_cuda_backward(dev, acts, ctx);
    last = opt->step([](double local) { return local; }, ctx.stream());  // one rank: the local sum is global
  }
};

// ckf train's optimizer defaults (core/train/train_config.cpp); the cosine schedule spans its
// default 100 steps.
OptimizerConfig train_default_optimizer() {
  OptimizerConfig cfg;
  cfg.schedule.total_steps = 100;
  return cfg;
}

// Device bytes one step's activations and scratch hold at batch B (measured, then freed).
size_t activation_bytes(StepRunner& r, const BenchOptions& o, int B, const cuda::CudaContext& ctx) {
  const size_t before = device_used_bytes();
  cuda::LlamaActsCuda acts;
  r.step(random_batch(r.host.config, B, o.T, o.answers, "ctr"), acts, 1, ctx);
  ctx.synchronize();
  return device_used_bytes() - before;
}

int auto_batch(StepRunner& r, const BenchOptions& o, const cuda::CudaContext& ctx) {
  const double a1 = double(activation_bytes(r, o, 1, ctx)), a2 = double(activation_bytes(r, o, 2, ctx));
  const double per_seq = std::max(1.0, a2 - a1), fixed = std::max(0.0, a1 - per_seq);
  size_t free = 0, total = 0;
  CUDA_CHECK(cudaMemGetInfo(&free, &total));
  const double budget = o.fill * double(free) - fixed;
  const double b = std::min(1e9, std::max(0.0, budget) / per_seq);  // largest B with per_seq * B <= budget
  const int cap = int(std::max<int64_t>(1, o.max_tokens / o.T));
  std::printf("auto_batch per_seq_mib=%.1f fixed_mib=%.1f free_mib=%.0f fill=%.2f fits_B=%d cap_B=%d\n",
              per_seq / 1048576.0, fixed / 1048576.0, free / 1048576.0, o.fill, int(b), cap);
  CKF_CHECK(b >= 1.0, "--B auto: not even one sequence of " << o.T << " tokens fits in " << o.fill
                                                            << " of the free device memory");
  return std::min(int(b), cap);
}

int run(const BenchOptions& o) {
  cuda::CudaContext ctx(0);
  const double peak = gemm_peak_tflops(ctx, o.peak_n);
  std::printf("gemm n=%d peak_tflops=%.1f\n", o.peak_n, peak);
  std::fflush(stdout);

  const size_t base = device_used_bytes();
  StepRunner r;
  r.host.config = bench_config(o.config);
  r.host.weights = llama_weights_random(r.host.config, 1);
  r.host.lora = multilora_create(r.host.config, lora_spec_shared_default(), lora_spec_task_default(), {"ctr"}, 2);
  r.dev = cuda::llama_model_cuda_upload(r.host);
  r.host.weights = LlamaWeights{};  // the host copy is no longer needed
  r.opt.emplace(cuda::multilora_cuda_tensors(r.dev.lora, r.host.lora), train_default_optimizer());
  const size_t with_model = device_used_bytes();

  const int B = o.B > 0 ? o.B : auto_batch(r, o, ctx);
  const LlamaBatch batch = random_batch(r.dev.config, B, o.T, o.answers, "ctr");
  cuda::LlamaActsCuda acts;
  for (int s = 0; s < o.warmup; ++s) r.step(batch, acts, 100 + s, ctx);
  EventTimer timer(ctx.stream());
  timer.start();
  for (int s = 0; s < o.steps; ++s) r.step(batch, acts, 200 + s, ctx);
  const double step_s = timer.stop_seconds() / o.steps;
  const size_t peak_bytes = device_used_bytes() - base;

  const double flops = step_model_flops(r.dev.config, r.dev.lora.shared_spec, r.dev.lora.task_spec, B, o.T, o.answers);
  const double tflops = flops / step_s / 1e12;
  std::printf("step impl=ckf config=%s B=%d T=%d answers=%d steps=%d tokens_per_s=%.1f ms_per_step=%.2f "
              "peak_mib=%.0f model_mib=%.0f lora_params=%lld flops_per_step=%.4e tflops=%.2f gemm_peak_tflops=%.1f "
              "mfu=%.4f loss=%.4f\n",
              o.config.c_str(), B, o.T, o.answers, o.steps, double(B) * o.T / step_s, step_s * 1e3,
              peak_bytes / 1048576.0, (with_model - base) / 1048576.0,
              static_cast<long long>(r.dev.lora.params.size()), flops, tflops, peak, tflops / peak, r.loss);
  CKF_CHECK(std::isfinite(r.loss), "the training loss is not finite: " << r.loss);
  CKF_CHECK(r.last.applied, "the last optimizer step was skipped: gradient norm " << r.last.grad_norm);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const BenchOptions o = parse_options(argc, argv);
    const ckf::GpuQuery gq = ckf::gpu_query();
    if (gq.gpus.empty()) {
      std::printf("no usable GPU: %s\n", gq.why_none.c_str());
      return 1;
    }
    return run(o);
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
