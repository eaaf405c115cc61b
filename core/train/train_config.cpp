#include "core/train/train_config.h"

#include <cmath>
#include <iostream>
#include <sstream>

#include "core/check.h"
#include "core/rng.h"
#include "io/command_options.h"

namespace ckf {

namespace po = boost::program_options;

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

LoraSpec lora_spec_from(const std::string& targets, int r, float alpha, float dropout, const char* what,
                        const std::string& flag) {
  LoraSpec spec;
  for (const std::string& t : split_list(targets)) {
    try {
      spec.targets.push_back(lora_target_parse(t));
    } catch (const Error& e) {
      CKF_FAIL(flag << ": " << e.what());
    }
  }
  spec.r = r;
  spec.alpha = alpha;
  spec.dropout = dropout;
  try {
    lora_spec_validate(spec, what);
  } catch (const Error& e) {
    CKF_FAIL("--lora." << what << "-*: " << e.what());
  }
  return spec;
}

std::string targets_str(const LoraSpec& s) {
  std::string out;
  for (LoraTarget t : s.targets) out += std::string(out.empty() ? "" : ",") + lora_target_name(t);
  return out;
}

}  // namespace

LlamaConfig train_tiny_llama_config(int vocab) {
  return LlamaConfig{.vocab = vocab, .d_model = 32, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .head_dim = 8,
                      .ffn = 64, .max_seq = 2048};
}

double curriculum_p_soft(const CurriculumConfig& c, int64_t step, int64_t total) {
  if (!c.on) return 1.0;
  const double x = (double(step) / double(total) - c.center) * c.sharpness;
  return 1.0 / (1.0 + std::exp(-x));
}

bool curriculum_use_soft(const CurriculumConfig& c, uint64_t seed, int64_t step, int64_t total, int task,
                         int64_t position) {
  if (!c.on) return true;
  const uint64_t stream = rng_mix(uint64_t(step) * 8 + uint64_t(task)) ^ 0x63757272ull;  // "curr"
  return double(rng_uniform(seed, stream, uint64_t(position))) < curriculum_p_soft(c, step, total);
}

