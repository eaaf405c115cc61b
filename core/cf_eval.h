// CF-only evaluation of one split: AUC and UAUC on ctr samples, HR@k and NDCG@k on top-k samples
// (scores are <e_u, e_i>), RMSE and MAE of the rating regressor. Absent sample kinds give NaN.
#pragma once
#include <cmath>

#include "core/cf_dataset.h"
#include "core/cf_model.h"
#include "core/cf_regressor.h"

namespace ckf {

struct CfEvalResult {
  double auc = NAN, uauc = NAN, hr = NAN, ndcg = NAN, rmse = NAN, mae = NAN;
};

CfEvalResult cf_evaluate(const CfEmbeddings& emb, const CfRegressor* reg, const CfEvalSplit& split, int k);

}  // namespace ckf
