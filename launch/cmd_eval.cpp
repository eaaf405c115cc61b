// `ckf eval`: deterministic task metrics of a CKF checkpoint on the valid or test split, per task
// overall and for warm and cold users, written as JSON (io/eval_report.h). The model, mapper and CF
// tables are set up from the training configuration as `ckf train` sets them up
// (train/train_model.h) and filled from the checkpoint. Every rank holds every task's adapters
// (tp 1); samples are dealt over the ranks in fixed blocks of --batch and the scores gathered in
// sample order, so the result does not depend on the rank count (a block is one batched forward,
// so it may on --batch). --variant cf scores the same samples with the CF embeddings instead of
// the model (core/cf_eval.h): the CF-only baseline on the LLM's samples and metrics.
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "core/cf_eval.h"
#include "core/check.h"
#include "core/ckf_eval.h"
#include "dist/mpi_communicator.h"
#include "dist/process_grid.h"
#include "dist/world.h"
#include "io/catalog.h"
#include "io/cf_dataset_load.h"
#include "io/cf_embeddings.h"
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
  double ridge = 1.0;
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
      ("variant", po::value(&o.variant)->default_value(o.variant), "soft: CKF prompts with soft tokens; text: titles-only prompts (text baseline); "
       "cf: the CF embeddings alone, <e_u, e_i> (ctr, sequential, topk) and a ridge regressor on them (rating); no model, no --ckpt")
      ("ridge", po::value(&o.ridge)->default_value(o.ridge), "--variant cf: ridge weight of the rating regressor (as ckf cf --ridge)")
      ("tokenizer", po::value(&o.tokenizer), "the prompts' tokenizer (.gguf, tokenizer.json or HF model directory) for the answer token ids; default: the model file")
      ("batch", po::value(&o.batch)->default_value(o.batch), "samples per batched forward (topk: each sample is its own block)")
      ("topk-batched", po::bool_switch(&o.topk_batched), "topk: run a sample's candidates as one batch instead of sharing the prefix's KV cache");
  if (!opts.parse(args)) return false;
  CKF_CHECK(!o.config.empty(), "ckf eval: --config FILE is required");
  const bool cf = o.variant == "cf";
  CKF_CHECK(!o.ckpt.empty() || cf, "ckf eval: --ckpt DIR is required");
  CKF_CHECK(o.ckpt.empty() || !cf, "ckf eval: --variant cf evaluates the CF embeddings of --config; it takes no --ckpt");
  CKF_CHECK(!o.out.empty(), "ckf eval: --out FILE is required");
  CKF_CHECK(o.split == "valid" || o.split == "test", "--split '" << o.split << "': expected valid or test");
  CKF_CHECK(o.batch >= 1, "--batch " << o.batch << " must be >= 1");
  CKF_CHECK(std::isfinite(o.ridge) && o.ridge > 0, "--ridge " << o.ridge << " must be > 0");
  if (!cf) prompt_variant_parse(o.variant);
  return true;
}

void task_print(const std::string& name, const EvalTaskResult& r) {
  const EvalGroup& g = r.groups[0];
  std::printf("%-10s %6lld samples", name.c_str(), (long long)g.samples);
  for (const auto& [metric, value] : g.metrics) std::printf("  %s %.4f", metric.c_str(), value);
  std::printf("\n");
}

