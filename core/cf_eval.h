// CF-only evaluation of one split: AUC and UAUC on ctr samples, HR@k and NDCG@k on top-k samples
// (scores are <e_u, e_i>), RMSE and MAE of the rating regressor. Absent sample kinds give NaN.
// cf_eval_scores scores the samples `ckf eval` gives the LLM instead, so the CF-only baseline and
// the LLM rows of a table are measured on the same samples with the same metrics.
#pragma once
#include <cmath>
#include <vector>

#include "core/cf_dataset.h"
#include "core/cf_model.h"
#include "core/cf_regressor.h"
#include "core/ckf_eval.h"

namespace ckf {

struct CfEvalResult {
  double auc = NAN, uauc = NAN, hr = NAN, ndcg = NAN, rmse = NAN, mae = NAN;
};

CfEvalResult cf_evaluate(const CfEmbeddings& emb, const CfRegressor* reg, const CfEvalSplit& split, int k);

// Scores (N, width) in sample order, laid out as eval_score_blocks lays out the model's, for
// eval_metrics: ctr, sequential, topk: <e_u, e_i> of the item / of each candidate (the lowest float
// past a sample's candidates); rating: the regressor's prediction. Reads EvalSample::items.
std::vector<float> cf_eval_scores(const CfEmbeddings& emb, const CfRegressor& reg, const EvalInput& input);

}  // namespace ckf
