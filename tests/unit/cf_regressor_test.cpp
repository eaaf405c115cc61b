// Ridge rating regressor: on ratings that are an exact linear function of [e_u * e_i, e_u, e_i, 1]
// it must recover the planted weights (tiny ridge, tolerance 1e-6 from the O(ridge) shrinkage and
// rounding); with a huge ridge the weights shrink towards zero.
#include <gtest/gtest.h>

#include <random>

#include "core/cf_regressor.h"
#include "core/check.h"

using namespace ckf;

TEST(CfRegressor, RecoversPlantedLinearWeights) {
  for (int64_t dim : {1, 4, 9}) {
    std::mt19937 rng{unsigned(dim)};
    std::normal_distribution<float> nd(0.0f, 1.0f);
    CfEmbeddings e{"mf", 23, 17, dim, std::vector<float>(23 * dim), std::vector<float>(17 * dim)};
    for (float& x : e.user_emb) x = nd(rng);
    for (float& x : e.item_emb) x = nd(rng);
    const int64_t f = 3 * dim + 1;
    std::vector<double> w_true(f);
    for (double& w : w_true) w = nd(rng);
    std::vector<CfRatingSample> samples;
    for (int32_t u = 0; u < 23; ++u)
      for (int32_t i = 0; i < 17; ++i) {
        double r = w_true[3 * dim];
        for (int64_t k = 0; k < dim; ++k)
          r += w_true[k] * double(e.user_emb[u * dim + k]) * e.item_emb[i * dim + k] +
               w_true[dim + k] * e.user_emb[u * dim + k] + w_true[2 * dim + k] * e.item_emb[i * dim + k];
        samples.push_back({u, i, float(r)});
      }
    CfRegressor reg = cf_regressor_fit(e, samples, 1e-9);
    ASSERT_EQ(int64_t(reg.w.size()), f);
    for (int64_t k = 0; k < f; ++k) EXPECT_NEAR(reg.w[k], w_true[k], 1e-5) << "dim " << dim << " weight " << k;
    EXPECT_NEAR(cf_regressor_predict(reg, e, 5, 7), samples[5 * 17 + 7].rating, 1e-4);

    CfRegressor shrunk = cf_regressor_fit(e, samples, 1e9);
    for (double w : shrunk.w) EXPECT_LT(std::fabs(w), 1e-4);
  }
}

TEST(CfRegressor, BadInputIsAnError) {
  CfEmbeddings e{"mf", 2, 2, 1, {0.5f, -1.0f}, {2.0f, 0.25f}};
  EXPECT_THROW(cf_regressor_fit(e, std::vector<CfRatingSample>{}, 1.0), Error);
  EXPECT_THROW(cf_regressor_fit(e, std::vector<CfRatingSample>{{0, 2, 3.0f}}, 1.0), Error);
  EXPECT_THROW(cf_regressor_fit(e, std::vector<CfRatingSample>{{0, 1, NAN}}, 1.0), Error);
}
