#include "io/eval_input.h"

#include <string>

#include "core/check.h"

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

int64_t sample_count(const SampleTable& table, int64_t max_samples) {
  CKF_CHECK(table.has_prompts, task_name(table.task) << " samples carry no prompts (schema v1): run ckf prep with a tokenizer");
  return max_samples < 0 ? int64_t(table.size()) : std::min<int64_t>(max_samples, int64_t(table.size()));
}

std::vector<int32_t> concat(std::span<const int32_t> a, std::span<const int32_t> b) {
  std::vector<int32_t> out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

}  // namespace

EvalInput eval_input_from_table(const SampleTable& table, PromptVariant variant, std::span<const uint8_t> user_cold,
                                int64_t max_samples) {
  const int64_t n = sample_count(table, max_samples);
  const PromptColumns& p = table.prompts;
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
    CkfExample head;
    head.task = task_name(table.task);
    head.user = v.user;
    head.history.assign(v.history.begin(), v.history.end());
    const std::span<const int32_t> prompt = soft ? p.soft.row(size_t(i)) : p.text.row(size_t(i));
    head.prompt.assign(prompt.begin(), prompt.end());
    if (soft)
      for (int64_t k = p.slot_offset[size_t(i)]; k < p.slot_offset[size_t(i) + 1]; ++k)
        head.placeholders.push_back({p.slot_position[size_t(k)], PlaceholderKind(p.slot_kind[size_t(k)]), p.slot_id[size_t(k)]});
    if (in.kind != EvalKind::topk) {
      s.prompts.push_back(std::move(head));
      continue;
    }
    s.prefix_len = int(head.prompt.size());
    for (int c = 0; c < s.candidates; ++c) {
      const size_t row = size_t(i) * size_t(table.num_candidates) + size_t(c);
      CkfExample ex = head;
      ex.prompt = concat(head.prompt, soft ? p.suffix_soft.row(row) : p.suffix_text.row(row));
      if (soft) ex.placeholders.push_back({s.prefix_len + p.suffix_slot[row], PlaceholderKind::item, v.candidates[size_t(c)]});
      s.prompts.push_back(std::move(ex));
    }
  }
  return in;
}

}  // namespace ckf
