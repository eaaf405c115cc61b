#include <algorithm>

#include "core/train/train_backend.h"

namespace ckf {

namespace {

class TrainBackendCpu : public TrainBackend {
 public:
  TrainBackendCpu(const TrainConfig& cfg, ProcessGrid& grid, TrainModel& model, AdamW& opt)
      : m_(model), opt_(opt), sync_(grid, model.trainable.sync_items, cfg.bucket_bytes) {}

  float task_step(const std::vector<CkfExample>& examples, const LlamaRunMode& mode, double weight,
                  bool /*last*/) override {
    CkfStepActs acts;
    const float loss = ckf_forward(m_.model, m_.mapper, m_.cf, examples, acts, mode);
    backward_weighted(acts, weight);
    return loss;
  }
  void grad_sync() override { sync_.sync(); }
  StepResult optimizer_step(const SumReduce& reduce) override { return opt_.step(reduce); }
  const std::vector<GradSyncGroupStats>& sync_stats() const override { return sync_.last_stats(); }
  void to_host() override {}
  void from_host() override {}

 private:
  // ckf_backward accumulates the unweighted gradient, so with a weight other than 1 the gradients
  // so far are held aside, the task's backward runs on zeroed gradients, and the two are combined.
  void backward_weighted(CkfStepActs& acts, double weight) {
    if (weight == 1.0) {
      ckf_backward(m_.model, m_.mapper, acts);
      return;
    }
    const ParamRefs& ps = m_.trainable.params;
    grad_held_.resize(ps.size());
    for (size_t i = 0; i < ps.size(); ++i) {
      grad_held_[i] = ps[i]->grad.clone();
      std::fill_n(ps[i]->grad.data<float>(), ps[i]->grad.numel(), 0.0f);
    }
    ckf_backward(m_.model, m_.mapper, acts);
    const float w = float(weight);
    for (size_t i = 0; i < ps.size(); ++i) {
      float* g = ps[i]->grad.data<float>();
      const float* held = grad_held_[i].data<const float>();
      for (int64_t k = 0; k < ps[i]->grad.numel(); ++k) g[k] = held[k] + w * g[k];
    }
  }

  TrainModel& m_;
  AdamW& opt_;
  GradSync sync_;
  std::vector<Tensor> grad_held_;  // (P) gradients of earlier tasks while a weighted one runs
};

}  // namespace

std::unique_ptr<TrainBackend> train_backend_cpu_create(const TrainConfig& cfg, ProcessGrid& grid, TrainModel& model,
                                                       AdamW& opt) {
  return std::make_unique<TrainBackendCpu>(cfg, grid, model, opt);
}

}  // namespace ckf
