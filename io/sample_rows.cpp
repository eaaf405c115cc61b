#include "io/sample_rows.h"

#include <vector>

#include "core/check.h"

namespace ckf {

namespace {

template <class T>
void append(std::vector<T>& dst, const std::vector<T>& src, size_t row, size_t width) {
  dst.insert(dst.end(), src.begin() + ptrdiff_t(row * width), src.begin() + ptrdiff_t((row + 1) * width));
}

// Appends row r of a ragged column.
void append_ragged(Ragged& dst, const Ragged& src, size_t r) { dst.push(src.row(r)); }

// The prompt columns of one sample: its soft/text/answer rows, its placeholder slots and, for
// topk, its C candidate suffix rows.
void append_prompts(PromptColumns& dst, const PromptColumns& src, size_t row, size_t C) {
  append_ragged(dst.soft, src.soft, row);
  append_ragged(dst.text, src.text, row);
  append_ragged(dst.answer, src.answer, row);
  const int64_t s0 = src.slot_offset[row], s1 = src.slot_offset[row + 1];
  dst.slot_position.insert(dst.slot_position.end(), src.slot_position.begin() + s0, src.slot_position.begin() + s1);
  dst.slot_kind.insert(dst.slot_kind.end(), src.slot_kind.begin() + s0, src.slot_kind.begin() + s1);
  dst.slot_id.insert(dst.slot_id.end(), src.slot_id.begin() + s0, src.slot_id.begin() + s1);
  dst.slot_offset.push_back(int64_t(dst.slot_id.size()));
  if (src.suffix_slot.empty()) return;  // not topk
  for (size_t j = row * C; j < (row + 1) * C; ++j) {
    append_ragged(dst.suffix_soft, src.suffix_soft, j);
    append_ragged(dst.suffix_text, src.suffix_text, j);
    append_ragged(dst.suffix_answer, src.suffix_answer, j);
    dst.suffix_slot.push_back(src.suffix_slot[j]);
  }
}

}  // namespace

void sample_table_append_row(SampleTable& dst, const SampleTable& src, size_t row) {
  CKF_CHECK(row < src.size(), "sample row " << row << " outside a table of " << src.size());
  if (dst.size() == 0) {
    dst.task = src.task;
    dst.split = src.split;
    dst.history_len = src.history_len;
    dst.num_candidates = src.num_candidates;
    dst.has_prompts = src.has_prompts;
    dst.prompts.clear();
    dst.prompts.placeholder_id = src.prompts.placeholder_id;
  }
  CKF_CHECK(dst.task == src.task && dst.split == src.split && dst.history_len == src.history_len &&
                dst.num_candidates == src.num_candidates,
            "gathering a " << task_name(src.task) << "/" << split_name(src.split) << " sample (history_len "
                           << src.history_len << ", num_candidates " << src.num_candidates << ") into a "
                           << task_name(dst.task) << "/" << split_name(dst.split) << " table (history_len "
                           << dst.history_len << ", num_candidates " << dst.num_candidates << ")");
  const size_t H = size_t(src.history_len), C = size_t(src.num_candidates);
  append(dst.user, src.user, row, 1);
  append(dst.target, src.target, row, 1);
  append(dst.label, src.label, row, 1);
  append(dst.history, src.history, row, H);
  append(dst.history_rating, src.history_rating, row, H);
  append(dst.candidates, src.candidates, row, C);
  CKF_CHECK(dst.has_prompts == src.has_prompts && dst.prompts.placeholder_id == src.prompts.placeholder_id,
            "gathering a " << task_name(src.task) << " sample " << (src.has_prompts ? "with" : "without")
                           << " prompts (placeholder id " << src.prompts.placeholder_id << ") into a table "
                           << (dst.has_prompts ? "with" : "without") << " prompts (placeholder id "
                           << dst.prompts.placeholder_id << ")");
  if (src.has_prompts) append_prompts(dst.prompts, src.prompts, row, C);
}

}  // namespace ckf