bool train_config_parse(const std::vector<std::string>& args, TrainConfig& cfg, std::ostream& help_out) {
  std::string tasks = "ctr,sequential,rating,topk", batch = "4,4,4,2", loss_weights, mapper = "metanet",
              lr_decay = "cosine";
  std::string shared_targets = targets_str(cfg.shared_spec), task_targets = targets_str(cfg.task_spec);
  float lr = 1e-4f, min_lr = 0.0f, weight_decay = 0.0f, clip = 1.0f;
  int64_t warmup = 0;
  CommandOptions opts("ckf train", "ckf train: CKF training (mapper + Multi-LoRA on a frozen LLaMA)", true);
  // clang-format off
  opts.add()
      ("model.path", po::value(&cfg.model_path), "base model: a .gguf file or a Hugging Face model directory")
      ("model.random", po::value(&cfg.model_random), "tiny: a small random decoder instead of a model file (tests)")
      ("model.vocab", po::value(&cfg.model_vocab), "vocabulary of the random model (>= the tokenizer's)")
      ("data.dir", po::value(&cfg.data_dir), "dataset directory made by ckf prep --model")
      ("data.cf", po::value(&cfg.cf_path), "CF embeddings file made by ckf cf")
      ("data.tasks", po::value(&tasks)->default_value(tasks), "tasks, comma separated")
      ("data.batch", po::value(&batch)->default_value(batch), "samples per step of each task (global), comma separated")
      ("data.loss-weights", po::value(&loss_weights), "weight of each task's mean loss, comma separated (default all 1)")
      ("data.placement", po::value(&cfg.placement), "task placement over replicas, e.g. ctr:0;topk:1 (default round robin)")
      ("lora.shared-targets", po::value(&shared_targets)->default_value(shared_targets), "shared adapter targets")
      ("lora.shared-r", po::value(&cfg.shared_spec.r)->default_value(cfg.shared_spec.r), "shared adapter rank")
      ("lora.shared-alpha", po::value(&cfg.shared_spec.alpha)->default_value(cfg.shared_spec.alpha), "shared alpha")
      ("lora.shared-dropout", po::value(&cfg.shared_spec.dropout)->default_value(cfg.shared_spec.dropout), "shared dropout")
      ("lora.task-targets", po::value(&task_targets)->default_value(task_targets), "task adapter targets")
      ("lora.task-r", po::value(&cfg.task_spec.r)->default_value(cfg.task_spec.r), "task adapter rank")
      ("lora.task-alpha", po::value(&cfg.task_spec.alpha)->default_value(cfg.task_spec.alpha), "task alpha")
      ("lora.task-dropout", po::value(&cfg.task_spec.dropout)->default_value(cfg.task_spec.dropout), "task dropout")
      ("lora.single", po::bool_switch(&cfg.single_lora), "ablation: one shared adapter set on q,k,v,o, no task adapters")
      ("mapper.kind", po::value(&mapper)->default_value(mapper), "metanet | shared_linear | none (text-only prompts)")
      ("mapper.meta-hidden", po::value(&cfg.meta_hidden)->default_value(cfg.meta_hidden), "MetaNet hidden width")
      ("mapper.proj-hidden", po::value(&cfg.proj_hidden)->default_value(cfg.proj_hidden), "projection hidden width (0: linear)")
      ("curriculum.on", po::bool_switch(&cfg.curriculum.on), "mix text and soft prompts, soft ever more likely")
      ("curriculum.center", po::value(&cfg.curriculum.center)->default_value(cfg.curriculum.center), "run fraction where p_soft = 1/2")
      ("curriculum.sharpness", po::value(&cfg.curriculum.sharpness)->default_value(cfg.curriculum.sharpness), "sigmoid slope")
      ("optim.lr", po::value(&lr)->default_value(lr), "peak learning rate")
      ("optim.min-lr", po::value(&min_lr)->default_value(min_lr), "final learning rate")
      ("optim.warmup", po::value(&warmup)->default_value(warmup), "warmup steps")
      ("optim.schedule", po::value(&lr_decay)->default_value(lr_decay), "cosine | linear | constant")
      ("optim.weight-decay", po::value(&weight_decay)->default_value(weight_decay), "AdamW weight decay")
      ("optim.clip", po::value(&clip)->default_value(clip), "global gradient-norm clip (<= 0: off)")
      ("steps", po::value(&cfg.steps)->default_value(cfg.steps), "steps of the run (schedule and curriculum span them)")
      ("max-steps", po::value(&cfg.max_steps)->default_value(cfg.max_steps), "stop this invocation at this step (0: steps)")
      ("seed", po::value(&cfg.seed)->default_value(cfg.seed), "seed of data order, adapters, mapper, dropout, curriculum")
      ("tp", po::value(&cfg.tp)->default_value(cfg.tp), "tensor-parallel ranks per replica")
      ("device", po::value(&cfg.device)->default_value(cfg.device), "cpu | cuda: where each step's compute runs (cuda: one GPU per rank, tp 1)")
      ("bucket-bytes", po::value(&cfg.bucket_bytes)->default_value(cfg.bucket_bytes), "gradient all-reduce bucket size")
      ("log-every", po::value(&cfg.log_every)->default_value(cfg.log_every), "progress line every N steps")
      ("metrics", po::value(&cfg.metrics_path), "JSONL metrics file (rank 0)")
      ("ckpt-dir", po::value(&cfg.ckpt_dir), "checkpoint directory")
      ("ckpt-every", po::value(&cfg.ckpt_every)->default_value(cfg.ckpt_every), "checkpoint every N steps (0: at the end only)")
      ("keep-last", po::value(&cfg.keep_last)->default_value(cfg.keep_last), "checkpoints kept")
      ("resume", po::value(&cfg.resume)->default_value(cfg.resume), "none | auto (newest intact checkpoint in --ckpt-dir)")
      ("nonfinite-limit", po::value(&cfg.nonfinite_limit)->default_value(cfg.nonfinite_limit), "consecutive non-finite losses before failing")
      ("eval-every", po::value(&cfg.eval_every)->default_value(cfg.eval_every), "evaluate on the valid split every N steps (0: never)")
      ("eval-samples", po::value(&cfg.eval_samples)->default_value(cfg.eval_samples), "first K valid samples of each task per evaluation")
      ("eval-tokenizer", po::value(&cfg.eval_tokenizer), "the prompts' tokenizer for the answer token ids (default: model.path's; needed with model.random)");
  // clang-format on
  if (!opts.parse(args, help_out)) return false;

  CKF_CHECK(cfg.model_path.empty() != cfg.model_random.empty(),
            "ckf train: give exactly one of --model.path and --model.random");
  if (!cfg.model_random.empty()) {
    CKF_CHECK(cfg.model_random == "tiny", "--model.random: unknown '" << cfg.model_random << "' (tiny)");
    CKF_CHECK(cfg.model_vocab >= 2, "--model.vocab " << cfg.model_vocab << " must be >= 2 for --model.random");
  }
  CKF_CHECK(!cfg.data_dir.empty(), "ckf train: --data.dir is required");
  // Also with --mapper.kind none: the examples' user and item ids are checked against its tables.
  CKF_CHECK(!cfg.cf_path.empty(), "ckf train: --data.cf is required");
  cfg.tasks = split_list(tasks);
  CKF_CHECK(!cfg.tasks.empty(), "--data.tasks: empty list");
  cfg.batch.clear();
  for (const std::string& b : split_list(batch)) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(b, &used);
    } catch (const std::exception&) {
    }
    CKF_CHECK(used == b.size() && v >= 1, "--data.batch: '" << b << "' is not a positive integer");
    cfg.batch.push_back(v);
  }
  CKF_CHECK(cfg.batch.size() == cfg.tasks.size(),
            "--data.batch: " << cfg.batch.size() << " sizes for " << cfg.tasks.size() << " tasks in --data.tasks");
  cfg.loss_weights.assign(cfg.tasks.size(), 1.0);
  if (!loss_weights.empty()) {
    cfg.loss_weights.clear();
    for (const std::string& w : split_list(loss_weights)) {
      size_t used = 0;
      double v = -1;
      try {
        v = std::stod(w, &used);
      } catch (const std::exception&) {
      }
      CKF_CHECK(used == w.size() && std::isfinite(v) && v >= 0,
                "--data.loss-weights: '" << w << "' is not a finite weight >= 0");
      cfg.loss_weights.push_back(v);
    }
    CKF_CHECK(cfg.loss_weights.size() == cfg.tasks.size(),
              "--data.loss-weights: " << cfg.loss_weights.size() << " weights for " << cfg.tasks.size()
                                      << " tasks in --data.tasks");
  }
  if (mapper == "none") {
    cfg.mapper = MapperMode::none;
  } else {
    CKF_CHECK(mapper == "metanet" || mapper == "shared_linear",
              "--mapper.kind: unknown '" << mapper << "' (metanet | shared_linear | none)");
    cfg.mapper = mapper == "metanet" ? MapperMode::metanet : MapperMode::shared_linear;
  }
  CKF_CHECK(cfg.meta_hidden >= 1 && cfg.proj_hidden >= 0,
            "--mapper.meta-hidden / --mapper.proj-hidden must be positive");
  cfg.shared_spec = lora_spec_from(shared_targets, cfg.shared_spec.r, cfg.shared_spec.alpha, cfg.shared_spec.dropout,
                                   "shared", "--lora.shared-targets");
  cfg.task_spec = lora_spec_from(task_targets, cfg.task_spec.r, cfg.task_spec.alpha, cfg.task_spec.dropout, "task",
                                 "--lora.task-targets");
  if (cfg.single_lora) {
    cfg.shared_spec.targets = {LoraTarget::q, LoraTarget::k, LoraTarget::v, LoraTarget::o};
    cfg.task_spec.targets.clear();
  }
  CKF_CHECK(cfg.curriculum.sharpness > 0 && std::isfinite(cfg.curriculum.center),
            "--curriculum.sharpness must be > 0 and --curriculum.center finite");
  CKF_CHECK(cfg.steps >= 1, "--steps " << cfg.steps << " must be >= 1");
  CKF_CHECK(cfg.max_steps >= 0 && cfg.max_steps <= cfg.steps,
            "--max-steps " << cfg.max_steps << " must be in [0, --steps " << cfg.steps << "]");
  if (cfg.max_steps == 0) cfg.max_steps = cfg.steps;
  CKF_CHECK(cfg.tp >= 1, "--tp " << cfg.tp << " must be >= 1");
  CKF_CHECK(cfg.device == "cpu" || cfg.device == "cuda", "--device " << cfg.device << " is not cpu or cuda");
  CKF_CHECK(cfg.device == "cpu" || cfg.tp == 1,
            "--device cuda runs whole weights on each GPU: use --tp 1 (got --tp " << cfg.tp << ")");
