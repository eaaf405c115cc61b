#include "kernels/cpu/rope.h"

#include <cmath>
#include <vector>

#include "core/check.h"

namespace ckf::cpu {

// Rotates each (x[i], x[i + D/2]) pair by angle sign * pos * theta^(-2i/D). The angle is computed
// in double so that positions in the thousands keep full fp32 accuracy of cos and sin.
static void rope_rotate(float* x, const int32_t* pos, int N, int H, int D, float theta, double sign) {
  CKF_CHECK(D % 2 == 0, "rope: head size " << D << " must be even");
  const int half = D / 2;
  std::vector<double> inv_freq(half);  // (D/2)
  for (int i = 0; i < half; i++) inv_freq[i] = std::pow(static_cast<double>(theta), -2.0 * i / D);
  std::vector<float> cosv(half), sinv(half);  // (D/2) for the current token
  for (int n = 0; n < N; n++) {
    CKF_CHECK(pos[n] >= 0, "rope: negative position " << pos[n] << " at token " << n);
    for (int i = 0; i < half; i++) {
      const double angle = sign * pos[n] * inv_freq[i];
      cosv[i] = static_cast<float>(std::cos(angle));
      sinv[i] = static_cast<float>(std::sin(angle));
    }
    for (int h = 0; h < H; h++) {
      float* v = x + (static_cast<int64_t>(n) * H + h) * D;
      for (int i = 0; i < half; i++) {
        const float a = v[i], b = v[i + half];
        v[i] = a * cosv[i] - b * sinv[i];
        v[i + half] = b * cosv[i] + a * sinv[i];
      }
    }
  }
}

void rope_forward(float* x, const int32_t* pos, int N, int H, int D, float theta) {
  rope_rotate(x, pos, N, H, D, theta, 1.0);
}

// The rotation is orthogonal, so its Jacobian transpose is the rotation by the opposite angle.
void rope_backward(float* dx, const int32_t* pos, int N, int H, int D, float theta) {
  rope_rotate(dx, pos, N, H, D, theta, -1.0);
}

}  // namespace ckf::cpu
