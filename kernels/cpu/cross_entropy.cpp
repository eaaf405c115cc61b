#include "kernels/cpu/cross_entropy.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace ckf::cpu {

static void cross_entropy_check_targets(const int32_t* targets, int M, int V, int32_t ignore_label,
                                        const char* who) {
  for (int m = 0; m < M; m++)
    CKF_CHECK(targets[m] == ignore_label || (targets[m] >= 0 && targets[m] < V),
              who << ": target " << targets[m] << " at row " << m << " is outside the vocabulary [0, " << V
                  << ") and is not the ignore label " << ignore_label);
}

// max and log-sum-exp of one row; the sum runs in double because V is ~50k terms.
static void row_logsumexp(const float* row, int V, float* max_out, double* lse_out) {
  const float mx = *std::max_element(row, row + V);
  double sum = 0.0;
  for (int i = 0; i < V; i++) sum += std::exp(static_cast<double>(row[i] - mx));
  *max_out = mx;
  *lse_out = mx + std::log(sum);
}

void cross_entropy_forward(float* losses, const float* logits, const int32_t* targets, int M, int V,
                           int32_t ignore_label) {
  cross_entropy_check_targets(targets, M, V, ignore_label, "cross_entropy_forward");
  for (int m = 0; m < M; m++) {
    if (targets[m] == ignore_label) {
      losses[m] = 0.0f;
      continue;
    }
    const float* row = logits + static_cast<int64_t>(m) * V;
    float mx;
    double lse;
    row_logsumexp(row, V, &mx, &lse);
    losses[m] = static_cast<float>(lse - row[targets[m]]);
  }
}

void cross_entropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dlosses,
                            int M, int V, int32_t ignore_label) {
  cross_entropy_check_targets(targets, M, V, ignore_label, "cross_entropy_backward");
  for (int m = 0; m < M; m++) {
    float* drow = dlogits + static_cast<int64_t>(m) * V;
    if (targets[m] == ignore_label) {
      std::fill(drow, drow + V, 0.0f);
      continue;
    }
    const float* row = logits + static_cast<int64_t>(m) * V;
    float mx;
    double lse;
    row_logsumexp(row, V, &mx, &lse);
    for (int i = 0; i < V; i++) drow[i] = dlosses[m] * static_cast<float>(std::exp(row[i] - lse));
    drow[targets[m]] -= dlosses[m];
  }
}

}  // namespace ckf::cpu
