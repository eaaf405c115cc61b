// Learning-rate schedule: linear warmup from 0 to peak, then decay to a floor (cosine or linear),
// then the floor for the rest of the run.
#pragma once
#include <cstdint>
#include <string>

namespace ckf {

enum class LrDecay : uint8_t { cosine, linear, constant };

struct LrSchedule {
  float peak_lr = 1e-4f;
  float min_lr = 0.0f;          // the floor reached at total_steps
  int64_t warmup_steps = 0;     // lr rises linearly over steps 1..warmup_steps
  int64_t total_steps = 1;      // decay ends here; later steps keep min_lr
  LrDecay decay = LrDecay::cosine;
};

// Learning rate of update number `step` (counts from 1, as AdamW's step):
//   step <= warmup:  peak * step / warmup
//   after:           p = clamp((step - warmup) / (total - warmup), 0, 1)
//                    cosine: min + (peak - min) * (1 + cos(pi p)) / 2;  linear: min + (peak - min) (1 - p)
// Throws for step < 1.
float lr_at(const LrSchedule& s, int64_t step);

// Throws, naming the field, for negative rates, min_lr > peak_lr, warmup < 0 or total < warmup.
void lr_schedule_check(const LrSchedule& s);

// "cosine" / "linear" / "constant" (the --lr-decay flag); throws naming `origin` otherwise.
LrDecay lr_decay_parse(const std::string& name, const std::string& origin = "--lr-decay");

}  // namespace ckf
