// `ckf plan`: memory per GPU and predicted step time of every TP x DP layout (core/plan.h),
// for one cluster size or a sweep of sizes, with the recommended layout marked.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "core/check.h"
#include "core/plan.h"
#include "io/command_options.h"
#include "launch/command.h"
#include "launch/plan_calibrate.h"

namespace po = boost::program_options;

namespace ckf {

static std::vector<std::string> split_list(const std::string& s, const char* flag) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  CKF_CHECK(!out.empty() || std::string(flag) == "--task-targets", flag << " '" << s << "' is empty");
  return out;
}

static std::vector<int> parse_sweep(const std::string& s) {
  std::vector<int> out;
  for (const std::string& item : split_list(s, "--sweep")) {
    int v = 0;
    try {
      size_t used = 0;
      v = std::stoi(item, &used);
      CKF_CHECK(used == item.size(), "trailing text");
    } catch (const std::exception&) {
      CKF_FAIL("--sweep: '" << item << "' is not an integer");
    }
    CKF_CHECK(v >= 1, "--sweep: GPU count " << v << " must be >= 1");
    out.push_back(v);
  }
  return out;
}

static void print_table(const PlanModel& m, const PlanLora& lora, const PlanMapper& mp, const PlanHardware& hw,
                        const PlanWorkload& w, const std::vector<int>& worlds) {
  std::printf("%5s %5s %3s %4s | %8s %8s %8s %7s %8s %4s | %9s %8s %8s %9s | %10s\n", "GPUs", "nodes", "TP", "DP",
              "weights", "activ", "adapters", "mapper", "total", "fits", "compute", "TP comm", "DP comm", "step",
              "tokens/s");
  std::printf("%5s %5s %3s %4s | %8s %8s %8s %7s %8s %4s | %9s %8s %8s %9s | %10s\n", "", "", "", "", "GB", "GB",
              "GB", "GB", "GB", "", "ms", "ms", "ms", "ms", "");
  for (int world : worlds) {
    PlanHardware h = hw;
    if (world < h.gpus_per_node) h.gpus_per_node = world;  // a part of one node
    const int nodes = (world + h.gpus_per_node - 1) / h.gpus_per_node;
    std::vector<PlanEstimate> est = plan_layouts(m, lora, mp, h, w, world);
    if (est.empty()) std::printf("%5d %5d   no valid TP size (heads, KV heads, d_ffn, vocab, GPUs)\n", world, nodes);
    for (size_t i = 0; i < est.size(); ++i) {
      const PlanEstimate& e = est[i];
      std::printf("%5d %5d %3d %4d | %8.2f %8.2f %8.3f %7.3f %8.2f %4s | %9.2f %8.2f %8.2f %9.2f | %10.0f%s\n", world,
                  nodes, e.layout.tp, e.layout.dp, e.memory.weights / 1e9, e.memory.activations / 1e9,
                  e.memory.adapters / 1e9, e.memory.mapper / 1e9, e.memory.total() / 1e9, e.fits ? "yes" : "NO",
                  e.time.compute * 1e3, e.time.tp_comm * 1e3, e.time.dp_comm * 1e3, e.time.total() * 1e3,
                  e.tokens_per_s, i == 0 && e.fits ? "  <- recommended" : "");
    }
  }
}

