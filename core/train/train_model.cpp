#include "core/train/train_model.h"

#include <cstring>
#include <filesystem>

#include "core/check.h"
#include "io/cf_embeddings.h"
#include "io/model_load.h"

namespace ckf {

namespace fs = std::filesystem;

namespace {

Tensor table_tensor(const std::vector<float>& v, int64_t rows, int64_t dim) {
  Tensor t = Tensor::empty({rows, dim});
  std::memcpy(t.data<float>(), v.data(), v.size() * sizeof(float));
  return t;
}

}  // namespace

LlamaConfig train_llama_config(const TrainConfig& cfg) {
  return cfg.model_path.empty() ? train_tiny_llama_config(cfg.model_vocab) : llama_config_load(cfg.model_path);
}

ModelIdentity train_model_identity(const TrainConfig& cfg) {
  if (cfg.model_path.empty()) return ModelIdentity{"random:" + cfg.model_random, 0, ""};
  const fs::path p = cfg.model_path;
  if (!fs::is_directory(p)) return model_identity_of(p);
  // A Hugging Face directory: its weights file stands for the model when there is a single one.
  if (fs::exists(p / "model.safetensors")) return model_identity_of(p / "model.safetensors");
  return ModelIdentity{cfg.model_path, 0, ""};
}

std::unique_ptr<TrainModel> train_model_create(const TrainConfig& cfg, ProcessGrid& grid) {
  auto owner = std::make_unique<TrainModel>();
  TrainModel& m = *owner;
  const int tp_rank = grid.tp_rank(), tp_size = grid.tp_size();
  if (cfg.model_path.empty()) {
    m.model.config = train_tiny_llama_config(cfg.model_vocab);
    m.model.weights =
        llama_weights_shard(m.model.config, llama_weights_random(m.model.config, cfg.seed), tp_rank, tp_size);
    m.model.lora = multilora_create(m.model.config, cfg.shared_spec, cfg.task_spec, grid.my_tasks(), cfg.seed,
                                    tp_rank, tp_size);
  } else {
    m.model = llama_model_load(cfg.model_path, cfg.shared_spec, cfg.task_spec, grid.my_tasks(), cfg.seed, tp_rank,
                               tp_size);
  }
  m.tp_comm = std::make_unique<CommunicatorTp>(grid.tp());
  m.model.tp = m.tp_comm->llama_tp();
  const LlamaConfig& lc = m.model.config;

  const CfEmbeddingsFile cf = cf_embeddings_read(cfg.cf_path);
  m.cf.user_emb = table_tensor(cf.emb.user_emb, cf.emb.n_users, cf.emb.dim);
  m.cf.item_emb = table_tensor(cf.emb.item_emb, cf.emb.n_items, cf.emb.dim);

  MapperConfig mc;
  mc.d_cf = int(cf.emb.dim);
  mc.d_model = lc.d_model;
  mc.meta_hidden = cfg.meta_hidden;
  mc.proj_hidden = cfg.proj_hidden;
  mc.kind = cfg.mapper == MapperMode::shared_linear ? MappingKind::shared_linear : MappingKind::metanet;
  mc.seed = cfg.seed;
  m.mapper = mapper_create(mc);

  // The mapper is replicated over tp: every tp rank computes the same soft tokens and, from the
  // complete input gradient of the decoder, the same mapper gradient.
  if (cfg.mapper != MapperMode::none)
    for (Param* p : mapper_params(m.mapper)) train_params_add(m.trainable, p, "", false, grid);
  train_params_add_lora(m.trainable, m.model.lora, grid);
  return owner;
}

}  // namespace ckf
