// Rating baseline on frozen CF embeddings: ridge regression of the rating on the features
// [e_u * e_i, e_u, e_i, 1] (3 dim + 1), solved in closed form (normal equations, Cholesky, double).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/cf_dataset.h"
#include "core/cf_model.h"

namespace ckf {

struct CfRegressor {
  int64_t dim = 0;
  std::vector<double> w;  // (3 dim + 1) weights of [e_u * e_i, e_u, e_i, 1]
};

// Minimises sum (w.x - r)^2 + ridge |w|^2 (the bias is penalised too, keeping the system
// positive definite). Errors on an empty sample list.
CfRegressor cf_regressor_fit(const CfEmbeddings& emb, std::span<const CfRatingSample> samples, double ridge);

float cf_regressor_predict(const CfRegressor& reg, const CfEmbeddings& emb, int32_t user, int32_t item);

}  // namespace ckf
