#include "core/cuda/ckf_step_cuda.h"

#include "core/check.h"
#include "kernels/cuda/check.h"

namespace ckf::cuda {

namespace {

void check_same_mapper(const CkfModelCuda& model, const Mapper* host_mapper, const char* what) {
  CKF_CHECK(model.mapper.has_value() == (host_mapper != nullptr),
            what << ": the device model " << (model.mapper ? "has" : "has no") << " mapper, the host "
                 << (host_mapper ? "has" : "has no") << " mapper");
}

}  // namespace

CkfModelCuda ckf_cuda_upload(const LlamaModel& model, const Mapper* mapper, const CfTables& cf) {
  CkfModelCuda dev{llama_model_cuda_upload(model), std::nullopt, {}};
  if (mapper) {
    const int d = mapper->cfg.d_cf, C = model.config.d_model;
    CKF_CHECK(cf.user_emb.dim(1) == d && cf.item_emb.dim(1) == d,
              "CF embeddings have dim " << cf.user_emb.dim(1) << " but the mapper expects d_cf = " << d);
    CKF_CHECK(mapper->cfg.d_model == C, "mapper d_model " << mapper->cfg.d_model << " != model d_model " << C);
    dev.mapper = mapper_cuda_upload(*mapper);
    dev.cf = cf_tables_cuda_upload(cf);
  } else {
    dev.cf.n_users = cf.user_emb.ndim() == 2 ? cf.user_emb.dim(0) : 0;
    dev.cf.n_items = cf.item_emb.ndim() == 2 ? cf.item_emb.dim(0) : 0;
  }
  // A pageable cudaMemcpy may return before its DMA lands, and kernels on a non-blocking stream
  // would not wait for it.
  CUDA_CHECK(cudaDeviceSynchronize());
  return dev;
}

std::vector<DeviceTensor> ckf_cuda_tensors(CkfModelCuda& model, const LlamaModel& host, const Mapper* host_mapper) {
  check_same_mapper(model, host_mapper, "ckf_cuda_tensors");
  std::vector<DeviceTensor> out = multilora_cuda_tensors(model.llama.lora, host.lora);
  if (host_mapper) {
    const std::vector<DeviceTensor> m = mapper_cuda_tensors(*model.mapper, *host_mapper);
    out.insert(out.end(), m.begin(), m.end());
  }
  return out;
}

void ckf_cuda_download_values(const CkfModelCuda& model, LlamaModel& host, Mapper* host_mapper) {
  check_same_mapper(model, host_mapper, "ckf_cuda_download_values");
  CUDA_CHECK(cudaDeviceSynchronize());  // whichever stream updated the values
  multilora_cuda_values_download(model.llama.lora, host.lora, nullptr);
  if (host_mapper) mapper_cuda_values_download(*model.mapper, *host_mapper, nullptr);
}

void ckf_cuda_upload_values(CkfModelCuda& model, const LlamaModel& host, const Mapper* host_mapper) {
  check_same_mapper(model, host_mapper, "ckf_cuda_upload_values");
  multilora_cuda_values_upload(model.llama.lora, host.lora);
  if (host_mapper) mapper_cuda_values_upload(*model.mapper, *host_mapper);
  CUDA_CHECK(cudaDeviceSynchronize());  // as in ckf_cuda_upload
}

float ckf_cuda_forward(const CkfModelCuda& model, const std::vector<CkfExample>& examples, CkfStepActsCuda& acts,
                       const LlamaRunMode& mode, const CudaContext& ctx) {
  ckf_batch_layout(examples, CkfOutputs::teacher_forced, model.cf.n_users, model.cf.n_items, acts.batch,
                   acts.soft_ids);
  const float* soft = nullptr;
  if (!acts.batch.soft.empty()) {
    CKF_CHECK(model.mapper, "ckf_cuda_forward: the batch has " << acts.batch.soft.size()
                                                              << " placeholders but the model has no mapper (text only)");
    mapper_cuda_forward(*model.mapper, model.cf, acts.soft_ids, acts.mapper, ctx);
    soft = acts.mapper.soft.data();
  }
  return llama_cuda_forward(model.llama, acts.batch, acts.llama, mode, ctx, soft);
}

void ckf_cuda_backward(CkfModelCuda& model, CkfStepActsCuda& acts, float loss_weight, const CudaContext& ctx,
                       const std::function<void(int layer)>& on_layer_done) {
  llama_cuda_backward(model.llama, acts.llama, ctx, loss_weight, on_layer_done);
  if (acts.llama.S > 0) mapper_cuda_backward(*model.mapper, acts.mapper, acts.llama.d_soft.data(), ctx);
}

}  // namespace ckf::cuda
