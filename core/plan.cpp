#include "core/plan.h"

#include <algorithm>
#include <fstream>
#include <map>

#include "core/check.h"
#include "core/mapper.h"

namespace ckf {

PlanModel plan_model_preset(const std::string& name) {
  // Sizes from each model's config.json.
  if (name == "embedded") return {"embedded (SmolLM2-135M)", 30, 576, 9, 3, 1536, 49152, true};
  if (name == "llama-1b") return {"llama-1b (Llama 3.2 1B)", 16, 2048, 32, 8, 8192, 128256, true};
  if (name == "llama-7b") return {"llama-7b", 32, 4096, 32, 32, 11008, 32000, false};
  if (name == "llama-13b") return {"llama-13b", 40, 5120, 40, 40, 13824, 32000, false};
  CKF_FAIL("--model '" << name << "': expected embedded, llama-1b, llama-7b, llama-13b or a sizes file");
}

PlanModel plan_model_from_file(const std::string& path) {
  std::ifstream in(path);
  CKF_CHECK(in, "cannot read model sizes file '" << path << "'");
  std::map<std::string, std::string> kv;
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find_first_of("#;"));
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;  // blank lines and [section] headers
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t\r"));
      s.erase(s.find_last_not_of(" \t\r") + 1);
      return s;
    };
    kv[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  PlanModel m;
  m.name = kv.count("name") ? kv["name"] : path;
  auto get = [&](const char* key) -> int64_t {
    CKF_CHECK(kv.count(key), "model sizes file '" << path << "': missing '" << key << "'");
    int64_t v = 0;
    try {
      size_t used = 0;
      v = std::stoll(kv[key], &used);
      CKF_CHECK(used == kv[key].size(), "trailing text");
    } catch (const std::exception&) {
      CKF_FAIL("model sizes file '" << path << "': '" << key << "' = '" << kv[key] << "' is not an integer");
    }
    CKF_CHECK(v > 0, "model sizes file '" << path << "': '" << key << "' must be positive, got " << v);
    return v;
  };
  m.n_layer = get("n_layer");
  m.d_model = get("d_model");
  m.n_head = get("n_head");
  m.n_kv_head = get("n_kv_head");
  m.d_ffn = get("d_ffn");
  m.vocab = get("vocab");
  m.tied_embeddings = kv.count("tied_embeddings") && (kv["tied_embeddings"] == "true" || kv["tied_embeddings"] == "1");
  CKF_CHECK(m.d_model % m.n_head == 0, "model sizes file '" << path << "': d_model " << m.d_model
                                                             << " is not a multiple of n_head " << m.n_head);
  CKF_CHECK(m.n_head % m.n_kv_head == 0, "model sizes file '" << path << "': n_head " << m.n_head
                                                               << " is not a multiple of n_kv_head " << m.n_kv_head);
  return m;
}

ProjShape plan_proj_shape(const PlanModel& m, const std::string& proj) {
  const int64_t kv_dim = m.n_kv_head * (m.d_model / m.n_head);
  if (proj == "q") return {m.d_model, m.d_model, false};
  if (proj == "k" || proj == "v") return {m.d_model, kv_dim, false};
  if (proj == "o") return {m.d_model, m.d_model, true};
  if (proj == "gate" || proj == "up") return {m.d_model, m.d_ffn, false};
  if (proj == "down") return {m.d_ffn, m.d_model, true};
  CKF_FAIL("LoRA target '" << proj << "': expected one of q,k,v,o,gate,up,down");
}

PlanParamCount plan_param_count(const PlanModel& m) {
  int64_t per_layer = 0;
  for (const char* p : {"q", "k", "v", "o", "gate", "up", "down"}) {
    ProjShape s = plan_proj_shape(m, p);
    per_layer += s.in * s.out;
  }
  PlanParamCount c;
  c.matmul = m.n_layer * per_layer;
  c.sharded = c.matmul + m.vocab * m.d_model * (m.tied_embeddings ? 1 : 2);
  c.replicated = m.n_layer * 2 * m.d_model + m.d_model;  // two RMSNorms per layer + final norm
  return c;
}

