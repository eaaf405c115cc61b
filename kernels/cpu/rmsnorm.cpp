#include "kernels/cpu/rmsnorm.h"

#include <cmath>
#include <cstdint>

namespace ckf::cpu {

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps) {
  for (int n = 0; n < N; n++) {
    const float* x = inp + static_cast<int64_t>(n) * C;
    float* y = out + static_cast<int64_t>(n) * C;
    double ss = 0.0;  // double: C is up to a few thousand and the mean must not lose the small entries
    for (int c = 0; c < C; c++) ss += static_cast<double>(x[c]) * x[c];
    const float r = static_cast<float>(1.0 / std::sqrt(ss / C + eps));
    rstd[n] = r;
    for (int c = 0; c < C; c++) y[c] = x[c] * r * weight[c];
  }
}

// With xhat = x * r and r = (mean(x^2) + eps)^(-1/2):
// dx = r * (w * dy) - r^3 / C * x * sum(w * dy * x);  dw = sum over rows of dy * xhat.
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int N, int C) {
  for (int n = 0; n < N; n++) {
    const float* x = inp + static_cast<int64_t>(n) * C;
    const float* dy = dout + static_cast<int64_t>(n) * C;
    float* dx = dinp + static_cast<int64_t>(n) * C;
    const float r = rstd[n];
    double dot = 0.0;
    for (int c = 0; c < C; c++) dot += static_cast<double>(weight[c]) * dy[c] * x[c];
    const float k = static_cast<float>(dot * r * r * r / C);
    for (int c = 0; c < C; c++) dx[c] += r * weight[c] * dy[c] - k * x[c];
    if (dweight)
      for (int c = 0; c < C; c++) dweight[c] += dy[c] * x[c] * r;
  }
}

}  // namespace ckf::cpu
