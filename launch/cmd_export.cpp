// `ckf export`: one task's trained adapters as a Hugging Face PEFT LoRA adapter directory
// (io/peft_export.h: adapter_config.json, adapter_model.safetensors, and mapper.safetensors for
// the CKF mapper, which PEFT has no place for). The model is set up from the training
// configuration as `ckf train` and `ckf eval` set it up (train/train_model.h) on one process with
// every task's adapters, and filled from the checkpoint.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>

#include "core/check.h"
#include "dist/mpi_communicator.h"
#include "dist/process_grid.h"
#include "dist/world.h"
#include "io/checkpoint.h"
#include "io/command_options.h"
#include "io/peft_export.h"
#include "launch/command.h"
#include "core/train/train_config.h"
#include "core/train/train_model.h"

namespace ckf {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

struct ExportOptions {
  std::string config, ckpt, task, format = "peft", out;
};

// Returns false for --help.
bool export_options_parse(const std::vector<std::string>& args, ExportOptions& o) {
  CommandOptions opts("ckf export", "ckf export: a task's adapters in a standard format", false);
  opts.add()
      ("ckpt", po::value(&o.ckpt), "a checkpoint step directory, or a checkpoint directory (its newest intact step)")
      ("task", po::value(&o.task), "the task whose adapters (with the shared set) are exported")
      ("format", po::value(&o.format)->default_value(o.format), "peft: a Hugging Face PEFT LoRA adapter directory")
      ("out", po::value(&o.out), "the output directory (replaced atomically when it exists)")
      ("config", po::value(&o.config), "the training configuration (INI); default: the one the checkpoint records");
  if (!opts.parse(args)) return false;
  CKF_CHECK(!o.ckpt.empty(), "ckf export: --ckpt DIR is required");
  CKF_CHECK(!o.task.empty(), "ckf export: --task NAME is required");
  CKF_CHECK(!o.out.empty(), "ckf export: --out DIR is required");
  CKF_CHECK(o.format == "peft", "ckf export: --format '" << o.format << "': expected peft");
  return true;
}

// --config, or the configuration the checkpoint recorded (parsed through a temporary file, since
// the parser reads INI files).
TrainConfig export_config(const ExportOptions& o, const FoundCheckpoint& ck) {
  TrainConfig cfg;
  if (!o.config.empty()) {
    train_config_parse({"--config", o.config}, cfg, std::cout);
    return cfg;
  }
  const std::string& text = ck.manifest.meta.config_text;
  CKF_CHECK(!text.empty(), ck.path << ": the manifest records no configuration: give --config");
  const fs::path tmp = fs::temp_directory_path() / ("ckf-export-config-" + std::to_string(::getpid()) + ".ini");
  {
    std::ofstream f(tmp);
    f << text;
    CKF_CHECK(f.flush(), "write " << tmp);
  }
  try {
    train_config_parse({"--config", tmp.string()}, cfg, std::cout);
  } catch (const Error& e) {
    fs::remove(tmp);
    CKF_FAIL(ck.path << ": the recorded configuration: " << e.what());
  }
  fs::remove(tmp);
  return cfg;
}

int export_command(const std::vector<std::string>& args) {
  ExportOptions o;
  if (!export_options_parse(args, o)) return 0;
  const FoundCheckpoint ck = checkpoint_pick(o.ckpt);
  const TrainConfig cfg = export_config(o, ck);
  CKF_CHECK(std::find(cfg.tasks.begin(), cfg.tasks.end(), o.task) != cfg.tasks.end(),
            "--task '" << o.task << "': not a task of the configuration");
  world_init(nullptr, nullptr);
  {
    std::unique_ptr<MpiCommunicator> world = MpiCommunicator::world();
    CKF_CHECK(world->size() == 1, "ckf export runs on one process (got " << world->size() << ")");
    TaskPlacement everywhere{1, cfg.tasks, std::vector<std::vector<int>>(cfg.tasks.size(), {0})};
    const LlamaConfig lc = train_llama_config(cfg);
    ProcessGrid grid(*world, 1, TpSplitDims{lc.n_heads, lc.n_kv_heads, lc.vocab, lc.ffn}, everywhere);
    std::unique_ptr<TrainModel> m = train_model_create(cfg, grid);
    checkpoint_load(ck, train_model_identity(cfg), m->trainable.params, nullptr, nullptr, 0);
    PeftExportInput in{&m->model.lora, o.task, cfg.model_path, nullptr, {}};
    if (cfg.mapper != MapperMode::none) in.mapper = &m->mapper, in.mapper_params = mapper_params(m->mapper);
    peft_export(o.out, in);
    std::cout << "exported task " << o.task << " of " << ck.path.string() << " to " << o.out << "\n";
  }
  world_finalize();
  return 0;
}

}  // namespace

CKF_COMMAND("export", "a task's adapters as a Hugging Face PEFT LoRA adapter (and the mapper)", export_command);

}  // namespace ckf
