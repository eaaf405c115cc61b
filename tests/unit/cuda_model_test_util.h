// Shared helpers of the device-model tests (cuda_llama_step_test, cuda_ckf_step_test): rounding a
// model's parameters to the bf16 the device stores, and comparing a device tensor with its CPU
// twin relative to the tensor's scale.
#pragma once
#include "tests/unit/cuda_test_util.h"

#ifdef CKF_WITH_CUDA

#include <cmath>
#include <string>
#include <vector>

#include "core/half.h"
#include "core/llama_model.h"

namespace ckf::test {

inline void round_to_bf16(Tensor& t) {
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = bf16_to_f32(f32_to_bf16(p[i]));
}

// Every parameter the device stores in bf16 (rounding a tied lm_head twice changes nothing).
inline void round_model_to_bf16(LlamaModel& m) {
  round_to_bf16(m.weights.embedding);
  round_to_bf16(m.weights.norm);
  round_to_bf16(m.weights.lm_head);
  for (LlamaLayerWeights& w : m.weights.layers)
    for (Tensor* t : {&w.attn_norm, &w.wq, &w.wk, &w.wv, &w.wo, &w.mlp_norm, &w.w_gate, &w.w_up, &w.w_down})
      round_to_bf16(*t);
  for (LoraParam& p : multilora_params(m.lora)) round_to_bf16(p.param);
}

inline std::vector<float> to_floats(const Tensor& t) {
  return {t.data<const float>(), t.data<const float>() + t.numel()};
}

// |got - want| <= rel * max|want| elementwise and ||got - want|| <= rel_l2 * ||want||; a zero
// reference must be matched exactly.
inline void expect_near_scaled(const std::vector<float>& got, const std::vector<float>& want, double rel,
                               double rel_l2, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0.0, norm = 0.0, diff_norm = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, std::fabs(double(want[i])));
    norm += double(want[i]) * want[i];
    diff_norm += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
  }
  if (scale == 0.0) {
    EXPECT_EQ(got, want) << what << ": the reference is zero";
    return;
  }
  int bad = 0;
  for (size_t i = 0; i < want.size() && bad < 5; ++i)
    if (std::fabs(double(got[i]) - want[i]) > rel * scale) {
      ADD_FAILURE() << what << "[" << i << "] = " << got[i] << ", CPU " << want[i] << " (scale " << scale << ")";
      ++bad;
    }
  EXPECT_LE(std::sqrt(diff_norm), rel_l2 * std::sqrt(norm)) << what << ": relative L2 error";
}

}  // namespace ckf::test

#endif  // CKF_WITH_CUDA
