#include "core/train/eval_input.h"

#include <string>

#include "core/check.h"
#include "core/train/train_examples.h"
#include "io/eval_answers.h"

namespace ckf {

PromptVariant prompt_variant_parse(const std::string& name) {
  if (name == "soft") return PromptVariant::soft;
  CKF_CHECK(name == "text", "prompt variant '" << name << "': expected soft or text");
  return PromptVariant::text;
}

EvalKind eval_kind_of(Task t) {
  switch (t) {
    case Task::Ctr: return EvalKind::ctr;
    case Task::Rating: return EvalKind::rating;
    case Task::Sequential: return EvalKind::sequential;
    case Task::Topk: break;
  }
  return EvalKind::topk;
}

namespace {

int64_t sample_count(const SampleTable& table, PromptVariant variant, int64_t max_samples) {
  CKF_CHECK(table.has_prompts || variant == PromptVariant::none,
            task_name(table.task) << " samples carry no prompts (schema v1): run ckf prep with a tokenizer");
  return max_samples < 0 ? int64_t(table.size()) : std::min<int64_t>(max_samples, int64_t(table.size()));
}

}  // namespace

EvalInput eval_input_from_table(const SampleTable& table, PromptVariant variant, std::span<const uint8_t> user_cold,
                                int64_t max_samples) {
  const int64_t n = sample_count(table, variant, max_samples);
  const bool soft = variant == PromptVariant::soft;
  EvalInput in;
  in.kind = eval_kind_of(table.task);
  in.width = in.kind == EvalKind::ctr || in.kind == EvalKind::rating ? 1 : table.num_candidates;
  in.samples.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    const SampleView v = table.at(size_t(i));
    CKF_CHECK(user_cold.empty() || (v.user >= 0 && size_t(v.user) < user_cold.size()),
              "sample " << i << ": user " << v.user << " outside the catalog's " << user_cold.size() << " users");
    EvalSample& s = in.samples[size_t(i)];
    s.user = v.user;
    s.cold = !user_cold.empty() && user_cold[size_t(v.user)] != 0;
    s.label = v.label;
    s.candidates = int(v.candidates.size());
    if (in.kind == EvalKind::ctr || in.kind == EvalKind::rating)
      s.items = {v.target};
    else
      s.items.assign(v.candidates.begin(), v.candidates.end());
    if (variant == PromptVariant::none) continue;
    train_examples_append(table, size_t(i), soft, s.prompts);  // topk: one per real candidate
    if (in.kind == EvalKind::topk)
      s.prefix_len = int((soft ? table.prompts.soft : table.prompts.text).row(size_t(i)).size());
  }
  return in;
}

EvalInput eval_input_load(const std::string& data_dir, Split split, Task task, PromptVariant variant,
                          const Tokenizer* tok, std::span<const uint8_t> user_cold, int64_t max_samples,
                          AnswerTokens& tokens) {
  CKF_CHECK((tok != nullptr) == (variant != PromptVariant::none),
            "eval_input_load: prompts need their tokenizer, and only prompts do");
  const std::vector<std::filesystem::path> files = shard_list(data_dir, split, task);
  CKF_CHECK(!files.empty(), "no " << split_name(split) << " " << task_name(task) << " shards under " << data_dir);
  EvalInput all;
  for (const std::filesystem::path& f : files) {
    const int64_t left = max_samples < 0 ? -1 : max_samples - int64_t(all.samples.size());
    if (left == 0) break;
    ShardInfo info;
    const SampleTable table = shard_read(f, &info);
    if (tok != nullptr) {
      shard_check_tokenizer(f, info, tok->identity());
      tokens = answer_tokens_from(*tok, task == Task::Sequential ? table.num_candidates : 0);
      answer_tokens_check(table, tokens, left);
    }
    EvalInput in = eval_input_from_table(table, variant, user_cold, left);
    CKF_CHECK(all.samples.empty() || in.width == all.width, f << ": " << in.width << " candidates, earlier shards " << all.width);
    all.kind = in.kind, all.width = in.width;
    for (EvalSample& s : in.samples) all.samples.push_back(std::move(s));
  }
  return all;
}

}  // namespace ckf
