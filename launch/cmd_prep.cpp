// `ckf prep`: raw interactions -> dataset directory (catalog.h5 + task sample shards; with --model,
// the shards also carry the prompts tokenized by that model's tokenizer). Everything
// is read and checked before the output is touched, and the directory is built under a temporary
// name and swapped in whole, so a failing run leaves an existing dataset as it was.
#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/catalog.h"
#include "io/command_options.h"
#include "io/prompt_encode.h"
#include "io/prompt_templates.h"
#include "io/raw.h"
#include "io/samples.h"
#include "launch/command.h"

namespace ckf {

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace {

struct PrepArgs {
  std::string source, split = "loo", tasks = "ctr,sequential,rating,topk";
  std::string model, placeholder_token = "<|endoftext|>", prompt_form = "chat";
  fs::path input, meta, out;
  PromptEncodeOptions prompt;
  CatalogOptions catalog;
  SampleOptions samples;
  int64_t shard_size = 65536;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

RawDataset read_raw(const PrepArgs& a) {
  if (a.source == "movielens-latest") return raw_read_movielens_latest(a.input);
  if (a.source == "movielens-1m") return raw_read_movielens_1m(a.input);
  if (a.source == "amazon") return raw_read_amazon(a.input, a.meta);
  CKF_FAIL("--source '" << a.source << "' is not one of movielens-latest, movielens-1m, amazon");
}

std::vector<Task> parse_tasks(const std::string& list) {
  std::vector<Task> tasks;
  std::stringstream ss(list);
  for (std::string name; std::getline(ss, name, ',');)
    if (!name.empty()) tasks.push_back(task_parse(name));
  CKF_CHECK(!tasks.empty(), "--tasks lists no task");
  return tasks;
}

// Refuses to replace a directory that is not a ckf dataset: --out pointing at the wrong place must
// not delete anything.
void check_out_dir(const fs::path& out) {
  if (!fs::exists(out)) return;
  CKF_CHECK(fs::is_directory(out), "--out " << out << " exists and is not a directory");
  CKF_CHECK(fs::is_empty(out) || fs::exists(out / "catalog.h5"),
            "--out " << out << " exists, is not empty and holds no catalog.h5: refusing to replace it");
}

// The prompt stage: null when --model is absent (shards then hold ids only, schema version 1).
struct PromptStage {
  Tokenizer tokenizer;
  TemplateRenderer renderer;
};

void write_dataset(const fs::path& dir, const Catalog& catalog, const PrepArgs& a, const std::vector<Task>& tasks,
                   const PromptStage* prompts) {
  fs::create_directories(dir);
  atomic_write(dir / "catalog.h5", [&](const fs::path& tmp) { catalog_write(catalog, tmp); });
  for (Split split : {Split::Train, Split::Valid, Split::Test}) {
    for (Task task : tasks) {
      auto t0 = std::chrono::steady_clock::now();
      ShardInfo info{0, a.samples.seed, catalog.num_users(), catalog.num_items(),
                     prompts ? prompts->tokenizer.identity() : ""};
      PromptStats ps;
      SampleStats st = samples_generate(catalog, split, task, a.samples, size_t(a.shard_size), [&](const SampleTable& t) {
        fs::path file = shard_path(dir, split, task, info.index);
        fs::create_directories(file.parent_path());
        if (prompts) {
          SampleTable with = t;
          PromptStats s = prompt_encode(with, catalog, prompts->renderer, prompts->tokenizer, a.prompt);
          ps.samples += s.samples, ps.tokens += s.tokens, ps.truncated += s.truncated;
          ps.max_tokens = std::max(ps.max_tokens, s.max_tokens);
          atomic_write(file, [&](const fs::path& tmp) { shard_write(with, info, tmp); });
        } else {
          atomic_write(file, [&](const fs::path& tmp) { shard_write(t, info, tmp); });
        }
        ++info.index;
      });
      std::string prompt_note;
      if (prompts && ps.samples)
        prompt_note = "; prompt tokens mean " + std::to_string(int64_t(double(ps.tokens) / double(ps.samples) + 0.5)) + ", max " +
                      std::to_string(ps.max_tokens) + ", " + std::to_string(ps.truncated) + " with history cut";
      std::cout << "prep: " << split_name(split) << "/" << task_name(task) << ": " << st.samples << " samples in "
                << info.index << " shards" << (st.skipped ? ", " + std::to_string(st.skipped) + " targets skipped (too few negatives)" : "")
                << prompt_note << " (" << seconds_since(t0) << " s)\n";
    }
  }
}

int prep_run(const std::vector<std::string>& args) {
  PrepArgs a;
  CommandOptions opts("ckf prep", "ckf prep --source KIND --input PATH --out DIR [options]", true);
  opts.add()
    ("source", po::value(&a.source), "movielens-latest | movielens-1m | amazon")
    ("input", po::value(&a.input), "MovieLens: directory with ratings/movies files; amazon: reviews JSON lines (.gz ok)")
    ("meta", po::value(&a.meta), "amazon: metadata JSON lines (asin, title), optional")
    ("out", po::value(&a.out), "dataset directory to create or replace")
    ("min-user", po::value(&a.catalog.min_user)->default_value(0), "k-core: minimum interactions per user")
    ("min-item", po::value(&a.catalog.min_item)->default_value(0), "k-core: minimum interactions per item")
    ("split", po::value(&a.split)->default_value("loo"), "loo (per user by time) | temporal (global time cut)")
    ("valid-frac", po::value(&a.catalog.valid_frac)->default_value(0.1, "0.1"), "temporal split: share of valid")
    ("test-frac", po::value(&a.catalog.test_frac)->default_value(0.1, "0.1"), "temporal split: share of test")
    ("cold-max", po::value(&a.catalog.cold_max)->default_value(5), "users with at most this many train interactions are cold")
    ("seed", po::value(&a.samples.seed)->default_value(1), "seed of negative sampling and candidate order")
    ("tasks", po::value(&a.tasks)->default_value(a.tasks), "comma-separated tasks to generate")
    ("history-len", po::value(&a.samples.history_len)->default_value(10), "history window (items)")
    ("ctr-negatives", po::value(&a.samples.ctr_negatives)->default_value(1), "ctr: negatives per positive")
    ("seq-candidates", po::value(&a.samples.seq_candidates)->default_value(10), "sequential: candidates per sample")
    ("topk-candidates", po::value(&a.samples.topk_candidates)->default_value(100), "topk: candidates per sample")
    ("positive-min", po::value(&a.samples.positive_min)->default_value(4.0f, "4"), "ctr/topk: minimum rating of a positive")
    ("shard-size", po::value(&a.shard_size)->default_value(65536), "samples per shard file")
    ("topk-train-negatives", po::value(&a.samples.topk_train_negatives)->default_value(1), "topk (train): negatives per positive")
    ("model", po::value(&a.model), "model (.gguf or Hugging Face directory) whose tokenizer tokenizes the prompts; without it the shards hold ids only")
    ("max-prompt-tokens", po::value(&a.prompt.max_prompt_tokens)->default_value(320), "prompt length limit: history is cut from the oldest side to fit")
    ("placeholder-token", po::value(&a.placeholder_token)->default_value(a.placeholder_token), "token put at every soft-token position (must not occur in prompt text)")
    ("prompt-form", po::value(&a.prompt_form)->default_value(a.prompt_form), "chat (one ChatML user turn) | plain")
    ("threads", po::value(&a.prompt.threads)->default_value(2), "tokenizer threads (results do not depend on it)");
  if (!opts.parse(args)) return 0;
  for (const char* required : {"source", "input", "out"})
    CKF_CHECK(opts.given(required), "--" << required << " is required (ckf prep --help)");
  CKF_CHECK(a.split == "loo" || a.split == "temporal", "--split '" << a.split << "' is not loo or temporal");
  CKF_CHECK(a.shard_size > 0, "--shard-size must be positive");
  CKF_CHECK(a.prompt_form == "chat" || a.prompt_form == "plain", "--prompt-form '" << a.prompt_form
                                                                                    << "' is not chat or plain");
  CKF_CHECK(a.prompt.max_prompt_tokens > 0, "--max-prompt-tokens must be positive");
  CKF_CHECK(a.prompt.threads > 0, "--threads must be positive");
  a.catalog.split = a.split == "loo" ? SplitKind::LeaveOneOut : SplitKind::Temporal;
  a.catalog.source = a.source;
  std::vector<Task> tasks = parse_tasks(a.tasks);
  fs::path out = fs::absolute(a.out).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();
  check_out_dir(out);

  auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<PromptStage> prompts;
  if (opts.given("model")) {
    prompts.reset(new PromptStage{tokenizer_load(a.model), TemplateRenderer(a.prompt_form == "chat")});
    a.prompt.placeholder_id = prompts->tokenizer.token_to_id(a.placeholder_token);
    CKF_CHECK(a.prompt.placeholder_id >= 0, "--placeholder-token '" << a.placeholder_token
                                                                   << "' is not a token of --model " << a.model);
    std::cout << "prep: prompts tokenized with " << a.model << " (" << prompts->tokenizer.identity()
              << "), placeholder " << a.placeholder_token << " = " << a.prompt.placeholder_id << "\n";
  }
  RawDataset raw = read_raw(a);
  std::cout << "prep: read " << raw.size() << " interactions, " << raw.users.names.size() << " users, "
            << raw.items.names.size() << " items from " << a.input << " (" << seconds_since(t0) << " s)\n";
  auto t1 = std::chrono::steady_clock::now();
  Catalog catalog = catalog_build(std::move(raw), a.catalog);
  size_t cold = 0, untitled = 0;
  for (uint8_t c : catalog.user_cold) cold += c;
  for (const std::string& t : catalog.title) untitled += t.empty();
  std::cout << "prep: catalog " << catalog.size() << " interactions, " << catalog.num_users() << " users ("
            << cold << " cold), " << catalog.num_items() << " items (" << untitled << " without title); split "
            << a.split << ": train " << catalog.count(Split::Train) << ", valid " << catalog.count(Split::Valid)
            << ", test " << catalog.count(Split::Test) << " (" << seconds_since(t1) << " s)\n";

  fs::create_directories(out.parent_path());
  atomic_write(out, [&](const fs::path& tmp) { write_dataset(tmp, catalog, a, tasks, prompts.get()); });
  std::cout << "prep: wrote " << out << " (" << seconds_since(t0) << " s total)\n";
  return 0;
}

}  // namespace

CKF_COMMAND("prep", "raw interactions (MovieLens, Amazon) -> dataset directory (catalog + task shards)", prep_run);

}  // namespace ckf
