#include "io/sample_rows.h"

#include <vector>

#include "core/check.h"

namespace ckf {

namespace {

template <class T>
void append(std::vector<T>& dst, const std::vector<T>& src, size_t row, size_t width) {
  dst.insert(dst.end(), src.begin() + ptrdiff_t(row * width), src.begin() + ptrdiff_t((row + 1) * width));
}

}  // namespace

void sample_table_append_row(SampleTable& dst, const SampleTable& src, size_t row) {
  CKF_CHECK(row < src.size(), "sample row " << row << " outside a table of " << src.size());
  if (dst.size() == 0) {
    dst.task = src.task;
    dst.split = src.split;
    dst.history_len = src.history_len;
    dst.num_candidates = src.num_candidates;
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
}

}  // namespace ckf
