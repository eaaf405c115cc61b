#include "core/ckf_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"
#include "core/metrics.h"

namespace ckf {

const char* eval_kind_name(EvalKind k) {
  switch (k) {
    case EvalKind::ctr: return "ctr";
    case EvalKind::rating: return "rating";
    case EvalKind::sequential: return "sequential";
    case EvalKind::topk: return "topk";
  }
  return "?";
}

namespace {

void check_token(int32_t token, int V, const char* what) {
  CKF_CHECK(token >= 0 && token < V, "answer token " << what << " = " << token << " outside vocab " << V);
}

void check_sample(const EvalInput& input, const EvalSample& s, size_t i) {
  const bool listed = input.kind == EvalKind::sequential || input.kind == EvalKind::topk;
  const size_t want = input.kind == EvalKind::topk ? size_t(s.candidates) : 1;
  CKF_CHECK(s.prompts.size() == want && !s.prompts.empty(),
            eval_kind_name(input.kind) << " sample " << i << ": " << s.prompts.size() << " prompts, expected " << want);
  if (listed)
    CKF_CHECK(s.candidates >= 1 && s.candidates <= input.width && s.label >= 0 && s.label < s.candidates &&
                  s.label == std::floor(s.label),
              eval_kind_name(input.kind) << " sample " << i << ": true candidate " << s.label << " of "
                                         << s.candidates << " (width " << input.width << ")");
}

}  // namespace

float score_yes(const float* logits, const AnswerTokens& t) {
  // P(Yes) / (P(Yes) + P(No)) = sigmoid(l_yes - l_no): the softmax normaliser cancels.
  const double d = double(logits[t.yes]) - double(logits[t.no]);
  return float(1.0 / (1.0 + std::exp(-d)));
}

float score_rating(const float* logits, const AnswerTokens& t) {
  double mx = -INFINITY;
  for (int32_t tok : t.digits) mx = std::max(mx, double(logits[tok]));
  double sum = 0, expect = 0;
  for (int r = 0; r < 5; ++r) {
    const double p = std::exp(double(logits[t.digits[r]]) - mx);
    sum += p;
    expect += p * (r + 1);
  }
  return float(expect / sum);
}

std::vector<float> eval_score_blocks(LogitsSource& source, const EvalInput& input, const AnswerTokens& tokens,
                                     int block, int rank, int ranks) {
  CKF_CHECK(block >= 1 && ranks >= 1 && rank >= 0 && rank < ranks,
            "eval: block " << block << ", rank " << rank << " of " << ranks);
  const int V = source.vocab(), W = input.width;
  CKF_CHECK(W >= 1, "eval: width " << W);
  switch (input.kind) {  // check the answer tokens once, so the per-sample reads need no check
    case EvalKind::ctr:
    case EvalKind::topk:
      check_token(tokens.yes, V, "Yes"), check_token(tokens.no, V, "No");
      CKF_CHECK(tokens.yes != tokens.no, "answer tokens Yes and No are both " << tokens.yes);
      break;
    case EvalKind::rating:
      for (int32_t t : tokens.digits) check_token(t, V, "rating digit");
      break;
    case EvalKind::sequential:
      CKF_CHECK(int(tokens.letters.size()) >= W, "sequential: " << tokens.letters.size() << " letter tokens for "
                                                                << W << " candidates");
      for (int32_t t : tokens.letters) check_token(t, V, "candidate letter");
      break;
  }
  const int64_t n = int64_t(input.samples.size());
  const int64_t blocks = (n + block - 1) / block, owned = (blocks + ranks - 1) / ranks;
  std::vector<float> out(size_t(owned * block * W), 0.0f);
  std::vector<float> logits;
  std::vector<CkfExample> batch;
  for (int64_t j = 0; j < owned; ++j) {
    const int64_t k = rank + j * ranks;
    if (k >= blocks) break;
    const int64_t lo = k * block, hi = std::min(n, lo + block);
    float* dst = out.data() + j * block * W;  // (block, W)
    for (int64_t i = lo; i < hi; ++i) check_sample(input, input.samples[i], size_t(i));
    if (input.kind == EvalKind::topk) {
      for (int64_t i = lo; i < hi; ++i) {
        const EvalSample& s = input.samples[i];
        logits.resize(s.prompts.size() * V);
        source.candidate_logits(s.prompts, s.prefix_len, logits.data());
        float* row = dst + (i - lo) * W;
        std::fill(row, row + W, std::numeric_limits<float>::lowest());
        for (size_t c = 0; c < s.prompts.size(); ++c) row[c] = score_yes(logits.data() + c * V, tokens);
      }
      continue;
    }
    batch.clear();
    for (int64_t i = lo; i < hi; ++i) batch.push_back(input.samples[i].prompts[0]);
    logits.resize(batch.size() * V);
    source.prompt_logits(batch, logits.data());
    for (int64_t i = lo; i < hi; ++i) {
      const float* l = logits.data() + (i - lo) * V;
      float* row = dst + (i - lo) * W;
      if (input.kind == EvalKind::ctr) row[0] = score_yes(l, tokens);
      else if (input.kind == EvalKind::rating) row[0] = score_rating(l, tokens);
      else
        for (int c = 0; c < W; ++c)
          row[c] = c < input.samples[i].candidates ? l[tokens.letters[c]] : std::numeric_limits<float>::lowest();
    }
  }
  return out;
}

namespace {

// The metrics of the samples idx (in sample order) of one group.
std::vector<std::pair<std::string, double>> group_metrics(const EvalInput& input, std::span<const float> scores,
                                                          const std::vector<int64_t>& idx) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const int W = input.width;
  std::vector<float> s, target;
  std::vector<uint8_t> labels;
  std::vector<int32_t> users;
  for (int64_t i : idx) {
    const EvalSample& x = input.samples[i];
    const float* row = scores.data() + i * W;
    if (input.kind == EvalKind::ctr || input.kind == EvalKind::rating) {
      s.push_back(row[0]);
      target.push_back(x.label);
      labels.push_back(x.label > 0.5f);
      users.push_back(x.user);
    } else {  // the true candidate first, then the others in order, as metric_topk expects
      const int pos = int(x.label);
      s.push_back(row[pos]);
      for (int c = 0; c < W; ++c)
        if (c != pos) s.push_back(row[c]);
    }
  }
  switch (input.kind) {
    case EvalKind::ctr: {
      const bool both = std::count(labels.begin(), labels.end(), 1) > 0 && std::count(labels.begin(), labels.end(), 0) > 0;
      // UAUC needs one user with both classes; it errors otherwise, so test for it first.
      bool user_both = false;
      std::vector<std::pair<int32_t, uint8_t>> ul;
      for (size_t i = 0; i < users.size(); ++i) ul.push_back({users[i], labels[i]});
      std::sort(ul.begin(), ul.end());
      for (size_t i = 1; i < ul.size(); ++i) user_both |= ul[i].first == ul[i - 1].first && ul[i].second != ul[i - 1].second;
      return {{"auc", both ? metric_auc(s, labels) : nan}, {"uauc", user_both ? metric_uauc(s, labels, users) : nan}};
    }
    case EvalKind::rating:
      if (s.empty()) return {{"rmse", nan}, {"mae", nan}};
      return {{"rmse", metric_rmse(s, target)}, {"mae", metric_mae(s, target)}};
    case EvalKind::sequential: {
      if (s.empty()) return {{"hr@1", nan}, {"hr@5", nan}, {"ndcg@5", nan}};
      const TopkMetrics m1 = metric_topk(s, W, 1), m5 = metric_topk(s, W, 5);
      return {{"hr@1", m1.hr}, {"hr@5", m5.hr}, {"ndcg@5", m5.ndcg}};
    }
    case EvalKind::topk: {
      if (s.empty()) return {{"hr@10", nan}, {"ndcg@10", nan}};
      const TopkMetrics m = metric_topk(s, W, 10);
      return {{"hr@10", m.hr}, {"ndcg@10", m.ndcg}};
    }
  }
  return {};
}

}  // namespace

EvalTaskResult eval_metrics(const EvalInput& input, std::span<const float> scores) {
  const size_t n = input.samples.size();
  CKF_CHECK(scores.size() == n * size_t(input.width),
            eval_kind_name(input.kind) << ": " << scores.size() << " scores for " << n << " samples of width " << input.width);
  EvalTaskResult r;
  r.kind = input.kind;
  std::array<std::vector<int64_t>, 3> idx;
  for (size_t i = 0; i < n; ++i) {
    idx[0].push_back(int64_t(i));
    idx[input.samples[i].cold ? 2 : 1].push_back(int64_t(i));
  }
  const char* names[3] = {"all", "warm", "cold"};
  for (int g = 0; g < 3; ++g) {
    r.groups[g].name = names[g];
    r.groups[g].samples = int64_t(idx[g].size());
    r.groups[g].metrics = group_metrics(input, scores, idx[g]);
  }
  return r;
}

}  // namespace ckf
