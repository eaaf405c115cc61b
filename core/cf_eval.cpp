#include "core/cf_eval.h"

#include <limits>

#include "core/check.h"
#include "core/metrics.h"

namespace ckf {

CfEvalResult cf_evaluate(const CfEmbeddings& emb, const CfRegressor* reg, const CfEvalSplit& split, int k) {
  CfEvalResult r;
  if (!split.ctr.empty()) {
    std::vector<float> score;
    std::vector<uint8_t> label;
    std::vector<int32_t> user;
    for (const CfCtrSample& s : split.ctr)
      score.push_back(cf_score(emb, s.user, s.item)), label.push_back(s.label), user.push_back(s.user);
    r.auc = metric_auc(score, label);
    r.uauc = metric_uauc(score, label, user);
  }
  if (!split.topk_users.empty()) {
    std::vector<float> score(split.topk_items.size());  // (n_topk, topk_candidates)
    for (size_t x = 0; x < score.size(); ++x)
      score[x] = cf_score(emb, split.topk_users[x / split.topk_candidates], split.topk_items[x]);
    TopkMetrics m = metric_topk(score, split.topk_candidates, k);
    r.hr = m.hr, r.ndcg = m.ndcg;
  }
  if (reg && !split.rating.empty()) {
    std::vector<float> pred, target;
    for (const CfRatingSample& s : split.rating)
      pred.push_back(cf_regressor_predict(*reg, emb, s.user, s.item)), target.push_back(s.rating);
    r.rmse = metric_rmse(pred, target);
    r.mae = metric_mae(pred, target);
  }
  return r;
}

std::vector<float> cf_eval_scores(const CfEmbeddings& emb, const CfRegressor& reg, const EvalInput& input) {
  const int W = input.width;
  CKF_CHECK(W >= 1, "CF eval: width " << W);
  std::vector<float> out(input.samples.size() * size_t(W), std::numeric_limits<float>::lowest());
  for (size_t i = 0; i < input.samples.size(); ++i) {
    const EvalSample& s = input.samples[i];
    const size_t want = input.kind == EvalKind::ctr || input.kind == EvalKind::rating ? 1 : size_t(s.candidates);
    CKF_CHECK(s.items.size() == want && want <= size_t(W),
              eval_kind_name(input.kind) << " sample " << i << ": " << s.items.size() << " item ids, expected " << want
                                         << " (width " << W << ")");
    float* row = out.data() + i * W;
    if (input.kind == EvalKind::rating) {
      row[0] = cf_regressor_predict(reg, emb, s.user, s.items[0]);
      continue;
    }
    for (size_t c = 0; c < want; ++c) row[c] = cf_score(emb, s.user, s.items[c]);
  }
  return out;
}

}  // namespace ckf
