// Softmax cross-entropy over the rows that were selected (the answer positions); the caller computes
// logits only for those rows, so no (all tokens x vocab) matrix exists.
#pragma once
#include <cstdint>

namespace ckf::cpu {

// losses (M) = -log softmax(logits (M, V))[targets]; rows whose target == ignore_label get loss 0.
// A target outside [0, V) (other than ignore_label) throws naming the row.
void cross_entropy_forward(float* losses, const float* logits, const int32_t* targets, int M, int V,
                           int32_t ignore_label);

// dlogits (M, V) = dlosses[m] * (softmax - onehot(target)); ignored rows get 0. Written, not accumulated.
void cross_entropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dlosses,
                            int M, int V, int32_t ignore_label);

}  // namespace ckf::cpu
