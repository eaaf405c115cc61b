// The device training path: one GPU per rank (the rank's index on its node), the decoder, mapper
// and CF tables resident there; per task the host builds the token batch and the device runs the
// mapper, decoder forward and backward; the shared gradients start their NCCL all-reduce while the
// step's last backward is still running (dist/grad_sync_cuda.h); AdamW runs on the device.
#include "core/check.h"
#include "core/train/train_backend.h"

#ifdef CKF_WITH_CUDA
#include <string>
#include <unordered_map>

#include "core/cuda/ckf_step_cuda.h"
#include "core/cuda/optimizer_cuda.h"
#include "dist/grad_sync_cuda.h"
#include "dist/world.h"
#include "kernels/cuda/context.h"
#include "kernels/device.h"
#endif

namespace ckf {

#ifdef CKF_WITH_CUDA
namespace {

// The decoder layer whose backward finalises a trainable Param's gradient: the N of "layers.N." in
// an adapter's name (PEFT naming, core/multi_lora.h); -1 for the mapper, whose backward runs last.
int param_layer(const std::string& name) {
  const std::string key = "layers.";
  const size_t at = name.find(key);
  if (at == std::string::npos) return -1;
  return std::stoi(name.substr(at + key.size()));
}

// The GPU of this rank. A rank that sees one GPU uses it (a launcher that hands each rank its own,
// e.g. srun --gpus-per-task=1 or CUDA_VISIBLE_DEVICES per rank); with several visible, the i-th
// rank on the node takes GPU i (ckf-mpirun.sh leaves CUDA_VISIBLE_DEVICES alone).
int rank_device(int gpus) {
  if (gpus == 1) return 0;
  const World w = world_init(nullptr, nullptr);
  CKF_CHECK(w.local_size <= gpus, "--device cuda: " << w.local_size << " ranks on this node but only " << gpus
                                                    << " GPUs visible (one GPU per rank)");
  return w.local_rank;
}

class TrainBackendCuda : public TrainBackend {
 public:
  TrainBackendCuda(const TrainConfig& cfg, ProcessGrid& grid, TrainModel& model, AdamW& opt)
      : m_(model), host_opt_(opt), mapper_(cfg.mapper == MapperMode::none ? nullptr : &model.mapper) {
    CKF_CHECK(grid.tp_size() == 1, "--device cuda: the device decoder holds whole weights, use --tp 1");
    const GpuQuery q = gpu_query();
    CKF_CHECK(!q.gpus.empty(), "--device cuda: no usable GPU: " << q.why_none);
    const int device = rank_device(int(q.gpus.size()));
    ctx_ = std::make_unique<cuda::CudaContext>(device);
    dev_ = std::make_unique<cuda::CkfModelCuda>(cuda::ckf_cuda_upload(m_.model, mapper_, m_.cf));

    // The device tensors in the order of the host's trainable Params (optimizer, norm flags, sync).
    std::unordered_map<const float*, cuda::DeviceTensor> by_host;
    for (const cuda::DeviceTensor& t : cuda::ckf_cuda_tensors(*dev_, m_.model, mapper_)) by_host[t.host_value] = t;
    const ParamRefs& ps = m_.trainable.params;
    CKF_CHECK(by_host.size() == ps.size(), "--device cuda: the device holds " << by_host.size()
                                                                               << " trainable tensors, the host " << ps.size());
    std::vector<cuda::DeviceTensor> aligned;
    std::vector<GradSyncCudaItem> items;
    for (size_t i = 0; i < ps.size(); ++i) {
      auto it = by_host.find(ps[i]->value.data<const float>());
      CKF_CHECK(it != by_host.end() && it->second.n == ps[i]->value.numel(),
                "--device cuda: no device tensor of " << ps[i]->name);
      aligned.push_back(it->second);
      const GradSyncItem& s = m_.trainable.sync_items[i];
      items.push_back({ps[i]->name, it->second.grad, it->second.n, s.group, s.task, param_layer(ps[i]->name)});
    }
    opt_ = std::make_unique<cuda::AdamWCuda>(aligned, cfg.optim, m_.trainable.count_in_norm);
    sync_ = std::make_unique<GradSyncCuda>(grid, std::move(items), device, ctx_->stream(), cfg.bucket_bytes);
  }

  float task_step(const std::vector<CkfExample>& examples, const LlamaRunMode& mode, double weight,
                  bool last) override {
    const float loss = cuda::ckf_cuda_forward(*dev_, examples, acts_, mode, *ctx_);
    if (!last) {
      cuda::ckf_cuda_backward(*dev_, acts_, float(weight), *ctx_);
      return loss;
    }
    sync_->begin_final_backward();
    cuda::ckf_cuda_backward(*dev_, acts_, float(weight), *ctx_, [&](int layer) { sync_->on_layer_done(layer); });
    return loss;
  }
  void grad_sync() override { sync_->finish(); }
  StepResult optimizer_step(const SumReduce& reduce) override { return opt_->step(reduce, ctx_->stream()); }
  const std::vector<GradSyncGroupStats>& sync_stats() const override { return sync_->last_stats(); }
  void to_host() override {
    cuda::ckf_cuda_download_values(*dev_, m_.model, mapper_);
    opt_->download(host_opt_, ctx_->stream());
  }
  void from_host() override {
    cuda::ckf_cuda_upload_values(*dev_, m_.model, mapper_);
    opt_->upload(host_opt_, ctx_->stream());
  }

 private:
  TrainModel& m_;
  AdamW& host_opt_;
  Mapper* mapper_;  // null without soft tokens (--mapper none)
  std::unique_ptr<cuda::CudaContext> ctx_;
  std::unique_ptr<cuda::CkfModelCuda> dev_;
  cuda::CkfStepActsCuda acts_;  // reused by every task's forward and backward
  std::unique_ptr<cuda::AdamWCuda> opt_;
  std::unique_ptr<GradSyncCuda> sync_;
};

}  // namespace

std::unique_ptr<TrainBackend> train_backend_cuda_create(const TrainConfig& cfg, ProcessGrid& grid,
                                                        TrainModel& model, AdamW& opt) {
  return std::make_unique<TrainBackendCuda>(cfg, grid, model, opt);
}

#else

std::unique_ptr<TrainBackend> train_backend_cuda_create(const TrainConfig&, ProcessGrid&, TrainModel&, AdamW&) {
  CKF_FAIL("--device cuda: this build has no CUDA backend (configure with CKF_CUDA=ON and nvcc present)");
}

#endif

}  // namespace ckf