#ifndef CKF_WITH_CUDA
  CKF_CHECK(cfg.device == "cpu", "--device cuda: this build has no CUDA backend (configure with CKF_CUDA=ON, nvcc present)");
#endif
  CKF_CHECK(cfg.log_every >= 1, "--log-every must be >= 1");
  CKF_CHECK(cfg.ckpt_every >= 0 && cfg.keep_last >= 1, "--ckpt-every must be >= 0 and --keep-last >= 1");
  CKF_CHECK(cfg.resume == "none" || cfg.resume == "auto", "--resume: unknown '" << cfg.resume << "' (none | auto)");
  CKF_CHECK(cfg.resume == "none" || !cfg.ckpt_dir.empty(), "--resume auto needs --ckpt-dir");
  CKF_CHECK(cfg.nonfinite_limit >= 1, "--nonfinite-limit must be >= 1");
  CKF_CHECK(cfg.eval_every >= 0 && cfg.eval_samples >= 1, "--eval-every must be >= 0 and --eval-samples >= 1");
  CKF_CHECK(cfg.eval_every == 0 || !cfg.model_path.empty() || !cfg.eval_tokenizer.empty(),
            "--eval-every: a random model (model.random) has no tokenizer: give --eval-tokenizer");
  cfg.optim.adamw.weight_decay = weight_decay;
  cfg.optim.max_grad_norm = clip;
  cfg.optim.schedule.peak_lr = lr;
  cfg.optim.schedule.min_lr = min_lr;
  cfg.optim.schedule.warmup_steps = warmup;
  cfg.optim.schedule.total_steps = cfg.steps;
  cfg.optim.schedule.decay = lr_decay_parse(lr_decay, "--optim.schedule");
  try {
    lr_schedule_check(cfg.optim.schedule);
  } catch (const Error& e) {
    CKF_FAIL("--optim.*: " << e.what());
  }

  std::ostringstream text;  // the effective configuration, every option as given or defaulted
  for (const auto& [key, value] : opts.values()) {
    if (key == "config" || key == "help") continue;
    text << key << " = ";
    const boost::any& v = value.value();
    if (auto* s = boost::any_cast<std::string>(&v))
      text << *s;
    else if (auto* i = boost::any_cast<int>(&v))
      text << *i;
    else if (auto* l = boost::any_cast<int64_t>(&v))
      text << *l;
    else if (auto* u = boost::any_cast<uint64_t>(&v))
      text << *u;
    else if (auto* f = boost::any_cast<float>(&v))
      text << *f;
    else if (auto* d = boost::any_cast<double>(&v))
      text << *d;
    else if (auto* b = boost::any_cast<bool>(&v))
      text << (*b ? "true" : "false");
    text << "\n";
  }
  cfg.config_text = text.str();
  return true;
}

}  // namespace ckf
