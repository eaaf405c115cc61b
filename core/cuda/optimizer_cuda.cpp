#include "core/cuda/optimizer_cuda.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "kernels/cpu/grad_norm.h"

namespace ckf::cuda {

AdamWCuda::AdamWCuda(std::vector<DeviceTensor> params, const OptimizerConfig& cfg, std::vector<bool> count_in_norm)
    : params_(std::move(params)), cfg_(cfg) {
  lr_schedule_check(cfg_.schedule);
  if (count_in_norm.empty()) count_in_norm.assign(params_.size(), true);
  CKF_CHECK(count_in_norm.size() == params_.size(), "AdamWCuda: " << count_in_norm.size()
                                                                   << " count_in_norm flags for " << params_.size()
                                                                   << " device tensors");
  int64_t total = 0;
  for (size_t i = 0; i < params_.size(); i++) {
    const DeviceTensor& t = params_[i];
    CKF_CHECK(t.n >= 0 && (t.n == 0 || (t.value != nullptr && t.grad != nullptr)),
              "AdamWCuda: device tensor " << i << " (n = " << t.n << ") needs a device value and grad");
    offsets_.push_back(total);
    total += t.n;
    max_n_ = std::max(max_n_, t.n);
  }
  m_ = DeviceBuffer<float>(static_cast<size_t>(total));
  v_ = DeviceBuffer<float>(static_cast<size_t>(total));
  if (total > 0) {
    CUDA_CHECK(cudaMemset(m_.data(), 0, m_.bytes()));
    CUDA_CHECK(cudaMemset(v_.data(), 0, v_.bytes()));
  }  // the list uploads below synchronise the device, so the zeros land before any stream reads m, v
  std::vector<AdamWTensor> adamw_list;
  std::vector<GradNormTensor> norm_list;
  for (size_t i = 0; i < params_.size(); i++) {
    const DeviceTensor& t = params_[i];
    adamw_list.push_back({t.value, t.grad, m_.data() + offsets_[i], v_.data() + offsets_[i], t.value_bf16, t.n});
    norm_list.push_back({t.grad, t.n, count_in_norm[i] ? 1 : 0});
  }
  adamw_list_ = DeviceBuffer<AdamWTensor>(adamw_list);
  norm_list_ = DeviceBuffer<GradNormTensor>(norm_list);
  norm_workspace_ = DeviceBuffer<double>(grad_sum_squares_workspace(static_cast<int>(params_.size()), max_n_));
  local_sum_ = DeviceBuffer<double>(1);
}

void AdamWCuda::set_step_count(int64_t step) {
  CKF_CHECK(step >= 0, "AdamWCuda: step count " << step << " must be >= 0");
  step_ = step;
}

StepResult AdamWCuda::step(const SumReduce& reduce_sum_squares, cudaStream_t stream) {
  const int count = static_cast<int>(params_.size());
  grad_sum_squares(local_sum_.data(), norm_list_.data(), count, max_n_, norm_workspace_.data(), stream);
  double local = 0.0;
  CUDA_CHECK(cudaMemcpyAsync(&local, local_sum_.data(), sizeof(double), cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));

  // The host decisions of AdamW::step, in its order.
  StepResult r;
  r.lr = lr_at(cfg_.schedule, step_ + 1);
  r.grad_norm = std::sqrt(reduce_sum_squares(local));
  r.applied = std::isfinite(r.grad_norm);
  if (!r.applied) {
    adamw_zero_grads(adamw_list_.data(), count, max_n_, stream);
    return r;
  }
  if (cfg_.max_grad_norm > 0) r.clip_scale = cpu::grad_clip_scale(r.grad_norm, cfg_.max_grad_norm);
  step_++;
  cpu::AdamWConfig c = cfg_.adamw;
  c.lr = r.lr;
  adamw_update(adamw_list_.data(), count, max_n_, c, step_, r.clip_scale, stream);
  return r;
}

void AdamWCuda::check_aligned(const AdamW& host, const char* what) const {
  const ParamRefs& hp = host.params();
  CKF_CHECK(hp.size() == params_.size(),
            "AdamWCuda::" << what << ": host optimizer has " << hp.size() << " params, device " << params_.size());
  for (size_t i = 0; i < hp.size(); i++)
    CKF_CHECK(hp[i]->value.data<float>() == params_[i].host_value && hp[i]->value.numel() == params_[i].n,
              "AdamWCuda::" << what << ": host param '" << hp[i]->name << "' (" << hp[i]->value.numel()
                            << " elements) is not the one device tensor " << i << " (" << params_[i].n
                            << " elements) mirrors");
}

void AdamWCuda::download(AdamW& host, cudaStream_t stream) const {
  check_aligned(host, "download");
  for (size_t i = 0; i < params_.size(); i++) {
    const size_t bytes = static_cast<size_t>(params_[i].n) * sizeof(float);
    CUDA_CHECK(cudaMemcpyAsync(host.moments_m()[i].value.raw(), m_.data() + offsets_[i], bytes,
                               cudaMemcpyDeviceToHost, stream));
    CUDA_CHECK(cudaMemcpyAsync(host.moments_v()[i].value.raw(), v_.data() + offsets_[i], bytes,
                               cudaMemcpyDeviceToHost, stream));
  }
  CUDA_CHECK(cudaStreamSynchronize(stream));
  host.set_step_count(step_);
}

void AdamWCuda::upload(const AdamW& host, cudaStream_t stream) {
  check_aligned(host, "upload");
  for (size_t i = 0; i < params_.size(); i++) {
    const size_t bytes = static_cast<size_t>(params_[i].n) * sizeof(float);
    CUDA_CHECK(cudaMemcpyAsync(m_.data() + offsets_[i], host.moments_m()[i].value.raw(), bytes,
                               cudaMemcpyHostToDevice, stream));
    CUDA_CHECK(cudaMemcpyAsync(v_.data() + offsets_[i], host.moments_v()[i].value.raw(), bytes,
                               cudaMemcpyHostToDevice, stream));
  }
  CUDA_CHECK(cudaStreamSynchronize(stream));
  set_step_count(host.step_count());
}

}  // namespace ckf::cuda
