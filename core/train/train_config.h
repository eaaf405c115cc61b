// Configuration of `ckf train`: every option is a command-line flag and an INI key; a dotted flag
// is a key in a section (--lora.shared-r is `shared-r` under [lora]). Errors name the flag. The effective configuration
// is kept as INI text for the checkpoint manifest (resuming checks nothing against it yet; it is informational).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/llama_config.h"
#include "core/lora.h"
#include "core/mapper.h"
#include "core/optimizer.h"

namespace ckf {

// How soft tokens enter the prompts.
enum class MapperMode { metanet, shared_linear, none };  // none: text-only prompts, no mapper

struct CurriculumConfig {
  bool on = false;      // off: every sample uses its soft prompt (mapper none: its text prompt)
  double center = 0.5;  // p_soft(step) = sigmoid((step / total - center) * sharpness)
  double sharpness = 10.0;
};

struct TrainConfig {
  // [model]
  std::string model_path;    // a .gguf file or a Hugging Face model directory (io/model_load.h)
  std::string model_random;  // "tiny": a small random LLaMA for tests
  int model_vocab = 0;       // vocab of the random model (must cover the tokenizer's ids)
  // [data]
  std::string data_dir;              // `ckf prep` output (schema-2 shards with prompts)
  std::string cf_path;               // `ckf cf` embeddings file
  std::vector<std::string> tasks;    // (T) ctr, sequential, rating, topk
  std::vector<int64_t> batch;        // (T) samples per global step of each task
  std::vector<double> loss_weights;  // (T) the objective is the sum of weight * task mean loss
  std::string placement;             // "ctr:0;topk:1"; empty: round robin
  // [lora]
  LoraSpec shared_spec = lora_spec_shared_default();
  LoraSpec task_spec = lora_spec_task_default();
  bool single_lora = false;  // ablation: no task adapters, one shared set on q,k,v,o for every task
  // [mapper]
  MapperMode mapper = MapperMode::metanet;
  int meta_hidden = 64;
  int proj_hidden = 256;
  // [curriculum]
  CurriculumConfig curriculum;
  // [optim]
  OptimizerConfig optim;
  // run
  int64_t steps = 100;    // length of the run: lr schedule and curriculum span it
  int64_t max_steps = 0;  // stop this invocation once the step count reaches it (0: steps)
  uint64_t seed = 1;
  int tp = 1;
  std::string device = "cpu";  // cpu | cuda: where the step's compute runs (train_backend.h)
  size_t bucket_bytes = size_t{25} << 20;
  int log_every = 1;
  std::string metrics_path;  // JSONL, rank 0; empty: none
  std::string ckpt_dir;      // empty: no checkpoints
  int64_t ckpt_every = 0;    // 0: only at the end and on preemption
  int keep_last = 3;
  std::string resume = "none";  // none | auto
  int nonfinite_limit = 5;      // consecutive non-finite losses tolerated before stopping with an error
  int64_t eval_every = 0;       // evaluate on the valid split every N steps (0: never)
  int64_t eval_samples = 32;    // the first K valid samples of each task
  std::string eval_tokenizer;   // answer tokens for evaluation; empty: model_path's tokenizer

  std::string config_text;  // effective configuration, INI
};

// Parses argv (without the program and subcommand names) and the --config INI file (the command
// line wins), then checks every value. Throws ckf::Error naming the flag for an unknown option,
// a malformed value or an inconsistent setting. Returns false (nothing to run) for --help, after
// printing the options to `help_out`.
bool train_config_parse(const std::vector<std::string>& args, TrainConfig& cfg, std::ostream& help_out);

// The tiny random decoder of `model.random = tiny` with the given vocabulary.
LlamaConfig train_tiny_llama_config(int vocab);

// Probability that a sample of step `step` (0-based) of a run of `total` steps uses its soft
// prompt: 1 when the curriculum is off, else sigmoid((step / total - center) * sharpness).
double curriculum_p_soft(const CurriculumConfig& c, int64_t step, int64_t total);

// The soft-or-text choice of the sample at global stream position `position` of task `task` at
// `step`: a pure function of its arguments (a counter-based uniform draw below p_soft).
bool curriculum_use_soft(const CurriculumConfig& c, uint64_t seed, int64_t step, int64_t total, int task,
                         int64_t position);

}  // namespace ckf