int64_t plan_lora_params_per_gpu(const PlanModel& m, int r, const std::vector<std::string>& targets, int tp) {
  int64_t per_layer = 0;
  for (const std::string& t : targets) {
    ProjShape s = plan_proj_shape(m, t);
    // column-parallel base: A (r, in) replicated, B (out/tp, r); row-parallel: A (r, in/tp), B (out, r)
    per_layer += s.row_parallel ? r * (s.in / tp + s.out) : r * (s.in + s.out / tp);
  }
  return m.n_layer * per_layer;
}

int64_t plan_mapper_params(const PlanMapper& mp, int64_t d_model) {
  MapperConfig cfg;
  cfg.d_cf = mp.d_cf;
  cfg.d_model = static_cast<int>(d_model);
  cfg.meta_hidden = mp.meta_hidden;
  cfg.proj_hidden = mp.proj_hidden;
  Mapper mapper = mapper_create(cfg);
  int64_t n = 0;
  for (const Param* p : mapper_params(mapper)) n += p->value.numel();
  return n;
}

std::vector<int> plan_valid_tp(const PlanModel& m, int gpus_per_node, int world) {
  std::vector<int> out;
  for (int tp = 1; tp <= std::min(gpus_per_node, world); ++tp)
    if (world % tp == 0 && m.n_head % tp == 0 && m.n_kv_head % tp == 0 && m.d_ffn % tp == 0 && m.vocab % tp == 0)
      out.push_back(tp);
  return out;
}

double plan_allreduce_seconds(double bytes, int n, double bytes_per_s, double latency_s) {
  if (n <= 1) return 0;
  return latency_s + 2.0 * (n - 1) / n * bytes / bytes_per_s;
}

// Activation bytes per GPU kept for backward (recompute off), per token and layer in bf16:
//   4 d            replicated: input and output of both RMSNorms (TP without sequence parallelism)
//   (2 d + 2 kv + 3 ffn) / tp   q, k, v, attention output, gate, up, swiglu output (sharded by TP)
//   r * targets    LoRA A x intermediates (r wide, replicated)
//   heads/tp * seq only when attention probabilities are saved (non-flash attention)
// plus 8 bytes of fp32 rstd per layer and token, and 2 d at the final norm.
static double activation_bytes(const PlanModel& m, const PlanLora& lora, const PlanWorkload& w, int tp) {
  const double d = m.d_model, kv = m.n_kv_head * (m.d_model / m.n_head), ffn = m.d_ffn;
  const double lora_targets = lora.shared_targets.size() + lora.task_targets.size();
  double per_layer = 4 * d + (2 * d + 2 * kv + 3 * ffn) / tp + lora.r * lora_targets;
  if (w.attention_probs_saved) per_layer += double(m.n_head) / tp * w.seq;
  const double tokens = double(w.seq) * w.batch;
  return tokens * (m.n_layer * (2 * per_layer + 8) + 2 * 2 * d);
}