static int plan_run(const std::vector<std::string>& args) {
  PlanHardware hw;
  PlanWorkload w;
  PlanLora lora;
  PlanMapper mp;
  std::string model_name, shared_targets, task_targets, sweep;
  int nodes = 1;
  CommandOptions opts("ckf plan", "ckf plan: memory per GPU and predicted step time of each TP x DP layout", true);
  opts.add()
    ("model", po::value(&model_name)->default_value("embedded"),
     "embedded | llama-1b | llama-7b | llama-13b | an INI file with n_layer, d_model, n_head, n_kv_head, d_ffn, vocab")
    ("nodes", po::value(&nodes)->default_value(1), "nodes")
    ("gpus-per-node", po::value(&hw.gpus_per_node)->default_value(8), "GPUs per node (TP stays inside a node)")
    ("sweep", po::value(&sweep), "comma-separated total GPU counts to tabulate instead of --nodes, e.g. 1,2,4,8,16")
    ("gpu-mem-gb", po::value(&hw.gpu_mem_gb)->default_value(141), "GPU memory, GB (H200: 141)")
    ("gpu-tflops", po::value(&hw.gpu_tflops)->default_value(989), "bf16 dense peak TFLOP/s (H100/H200 SXM datasheet: 989)")
    ("efficiency", po::value(&hw.efficiency)->default_value(0.8), "achieved fraction of the peak (assumed; --calibrate measures it on a GPU)")
    ("nvlink-gbps", po::value(&hw.nvlink_gbps)->default_value(450), "NVLink GB/s per direction per GPU")
    ("ib-gbps", po::value(&hw.ib_gbps)->default_value(400), "InfiniBand Gb/s per GPU")
    ("mem-headroom", po::value(&hw.mem_headroom)->default_value(0.1), "fraction of GPU memory kept free")
    ("lora-r", po::value(&lora.r)->default_value(16), "LoRA rank")
    ("shared-targets", po::value(&shared_targets)->default_value("k,v,o"), "projections with task-shared adapters")
    ("task-targets", po::value(&task_targets)->default_value("q"), "projections with per-task adapters")
    ("tasks", po::value(&lora.n_tasks)->default_value(4), "number of tasks")
    ("d-cf", po::value(&mp.d_cf)->default_value(64), "CF embedding size (mapper)")
    ("seq", po::value(&w.seq)->default_value(512), "tokens per sample")
    ("batch", po::value(&w.batch)->default_value(8), "samples per replica per step (micro-batch)")
    ("attn-probs", po::bool_switch(&w.attention_probs_saved), "count saved attention probabilities (non-flash attention)")
    ("calibrate", "measure GEMM rates here: cuBLAS bf16 on a GPU replaces --efficiency; CPU sgemm is reported");
  if (!opts.parse(args)) return 0;
  CKF_CHECK(nodes >= 1, "--nodes " << nodes << " must be >= 1");
  CKF_CHECK(hw.gpus_per_node >= 1, "--gpus-per-node " << hw.gpus_per_node << " must be >= 1");
  CKF_CHECK(w.seq >= 1 && w.batch >= 1, "--seq and --batch must be >= 1");
  CKF_CHECK(lora.r >= 1 && lora.n_tasks >= 1, "--lora-r and --tasks must be >= 1");
  CKF_CHECK(hw.efficiency > 0 && hw.efficiency <= 1, "--efficiency " << hw.efficiency << " must be in (0, 1]");
  CKF_CHECK(hw.gpu_tflops > 0 && hw.nvlink_gbps > 0 && hw.ib_gbps > 0 && hw.gpu_mem_gb > 0,
            "--gpu-tflops, --nvlink-gbps, --ib-gbps and --gpu-mem-gb must be positive");
  lora.shared_targets = split_list(shared_targets, "--shared-targets");
  lora.task_targets = split_list(task_targets, "--task-targets");

  const bool preset = model_name.find('/') == std::string::npos && model_name.find('.') == std::string::npos;
  PlanModel m = preset ? plan_model_preset(model_name) : plan_model_from_file(model_name);
  for (const auto* set : {&lora.shared_targets, &lora.task_targets})
    for (const std::string& t : *set) plan_proj_shape(m, t);  // rejects unknown target names

  std::cout << "model " << m.name << ": " << m.n_layer << " layers, d " << m.d_model << ", heads " << m.n_head << "/"
            << m.n_kv_head << " kv, ffn " << m.d_ffn << ", vocab " << m.vocab << ", "
            << double(plan_param_count(m).sharded + plan_param_count(m).replicated) / 1e9 << " B params\n";
  std::cout << "LoRA r " << lora.r << " shared on " << shared_targets << ", per task on " << task_targets << ", "
            << lora.n_tasks << " tasks; mapper " << plan_mapper_params(mp, m.d_model) << " params; seq " << w.seq
            << " x batch " << w.batch << " per replica\n";

  if (opts.given("calibrate")) {
    // The model's MLP up-projection at one replica's tokens: (T, d) @ (d, ffn). The CPU run uses at
    // most 256 rows so that a 7B shape takes seconds, not minutes.
    const int T = int(w.seq * w.batch), d = int(m.d_model), ffn = int(m.d_ffn), cpu_rows = std::min(T, 256);
    double cpu = calibrate_cpu_gflops(cpu_rows, ffn, d);
    std::cout << "calibration: CPU sgemm (" << cpu_rows << " x " << d << ") @ (" << d << " x " << ffn << ") here: " << cpu
              << " GFLOP/s (applies to CPU runs of ckf only)\n";
    std::string why_not;
    double gpu = calibrate_gpu_tflops(T, ffn, d, why_not);
    if (gpu > 0) {
      hw.efficiency = std::min(1.0, gpu / hw.gpu_tflops);
      std::cout << "calibration: cuBLAS bf16 (" << T << " x " << d << ") @ (" << d << " x " << ffn << ") on GPU 0: " << gpu
                << " TFLOP/s = " << hw.efficiency << " of --gpu-tflops " << hw.gpu_tflops << "; used as the compute rate\n";
    } else {
      std::cout << "calibration: no GPU measurement (" << why_not << ")\n";
    }
  }
  std::cout << "GPU compute rate: " << hw.gpu_tflops << " TFLOP/s x efficiency " << hw.efficiency << " = "
            << hw.gpu_tflops * hw.efficiency << " TFLOP/s"
            << (opts.given("calibrate") && hw.efficiency != opts.values()["efficiency"].as<double>() ? " (measured)"
                                                                                        : " (assumed datasheet rate, not measured)")
            << "; NVLink " << hw.nvlink_gbps << " GB/s, IB " << hw.ib_gbps << " Gb/s per GPU; " << hw.gpu_mem_gb
            << " GB per GPU, " << hw.mem_headroom * 100 << "% kept free\n";
  std::cout << "step = compute + TP comm + DP comm (no overlap assumed); compute = 4 N T/tp (frozen base: forward 2NT,"
               " input grads 2NT) + 12 T s d L/tp (attention) + 6 T P_lora\n\n";

  std::vector<int> worlds = opts.given("sweep") ? parse_sweep(sweep) : std::vector<int>{nodes * hw.gpus_per_node};
  print_table(m, lora, mp, hw, w, worlds);
  return 0;
}

CKF_COMMAND("plan", "predicted memory per GPU and step time for each TP x DP layout of a cluster", plan_run);

}  // namespace ckf
