// AdamW on the device: core/optimizer.h's step (schedule, global-norm clipping with the "count in
// norm" flags and the caller's cross-rank reduction, skip on non-finite gradients, zeroed grads)
// over device tensors, with the moments kept on the device in fp32. A step is one grad-norm
// reduction, one 8-byte download for the host to decide (skip, clip factor, lr), and one
// multi-tensor AdamW launch that clips, updates value, moments and bf16 copy, and zeroes the grads.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "core/cuda/device_tensor.h"
#include "core/optimizer.h"
#include "kernels/cuda/adamw.h"
#include "kernels/cuda/buffer.h"
#include "kernels/cuda/grad_norm.h"

namespace ckf::cuda {

class AdamWCuda {
 public:
  // params: index-aligned with the host AdamW's params (download/upload check it by host_value);
  // count_in_norm: one flag per tensor (empty = count all), as AdamW's.
  AdamWCuda(std::vector<DeviceTensor> params, const OptimizerConfig& cfg, std::vector<bool> count_in_norm = {});

  // AdamW::step on the device (same StepResult). reduce_sum_squares is called once, with the local
  // sum. Returns after the update is enqueued on `stream`; the grad norm download synchronises it.
  StepResult step(const SumReduce& reduce_sum_squares, cudaStream_t stream);

  int64_t step_count() const { return step_; }  // applied updates so far
  void set_step_count(int64_t step);             // resume

  // Moments and step count into `host` (for a checkpoint); values go through the model's download.
  void download(AdamW& host, cudaStream_t stream) const;
  // Moments and step count from `host` (after a resume).
  void upload(const AdamW& host, cudaStream_t stream);

 private:
  // Throws unless host's params mirror params_ one by one (same host value pointer and size).
  void check_aligned(const AdamW& host, const char* what) const;

  std::vector<DeviceTensor> params_;          // (P)
  OptimizerConfig cfg_;
  int64_t max_n_ = 0;                         // largest params_[i].n: bounds the launch grids
  std::vector<int64_t> offsets_;              // (P) tensor i's moments at offsets_[i] of m_, v_
  DeviceBuffer<float> m_;                     // (sum n) first moments, params_ order
  DeviceBuffer<float> v_;                     // (sum n) second moments
  DeviceBuffer<AdamWTensor> adamw_list_;      // (P) what the AdamW launch updates
  DeviceBuffer<GradNormTensor> norm_list_;    // (P) what the norm sums, with the count flags
  DeviceBuffer<double> norm_workspace_;       // (grad_sum_squares_workspace) per-block partials
  DeviceBuffer<double> local_sum_;            // (1) this rank's sum of squares
  int64_t step_ = 0;
};

}  // namespace ckf::cuda
