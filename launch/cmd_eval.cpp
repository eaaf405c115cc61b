// `ckf eval`: deterministic task metrics of a CKF checkpoint on the valid or test split, per task
// overall and for warm and cold users, written as JSON (io/eval_report.h). The model, mapper and CF
// tables are set up from the training configuration as `ckf train` sets them up
// (train/train_model.h) and filled from the checkpoint. Every rank holds every task's adapters
// (tp 1); samples are dealt over the ranks in fixed blocks of --batch and the scores gathered in
// sample order, so the result does not depend on the rank count (a block is one batched forward,
// so it may on --batch).
#include <cstdio>
#include <iostream>

#include "core/check.h"
#include "core/ckf_eval.h"
#include "dist/mpi_communicator.h"
#include "dist/process_grid.h"
#include "dist/world.h"
#include "io/catalog.h"
#include "io/checkpoint.h"
#include "io/command_options.h"
#include "io/eval_report.h"
#include "launch/command.h"
#include "core/train/eval_input.h"
#include "core/train/eval_task.h"
#include "core/train/train_config.h"
#include "core/train/train_model.h"

namespace ckf {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

struct EvalOptions {
  std::string config, ckpt, split = "test", out, variant = "soft", tokenizer;
  int64_t max_samples = -1;
  int batch = kEvalBatchDefault;
  bool topk_batched = false;
};

// Returns false for --help.
bool eval_options_parse(const std::vector<std::string>& args, EvalOptions& o) {
  CommandOptions opts("ckf eval", "ckf eval: deterministic task metrics of a CKF checkpoint", false);
  opts.add()
      ("config", po::value(&o.config), "the training configuration (INI, as given to ckf train): model, data, tasks, mapper")
      ("ckpt", po::value(&o.ckpt), "a checkpoint step directory, or a checkpoint directory (its newest intact step)")
      ("split", po::value(&o.split)->default_value(o.split), "valid | test")
      ("out", po::value(&o.out), "result JSON file (written by rank 0, atomically)")
      ("max-samples", po::value(&o.max_samples)->default_value(o.max_samples), "the first N samples of each task (-1: all)")
      ("variant", po::value(&o.variant)->default_value(o.variant), "soft: CKF prompts with soft tokens; text: titles-only prompts (text baseline)")
      ("tokenizer", po::value(&o.tokenizer), "the prompts' tokenizer (.gguf, tokenizer.json or HF model directory) for the answer token ids; default: the model file")
      ("batch", po::value(&o.batch)->default_value(o.batch), "samples per batched forward (topk: each sample is its own block)")
      ("topk-batched", po::bool_switch(&o.topk_batched), "topk: run a sample's candidates as one batch instead of sharing the prefix's KV cache");
  if (!opts.parse(args)) return false;
  CKF_CHECK(!o.config.empty(), "ckf eval: --config FILE is required");
  CKF_CHECK(!o.ckpt.empty(), "ckf eval: --ckpt DIR is required");
  CKF_CHECK(!o.out.empty(), "ckf eval: --out FILE is required");
  CKF_CHECK(o.split == "valid" || o.split == "test", "--split '" << o.split << "': expected valid or test");
  CKF_CHECK(o.batch >= 1, "--batch " << o.batch << " must be >= 1");
  prompt_variant_parse(o.variant);
  return true;
}

int eval_command(const std::vector<std::string>& args) {
  EvalOptions o;
  if (!eval_options_parse(args, o)) return 0;
  TrainConfig cfg;
  train_config_parse({"--config", o.config}, cfg, std::cout);
  CKF_CHECK(!o.tokenizer.empty() || !cfg.model_path.empty(),
            "ckf eval: a random model (model.random) has no tokenizer: give --tokenizer");
  CKF_CHECK(cfg.mapper != MapperMode::none || o.variant == "text",
            "--variant soft: the configuration has no mapper (mapper none); evaluate with --variant text");
  world_init(nullptr, nullptr);
  {
    std::unique_ptr<MpiCommunicator> world = MpiCommunicator::world();
    TaskPlacement everywhere{world->size(), cfg.tasks, {}};
    for (size_t t = 0; t < cfg.tasks.size(); ++t) {
      everywhere.replicas.emplace_back();
      for (int r = 0; r < world->size(); ++r) everywhere.replicas.back().push_back(r);
    }
    const LlamaConfig lc = train_llama_config(cfg);
    ProcessGrid grid(*world, 1, TpSplitDims{lc.n_heads, lc.n_kv_heads, lc.vocab, lc.ffn}, everywhere);
    std::unique_ptr<TrainModel> m = train_model_create(cfg, grid);
    const FoundCheckpoint ck = checkpoint_pick(o.ckpt);
    checkpoint_load(ck, train_model_identity(cfg), m->trainable.params, nullptr, nullptr, 0);
    const Tokenizer tok = tokenizer_load(o.tokenizer.empty() ? cfg.model_path : o.tokenizer);
    const Catalog catalog = catalog_read(fs::path(cfg.data_dir) / "catalog.h5");
    ModelLogits source(m->model, m->mapper, m->cf, !o.topk_batched);
    std::vector<EvalTaskResult> results;
    for (const std::string& name : cfg.tasks) {
      AnswerTokens tokens;
      const EvalInput in = eval_input_load(cfg.data_dir, split_parse(o.split), task_parse(name),
                                           prompt_variant_parse(o.variant), tok, catalog.user_cold, o.max_samples, tokens);
      results.push_back(eval_task_run(source, in, tokens, o.batch, world.get()));
      if (world->rank() == 0) {
        const EvalGroup& g = results.back().groups[0];
        std::printf("%-10s %6lld samples", name.c_str(), (long long)g.samples);
        for (const auto& [metric, value] : g.metrics) std::printf("  %s %.4f", metric.c_str(), value);
        std::printf("\n");
      }
    }
    if (world->rank() == 0)
      eval_report_write(o.out, eval_report_json({o.split, o.variant, ck.path.string(), o.max_samples}, results));
    world->barrier();
  }
  world_finalize();
  return 0;
}

}  // namespace

CKF_COMMAND("eval", "deterministic task metrics of a CKF checkpoint (JSON)", eval_command);

}  // namespace ckf
