// The CKF training step on the device (twin of core/ckf_step.h, tp = 1): the mapper turns the
// batch's CF ids into soft tokens on the device, the decoder reads them from there (no host round
// trip), and backward sends the soft tokens' gradient back into the mapper, all on one stream.
// The host builds the batch layout with the CPU path's function (ckf_batch_layout: same tokens,
// rows and id checks) and uploads only ids.
//   forward:  ids -> CF rows and history means -> mapper -> soft tokens -> decoder -> mean loss
//   backward: loss_weight * d loss -> decoder (LoRA grads, per layer) -> d soft -> mapper grads
#pragma once
#include <functional>
#include <optional>
#include <vector>

#include "core/ckf_step.h"
#include "core/cuda/device_tensor.h"
#include "core/cuda/llama_model_cuda.h"
#include "core/cuda/mapper_cuda.h"

namespace ckf::cuda {

struct CkfModelCuda {
  LlamaModelCuda llama;
  std::optional<MapperCuda> mapper;  // empty: text only (batches without placeholders)
  CfTablesCuda cf;                   // tables uploaded with a mapper; without one only their sizes (id checks)
};

struct CkfStepActsCuda {
  LlamaBatch batch;  // host layout; soft_vectors stays empty (the soft tokens live in mapper.soft)
  CkfSoftIds soft_ids;
  MapperActsCuda mapper;
  LlamaActsCuda llama;
};

// Uploads the decoder, the mapper and the CF tables; mapper null: text only. Checks that the CF
// tables, the mapper and the model agree on d_cf and d_model.
CkfModelCuda ckf_cuda_upload(const LlamaModel& model, const Mapper* mapper, const CfTables& cf);

// Every trainable device tensor (LoRA A and B, then the mapper's parameters in mapper_params
// order) with the host value it mirrors. host and host_mapper: what the model was uploaded from.
std::vector<DeviceTensor> ckf_cuda_tensors(CkfModelCuda& model, const LlamaModel& host, const Mapper* host_mapper);

// Trainable values device -> host (after device optimizer steps), and host -> device (after a
// resume). Synchronous (the download waits for the whole device).
void ckf_cuda_download_values(const CkfModelCuda& model, LlamaModel& host, Mapper* host_mapper);
void ckf_cuda_upload_values(CkfModelCuda& model, const LlamaModel& host, const Mapper* host_mapper);

// Teacher-forced forward of the examples (validated as ckf_forward does); returns the mean
// answer-token loss. Placeholders need a mapper.
float ckf_cuda_forward(const CkfModelCuda& model, const std::vector<CkfExample>& examples, CkfStepActsCuda& acts,
                       const LlamaRunMode& mode, const CudaContext& ctx);

// Accumulates (+=) loss_weight * the gradient of the last forward's mean loss into every device
// gradient (LoRA, then the mapper's after the decoder's). on_layer_done(l): as llama_cuda_backward.
// Asynchronous on ctx's stream.
void ckf_cuda_backward(CkfModelCuda& model, CkfStepActsCuda& acts, float loss_weight, const CudaContext& ctx,
                       const std::function<void(int layer)>& on_layer_done = {});

}  // namespace ckf::cuda
