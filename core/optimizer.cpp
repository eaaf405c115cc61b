#include "core/optimizer.h"

#include <cmath>
#include <cstring>

#include "core/check.h"
#include "kernels/cpu/grad_norm.h"

namespace ckf {

static Param moment_like(const Param& p) {
  return Param{p.name, Tensor::zeros(p.value.shape()), Tensor(), p.global_shape, p.split_dim, p.split_offset};
}

AdamW::AdamW(ParamRefs params, const OptimizerConfig& cfg, std::vector<bool> count_in_norm)
    : params_(std::move(params)), cfg_(cfg), count_in_norm_(std::move(count_in_norm)) {
  lr_schedule_check(cfg_.schedule);
  if (count_in_norm_.empty()) count_in_norm_.assign(params_.size(), true);
  CKF_CHECK(count_in_norm_.size() == params_.size(), "AdamW: " << count_in_norm_.size()
                                                                << " count_in_norm flags for " << params_.size() << " params");
  for (Param* p : params_) {
    CKF_CHECK(p != nullptr, "AdamW: null Param in the list");
    CKF_CHECK(p->value.dtype() == DType::f32 && p->grad.dtype() == DType::f32 && p->value.shape() == p->grad.shape(),
              "AdamW: param '" << p->name << "' needs f32 value and grad of one shape, got value "
                               << p->value.describe() << ", grad " << p->grad.describe());
    m_.push_back(moment_like(*p));
    v_.push_back(moment_like(*p));
  }
}

void AdamW::set_step_count(int64_t step) {
  CKF_CHECK(step >= 0, "AdamW: step count " << step << " must be >= 0");
  step_ = step;
}

static bool all_finite(const Tensor& t) {
  const float* g = t.data<float>();
  for (int64_t i = 0; i < t.numel(); i++)
    if (!std::isfinite(g[i])) return false;
  return true;
}

StepResult AdamW::step(const SumReduce& reduce_sum_squares) {
  std::vector<cpu::GradSpan> counted, all;
  bool uncounted_finite = true;
  for (size_t i = 0; i < params_.size(); i++) {
    cpu::GradSpan s{params_[i]->grad.data<float>(), params_[i]->grad.numel()};
    all.push_back(s);
    if (count_in_norm_[i]) counted.push_back(s);
    else if (uncounted_finite) uncounted_finite = all_finite(params_[i]->grad);
  }
  double local = cpu::grad_sum_squares(counted);
  if (!uncounted_finite) local = std::nan("");

  StepResult r;
  r.lr = lr_at(cfg_.schedule, step_ + 1);
  r.grad_norm = std::sqrt(reduce_sum_squares(local));
  r.applied = std::isfinite(r.grad_norm);
  if (r.applied) {
    if (cfg_.max_grad_norm > 0) {
      r.clip_scale = cpu::grad_clip_scale(r.grad_norm, cfg_.max_grad_norm);
      if (r.clip_scale < 1.0f) cpu::grad_scale(all, r.clip_scale);
    }
    step_++;
    cpu::AdamWConfig c = cfg_.adamw;
    c.lr = r.lr;
    for (size_t i = 0; i < params_.size(); i++)
      cpu::adamw_update(params_[i]->value.data<float>(), params_[i]->grad.data<float>(), m_[i].value.data<float>(),
                        v_[i].value.data<float>(), params_[i]->value.numel(), c, step_);
  }
  for (Param* p : params_) std::memset(p->grad.raw(), 0, p->grad.nbytes());
  return r;
}

}  // namespace ckf
