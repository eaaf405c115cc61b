#include "core/train/eval_input.h"

#include <string>

#include "core/check.h"
#include "core/train/train_examples.h"

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

}  // namespace ckf
