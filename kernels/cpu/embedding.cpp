#include "kernels/cpu/embedding.h"

#include <algorithm>

#include "core/check.h"

namespace ckf::cpu {

// Both directions validate first so that a bad id leaves the outputs untouched.
static void embedding_check_ids(const int32_t* ids, int N, int V, const char* who) {
  for (int i = 0; i < N; i++)
    CKF_CHECK(ids[i] >= 0 && ids[i] < V, who << ": token id " << ids[i] << " at position " << i
                                             << " is outside the vocabulary [0, " << V << ")");
}

void embedding_forward(float* out, const int32_t* ids, const float* table, int N, int V, int C) {
  embedding_check_ids(ids, N, V, "embedding_forward");
  for (int i = 0; i < N; i++)
    std::copy_n(table + static_cast<int64_t>(ids[i]) * C, C, out + static_cast<int64_t>(i) * C);
}

void embedding_backward(float* dtable, const int32_t* ids, const float* dout, int N, int V, int C) {
  embedding_check_ids(ids, N, V, "embedding_backward");
  for (int i = 0; i < N; i++) {
    float* row = dtable + static_cast<int64_t>(ids[i]) * C;
    const float* d = dout + static_cast<int64_t>(i) * C;
    for (int c = 0; c < C; c++) row[c] += d[c];
  }
}

}  // namespace ckf::cpu
