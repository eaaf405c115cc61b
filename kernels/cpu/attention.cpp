#include "kernels/cpu/attention.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/check.h"

namespace ckf::cpu {

// Per (batch, query head) the work is three or four small GEMMs on strided views of the (B, T, H, D)
// layout, done by cblas with the row stride as leading dimension: no head transposes are copied out.
// The full (T, T) score matrix is computed and the upper triangle discarded: it doubles the
// flops of one GEMM but keeps each step a single BLAS call.

namespace {

void attention_check_heads(int H, int KVH) {
  CKF_CHECK(KVH > 0 && H % KVH == 0, "attention: " << H << " query heads are not a multiple of " << KVH
                                                    << " key/value heads");
}

// C (M, N) = alpha * op(A) @ op(B) + beta * C with explicit row strides.
void sgemm_ld(bool ta, bool tb, int M, int N, int K, float alpha, const float* a, int64_t lda, const float* b,
              int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

}  // namespace

void attention_forward(float* out, float* att, const float* q, const float* k, const float* v, int B, int T, int H,
                       int KVH, int D) {
  attention_check_heads(H, KVH);
  const int64_t q_row = static_cast<int64_t>(H) * D, kv_row = static_cast<int64_t>(KVH) * D;  // row strides
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int group = H / KVH;
  for (int b = 0; b < B; b++) {
    for (int h = 0; h < H; h++) {
      const int kvh = h / group;
      const float* qh = q + static_cast<int64_t>(b) * T * q_row + static_cast<int64_t>(h) * D;
      const float* kh = k + static_cast<int64_t>(b) * T * kv_row + static_cast<int64_t>(kvh) * D;
      const float* vh = v + static_cast<int64_t>(b) * T * kv_row + static_cast<int64_t>(kvh) * D;
      float* oh = out + static_cast<int64_t>(b) * T * q_row + static_cast<int64_t>(h) * D;
      float* p = att + (static_cast<int64_t>(b) * H + h) * T * T;  // (T, T)
      sgemm_ld(false, true, T, T, D, scale, qh, q_row, kh, kv_row, 0.0f, p, T);  // scores = q k^T / sqrt(D)
      for (int t = 0; t < T; t++) {
        float* row = p + static_cast<int64_t>(t) * T;
        const float mx = *std::max_element(row, row + t + 1);
        float sum = 0.0f;
        for (int u = 0; u <= t; u++) {
          row[u] = std::exp(row[u] - mx);
          sum += row[u];
        }
        const float inv = 1.0f / sum;
        for (int u = 0; u <= t; u++) row[u] *= inv;
        std::fill(row + t + 1, row + T, 0.0f);  // causal mask
      }
      sgemm_ld(false, false, T, D, T, 1.0f, p, T, vh, kv_row, 0.0f, oh, q_row);  // out = att v
    }
  }
}

// With P = softmax(S), S = scale q k^T, O = P v:
// dP = dO v^T;  dv += P^T dO;  dS = P * (dP - rowsum(P * dP));  dq += scale dS k;  dk += scale dS^T q.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* att, int B, int T, int H, int KVH, int D) {
  attention_check_heads(H, KVH);
  const int64_t q_row = static_cast<int64_t>(H) * D, kv_row = static_cast<int64_t>(KVH) * D;  // row strides
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int group = H / KVH;
  std::vector<float> dp(static_cast<size_t>(T) * T);  // (T, T) gradient w.r.t. probabilities, then scores
  for (int b = 0; b < B; b++) {
    for (int h = 0; h < H; h++) {
      const int kvh = h / group;
      const int64_t qoff = static_cast<int64_t>(b) * T * q_row + static_cast<int64_t>(h) * D;
      const int64_t kvoff = static_cast<int64_t>(b) * T * kv_row + static_cast<int64_t>(kvh) * D;
      const float* p = att + (static_cast<int64_t>(b) * H + h) * T * T;  // (T, T)
      sgemm_ld(false, true, T, T, D, 1.0f, dout + qoff, q_row, v + kvoff, kv_row, 0.0f, dp.data(), T);
      sgemm_ld(true, false, T, D, T, 1.0f, p, T, dout + qoff, q_row, 1.0f, dv + kvoff, kv_row);
      for (int t = 0; t < T; t++) {
        const float* prow = p + static_cast<int64_t>(t) * T;
        float* drow = dp.data() + static_cast<int64_t>(t) * T;
        float dot = 0.0f;
        for (int u = 0; u <= t; u++) dot += prow[u] * drow[u];
        for (int u = 0; u <= t; u++) drow[u] = prow[u] * (drow[u] - dot);
        std::fill(drow + t + 1, drow + T, 0.0f);
      }
      sgemm_ld(false, false, T, D, T, scale, dp.data(), T, k + kvoff, kv_row, 1.0f, dq + qoff, q_row);
      sgemm_ld(true, false, T, D, T, scale, dp.data(), T, q + qoff, q_row, 1.0f, dk + kvoff, kv_row);
    }
  }
}

}  // namespace ckf::cpu
