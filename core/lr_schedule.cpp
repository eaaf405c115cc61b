#include "core/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/check.h"

namespace ckf {

void lr_schedule_check(const LrSchedule& s) {
  CKF_CHECK(s.peak_lr >= 0 && std::isfinite(s.peak_lr), "lr schedule: peak_lr " << s.peak_lr << " must be finite, >= 0");
  CKF_CHECK(s.min_lr >= 0 && s.min_lr <= s.peak_lr,
            "lr schedule: min_lr " << s.min_lr << " must lie in [0, peak_lr = " << s.peak_lr << "]");
  CKF_CHECK(s.warmup_steps >= 0, "lr schedule: warmup_steps " << s.warmup_steps << " must be >= 0");
  CKF_CHECK(s.total_steps >= s.warmup_steps,
            "lr schedule: total_steps " << s.total_steps << " must be >= warmup_steps " << s.warmup_steps);
}

float lr_at(const LrSchedule& s, int64_t step) {
  CKF_CHECK(step >= 1, "lr_at: step " << step << " must count from 1");
  if (step <= s.warmup_steps) return static_cast<float>(double(s.peak_lr) * double(step) / double(s.warmup_steps));
  if (s.decay == LrDecay::constant) return s.peak_lr;
  const int64_t span = s.total_steps - s.warmup_steps;
  const double p = span <= 0 ? 1.0 : std::clamp(double(step - s.warmup_steps) / double(span), 0.0, 1.0);
  const double shape = s.decay == LrDecay::cosine ? 0.5 * (1.0 + std::cos(std::numbers::pi * p)) : 1.0 - p;
  return static_cast<float>(s.min_lr + (double(s.peak_lr) - s.min_lr) * shape);
}

LrDecay lr_decay_parse(const std::string& name, const std::string& origin) {
  if (name == "cosine") return LrDecay::cosine;
  if (name == "linear") return LrDecay::linear;
  if (name == "constant") return LrDecay::constant;
  CKF_FAIL(origin << ": unknown decay '" << name << "' (expected cosine, linear or constant)");
}

}  // namespace ckf