// The checkpoint's model scores every task, samples dealt over the ranks in blocks. Returns the
// evaluated checkpoint's path.
std::string eval_model(const TrainConfig& cfg, const EvalOptions& o, MpiCommunicator& world, const Catalog& catalog,
                       std::vector<EvalTaskResult>& results) {
  TaskPlacement everywhere{world.size(), cfg.tasks, {}};
  for (size_t t = 0; t < cfg.tasks.size(); ++t) {
    everywhere.replicas.emplace_back();
    for (int r = 0; r < world.size(); ++r) everywhere.replicas.back().push_back(r);
  }
  const LlamaConfig lc = train_llama_config(cfg);
  ProcessGrid grid(world, 1, TpSplitDims{lc.n_heads, lc.n_kv_heads, lc.vocab, lc.ffn}, everywhere);
  std::unique_ptr<TrainModel> m = train_model_create(cfg, grid);
  const FoundCheckpoint ck = checkpoint_pick(o.ckpt);
  checkpoint_load(ck, train_model_identity(cfg), m->trainable.params, nullptr, nullptr, 0);
  const Tokenizer tok = tokenizer_load(o.tokenizer.empty() ? cfg.model_path : o.tokenizer);
  ModelLogits source(m->model, m->mapper, m->cf, !o.topk_batched);
  for (const std::string& name : cfg.tasks) {
    AnswerTokens tokens;
    const EvalInput in = eval_input_load(cfg.data_dir, split_parse(o.split), task_parse(name),
                                         prompt_variant_parse(o.variant), &tok, catalog.user_cold, o.max_samples, tokens);
    results.push_back(eval_task_run(source, in, tokens, o.batch, &world));
    if (world.rank() == 0) task_print(name, results.back());
  }
  return ck.path.string();
}

// The CF embeddings of the configuration score every task (each rank all of it: dot products), the
// rating regressor fitted on the train interactions as ckf cf fits it. Returns the embeddings' path.
std::string eval_cf(const TrainConfig& cfg, const EvalOptions& o, int rank, const Catalog& catalog,
                    std::vector<EvalTaskResult>& results) {
  const CfEmbeddingsFile emb = cf_embeddings_read(cfg.cf_path);
  const CfDataset data = cf_dataset_load(cfg.data_dir);
  CKF_CHECK(emb.dataset == data.identity, cfg.cf_path << ": embeddings of " << emb.dataset << ", not of --data.dir "
                                                      << cfg.data_dir << " (" << data.identity << ")");
  std::vector<CfRatingSample> train;
  for (const CfInteraction& x : data.train) train.push_back({x.user, x.item, x.rating});
  const CfRegressor reg = cf_regressor_fit(emb.emb, train, o.ridge);
  for (const std::string& name : cfg.tasks) {
    AnswerTokens unused;
    const EvalInput in = eval_input_load(cfg.data_dir, split_parse(o.split), task_parse(name), PromptVariant::none,
                                         nullptr, catalog.user_cold, o.max_samples, unused);
    results.push_back(eval_metrics(in, cf_eval_scores(emb.emb, reg, in)));
    if (rank == 0) task_print(name, results.back());
  }
  return cfg.cf_path;
}

int eval_command(const std::vector<std::string>& args) {
  EvalOptions o;
  if (!eval_options_parse(args, o)) return 0;
  TrainConfig cfg;
  train_config_parse({"--config", o.config}, cfg, std::cout);
  const bool cf = o.variant == "cf";
  CKF_CHECK(cf || !o.tokenizer.empty() || !cfg.model_path.empty(),
            "ckf eval: a random model (model.random) has no tokenizer: give --tokenizer");
  CKF_CHECK(cf || cfg.mapper != MapperMode::none || o.variant == "text",
            "--variant soft: the configuration has no mapper (mapper none); evaluate with --variant text");
  world_init(nullptr, nullptr);
  {
    std::unique_ptr<MpiCommunicator> world = MpiCommunicator::world();
    const Catalog catalog = catalog_read(fs::path(cfg.data_dir) / "catalog.h5");
    std::vector<EvalTaskResult> results;
    const std::string source = cf ? eval_cf(cfg, o, world->rank(), catalog, results)
                                  : eval_model(cfg, o, *world, catalog, results);
    if (world->rank() == 0)
      eval_report_write(o.out, eval_report_json({o.split, o.variant, source, o.max_samples}, results));
    world->barrier();
  }
  world_finalize();
  return 0;
}

}  // namespace

CKF_COMMAND("eval", "deterministic task metrics of a CKF checkpoint (JSON)", eval_command);

}  // namespace ckf