PlanEstimate plan_estimate(const PlanModel& m, const PlanLora& lora, const PlanMapper& mp, const PlanHardware& hw,
                           const PlanWorkload& w, const PlanLayout& layout) {
  const int tp = layout.tp, dp = layout.dp;
  CKF_CHECK(tp >= 1 && dp >= 1, "layout tp " << tp << " x dp " << dp << ": both must be >= 1");
  PlanEstimate e;
  e.layout = layout;
  const PlanParamCount base = plan_param_count(m);
  const int64_t shared = plan_lora_params_per_gpu(m, lora.r, lora.shared_targets, tp);
  const int64_t task = plan_lora_params_per_gpu(m, lora.r, lora.task_targets, tp);
  // Task pinning: a replica holds the adapters of its own tasks only.
  const int tasks_per_replica = (lora.n_tasks + dp - 1) / dp;
  const int64_t mapper = plan_mapper_params(mp, m.d_model);

  e.memory.weights = 2.0 * (double(base.sharded) / tp + double(base.replicated));
  e.memory.activations = activation_bytes(m, lora, w, tp);
  e.memory.adapters = 16.0 * double(shared + tasks_per_replica * task);
  e.memory.mapper = 16.0 * double(mapper);
  e.fits = e.memory.total() <= hw.gpu_mem_gb * 1e9 * (1 - hw.mem_headroom);

  // FLOPs per GPU, T = seq * batch tokens per replica:
  //   frozen projections 4 N T / tp  (forward 2 N T, backward input gradients 2 N T, no weight gradients)
  //   attention 12 T seq d L / tp    (forward QK^T and PV: 4 T seq d per layer, backward twice that)
  //   LoRA 6 T P                     (P adapter params one sample passes through on this GPU: forward,
  //                                   input gradients and weight gradients, 2 T P each)
  // The LM head runs only at answer positions and the mapper on a few tokens: both left out.
  const double T = double(w.seq) * w.batch;
  e.flops_per_gpu = 4.0 * double(base.matmul) / tp * T + 12.0 * T * w.seq * m.d_model * m.n_layer / tp +
                    6.0 * T * double(shared + task);
  e.time.compute = e.flops_per_gpu / (hw.gpu_tflops * 1e12 * hw.efficiency);

  // TP: per layer 2 all-reduces of (T, d) bf16 forward (o, down) and 2 backward (input gradients of
  // q/k/v and gate/up), one more for the vocab-parallel embedding; row-parallel LoRA adds an
  // r-wide all-reduce per adapted o/down projection forward.
  const double nvlink = hw.nvlink_gbps * 1e9, nvlink_lat = hw.nvlink_latency_us * 1e-6;
  int row_lora = 0;
  for (const auto* set : {&lora.shared_targets, &lora.task_targets})
    for (const std::string& t : *set) row_lora += plan_proj_shape(m, t).row_parallel;
  e.time.tp_comm = (4 * m.n_layer + 1) * plan_allreduce_seconds(2 * T * m.d_model, tp, nvlink, nvlink_lat) +
                   row_lora * m.n_layer * plan_allreduce_seconds(2 * T * lora.r, tp, nvlink, nvlink_lat);

  // DP: fp32 gradients of the trainable parameters only. Shared adapters and mapper over all dp
  // replicas; task adapters over the replicas of their task (dp / n_tasks of them). A group that
  // spans more GPUs than a node goes over InfiniBand, each TP rank on its own NIC.
  auto dp_link = [&](int group) {
    bool crosses = int64_t(group) * tp > hw.gpus_per_node;
    return std::pair{crosses ? hw.ib_gbps / 8 * 1e9 : nvlink, (crosses ? hw.ib_latency_us : hw.nvlink_latency_us) * 1e-6};
  };
  auto [bw_all, lat_all] = dp_link(dp);
  e.time.dp_comm = plan_allreduce_seconds(4.0 * double(shared + mapper), dp, bw_all, lat_all);
  const int task_group = std::max(1, dp / lora.n_tasks);
  auto [bw_task, lat_task] = dp_link(task_group);
  e.time.dp_comm += plan_allreduce_seconds(4.0 * double(tasks_per_replica * task), task_group, bw_task, lat_task);

  e.tokens_per_s = dp * T / e.time.total();
  return e;
}

std::vector<PlanEstimate> plan_layouts(const PlanModel& m, const PlanLora& lora, const PlanMapper& mp,
                                       const PlanHardware& hw, const PlanWorkload& w, int world) {
  std::vector<PlanEstimate> out;
  for (int tp : plan_valid_tp(m, hw.gpus_per_node, world)) out.push_back(plan_estimate(m, lora, mp, hw, w, {tp, world / tp}));
  std::stable_sort(out.begin(), out.end(), [](const PlanEstimate& a, const PlanEstimate& b) {
    if (a.fits != b.fits) return a.fits;
    return a.tokens_per_s > b.tokens_per_s;
  });
  return out;
}

}  // namespace ckf
