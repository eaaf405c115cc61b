#include "core/cf_regressor.h"

#include <cblas.h>

#include <cmath>

#include "core/check.h"

namespace ckf {

// x (3 dim + 1) = [e_u * e_i, e_u, e_i, 1]
static void features(const CfEmbeddings& emb, int32_t user, int32_t item, double* x) {
  CKF_CHECK(user >= 0 && user < emb.n_users && item >= 0 && item < emb.n_items,
            "rating regressor: (user " << user << ", item " << item << ") out of range");
  const int64_t d = emb.dim;
  const float* eu = &emb.user_emb[user * d];
  const float* ei = &emb.item_emb[item * d];
  for (int64_t k = 0; k < d; ++k) x[k] = double(eu[k]) * ei[k], x[d + k] = eu[k], x[2 * d + k] = ei[k];
  x[3 * d] = 1.0;
}

CfRegressor cf_regressor_fit(const CfEmbeddings& emb, std::span<const CfRatingSample> samples, double ridge) {
  CKF_CHECK(!samples.empty(), "rating regressor: no training ratings");
  CKF_CHECK(ridge > 0, "rating regressor: ridge " << ridge << " must be > 0");
  const int64_t f = 3 * emb.dim + 1, chunk = 1024;
  std::vector<double> xtx(f * f, 0.0), xty(f, 0.0);  // (f, f) upper triangle used, (f)
  std::vector<double> x(chunk * f), y(chunk);          // (chunk, f), (chunk)
  for (size_t s0 = 0; s0 < samples.size(); s0 += chunk) {
    int64_t rows = int64_t(std::min<size_t>(chunk, samples.size() - s0));
    for (int64_t r = 0; r < rows; ++r) {
      const CfRatingSample& s = samples[s0 + r];
      CKF_CHECK(std::isfinite(s.rating), "rating regressor: rating " << s0 + r << " is " << s.rating);
      features(emb, s.user, s.item, &x[r * f]);
      y[r] = s.rating;
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, int(f), int(rows), 1.0, x.data(), int(f), 1.0, xtx.data(),
                int(f));
    cblas_dgemv(CblasRowMajor, CblasTrans, int(rows), int(f), 1.0, x.data(), int(f), y.data(), 1, 1.0, xty.data(), 1);
  }
  for (int64_t k = 0; k < f; ++k) xtx[k * f + k] += ridge;
  // Cholesky A = U^T U on the upper triangle, then two triangular solves.
  for (int64_t j = 0; j < f; ++j) {
    for (int64_t k = 0; k < j; ++k) {
      double s = xtx[k * f + j];
      for (int64_t m = 0; m < k; ++m) s -= xtx[m * f + k] * xtx[m * f + j];
      xtx[k * f + j] = s / xtx[k * f + k];
    }
    double diag = xtx[j * f + j];
    for (int64_t m = 0; m < j; ++m) diag -= xtx[m * f + j] * xtx[m * f + j];
    CKF_CHECK(diag > 0, "rating regressor: normal equations not positive definite (feature " << j << ")");
    xtx[j * f + j] = std::sqrt(diag);
  }
  CfRegressor reg{emb.dim, xty};
  for (int64_t j = 0; j < f; ++j) {  // U^T z = X^T y
    for (int64_t m = 0; m < j; ++m) reg.w[j] -= xtx[m * f + j] * reg.w[m];
    reg.w[j] /= xtx[j * f + j];
  }
  for (int64_t j = f - 1; j >= 0; --j) {  // U w = z
    for (int64_t m = j + 1; m < f; ++m) reg.w[j] -= xtx[j * f + m] * reg.w[m];
    reg.w[j] /= xtx[j * f + j];
  }
  return reg;
}

float cf_regressor_predict(const CfRegressor& reg, const CfEmbeddings& emb, int32_t user, int32_t item) {
  CKF_CHECK(reg.dim == emb.dim, "rating regressor: fitted for dim " << reg.dim << ", embeddings have " << emb.dim);
  std::vector<double> x(reg.w.size());
  features(emb, user, item, x.data());
  double p = 0;
  for (size_t k = 0; k < x.size(); ++k) p += reg.w[k] * x[k];
  return float(p);
}

}  // namespace ckf
