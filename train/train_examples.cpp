#include "train/train_examples.h"

#include "core/check.h"

namespace ckf {

namespace {

std::vector<int32_t> tokens_of(std::span<const int32_t> s) { return {s.begin(), s.end()}; }

}  // namespace

void train_examples_append(const SampleTable& table, size_t row, bool soft, std::vector<CkfExample>& out) {
  const char* task = task_name(table.task);
  CKF_CHECK(table.has_prompts, task << " samples have no prompts (prepare the data with ckf prep --model)");
  CKF_CHECK(row < table.size(), task << " sample row " << row << " outside a table of " << table.size());
  const PromptColumns& p = table.prompts;
  const SampleView s = table.at(row);
  CkfExample base;
  base.task = task;
  base.user = s.user;
  base.history.assign(s.history.begin(), s.history.end());
  base.prompt = tokens_of(soft ? p.soft.row(row) : p.text.row(row));
  CKF_CHECK(!base.prompt.empty(), task << " sample row " << row << ": empty prompt");
  if (soft) {
    for (int64_t k = p.slot_offset[row]; k < p.slot_offset[row + 1]; ++k) {
      const int32_t pos = p.slot_position[size_t(k)];
      CKF_CHECK(pos >= 0 && size_t(pos) < base.prompt.size(), task << " sample row " << row << ": slot position " << pos
                                                                   << " outside its prompt of " << base.prompt.size()
                                                                   << " tokens");
      base.placeholders.push_back({pos, PlaceholderKind(p.slot_kind[size_t(k)]), p.slot_id[size_t(k)]});
    }
  }
  if (table.task != Task::Topk) {
    base.answer = tokens_of(p.answer.row(row));
    CKF_CHECK(!base.answer.empty(), task << " sample row " << row << ": empty answer");
    out.push_back(std::move(base));
    return;
  }
  const size_t C = size_t(table.num_candidates);
  for (size_t j = 0; j < s.candidates.size(); ++j) {  // padded candidates are not in the view
    const size_t r = row * C + j;
    CkfExample ex = base;
    const std::span<const int32_t> suffix = soft ? p.suffix_soft.row(r) : p.suffix_text.row(r);
    ex.prompt.insert(ex.prompt.end(), suffix.begin(), suffix.end());
    if (soft) {
      const int32_t pos = int32_t(base.prompt.size()) + p.suffix_slot[r];
      ex.placeholders.push_back({pos, PlaceholderKind::item, s.candidates[j]});
    }
    ex.answer = tokens_of(p.suffix_answer.row(r));
    CKF_CHECK(!ex.answer.empty(), "topk sample row " << row << " candidate " << j << ": empty answer");
    out.push_back(std::move(ex));
  }
}

}  // namespace ckf
