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

// Log-sum-exp of one row, max-subtracted so large logits cannot overflow; the sum of the fp32
// exponentials runs in double because V is ~50k terms.
static float row_logsumexp(const float* row, int V) {
  const float mx = *std::max_element(row, row + V);
  double sum = 0.0;
  for (int i = 0; i < V; i++) sum += std::exp(row[i] - mx);
  return static_cast<float>(mx + std::log(sum));
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
    losses[m] = row_logsumexp(row, V) - row[targets[m]];
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
    const float lse = row_logsumexp(row, V);
    for (int i = 0; i < V; i++) drow[i] = dlosses[m] * std::exp(row[i] - lse);
    drow[targets[m]] -= dlosses[m];
  }
}

}  // namespace ckf::cpu
