#include "io/eval_answers.h"

#include <algorithm>
#include <string>

#include "core/check.h"
#include "io/prompt_templates.h"

namespace ckf {

AnswerTokens answer_tokens_from(const Tokenizer& tokenizer, int n_letters) {
  CKF_CHECK(n_letters >= 0 && n_letters <= 26, "answer letters: " << n_letters << " candidates, at most 26");
  auto first = [&](const std::string& text) {
    const std::vector<int32_t> ids = tokenizer.encode(text, false);
    CKF_CHECK(!ids.empty(), "answer \"" << text << "\" encodes to no token");
    return ids[0];
  };
  AnswerTokens t;
  t.yes = first("Yes");
  t.no = first("No");
  for (int r = 0; r < 5; ++r) t.digits[size_t(r)] = first(std::to_string(r + 1));
  for (int c = 0; c < n_letters; ++c) t.letters.push_back(first(std::string(1, char('A' + c))));
  auto distinct = [](std::vector<int32_t> ids, const char* what) {
    std::sort(ids.begin(), ids.end());
    CKF_CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end(),
              "the " << what << " answers share their first token: the scorer cannot tell them apart");
  };
  distinct({t.yes, t.no}, "Yes/No");
  distinct({t.digits.begin(), t.digits.end()}, "rating digit");
  distinct(t.letters, "candidate letter");
  return t;
}

void answer_tokens_check(const SampleTable& table, const AnswerTokens& tokens, int64_t max_samples) {
  CKF_CHECK(table.has_prompts, task_name(table.task) << " samples carry no prompts (schema v1)");
  const int64_t n = max_samples < 0 ? int64_t(table.size()) : std::min<int64_t>(max_samples, int64_t(table.size()));
  auto expect = [&](std::span<const int32_t> row, int32_t want, int64_t i, const char* what) {
    CKF_CHECK(!row.empty() && row[0] == want, task_name(table.task) << " sample " << i << ": answer of "
                                                                     << row.size() << " tokens starts with "
                                                                     << (row.empty() ? -1 : row[0]) << ", not the "
                                                                     << what << " token " << want);
  };
  for (int64_t i = 0; i < n; ++i) {
    const SampleView v = table.at(size_t(i));
    const std::span<const int32_t> ans = table.prompts.answer.row(size_t(i));
    switch (table.task) {
      case Task::Ctr: expect(ans, v.label > 0.5f ? tokens.yes : tokens.no, i, v.label > 0.5f ? "Yes" : "No"); break;
      case Task::Rating: expect(ans, tokens.digits[size_t(prompt_rating_digit(v.label) - 1)], i, "rating digit"); break;
      case Task::Sequential:
        CKF_CHECK(v.label >= 0 && size_t(v.label) < tokens.letters.size(), "sequential sample " << i << ": label " << v.label);
        expect(ans, tokens.letters[size_t(v.label)], i, "letter");
        break;
      case Task::Topk:
        for (size_t c = 0; c < v.candidates.size(); ++c) {
          const size_t row = size_t(i) * size_t(table.num_candidates) + c;
          expect(table.prompts.suffix_answer.row(row), c == size_t(v.label) ? tokens.yes : tokens.no, i,
                 c == size_t(v.label) ? "Yes" : "No");
        }
        break;
    }
  }
}

}  // namespace ckf
