// Token embedding lookup and its scatter-add backward.
#pragma once
#include <cstdint>

namespace ckf::cpu {

// out (N, C) = table (V, C)[ids (N)]; an id outside [0, V) throws naming the position.
void embedding_forward(float* out, const int32_t* ids, const float* table, int N, int V, int C);

// dtable (V, C) += scatter of dout (N, C) by ids; repeated ids accumulate.
void embedding_backward(float* dtable, const int32_t* ids, const float* dout, int N, int V, int C);

}  // namespace ckf::cpu
