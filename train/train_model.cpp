#include "train/train_model.h"

#include <cstring>

#include "core/check.h"
#include "io/cf_embeddings.h"

namespace ckf {

namespace {

Tensor table_tensor(const std::vector<float>& v, int64_t rows, int64_t dim) {
  Tensor t = Tensor::empty({rows, dim});
  std::memcpy(t.data<float>(), v.data(), v.size() * sizeof(float));
  return t;
}

}  // namespace

std::unique_ptr<TrainModel> train_model_create(const TrainConfig& cfg, const ProcessGrid& grid) {
  auto owner = std::make_unique<TrainModel>();
  TrainModel& m = *owner;
  const LlamaConfig lc = train_tiny_llama_config(cfg.model_vocab);
  m.model.config = lc;
  m.model.weights = llama_weights_random(lc, cfg.seed);
  m.model.lora = multilora_create(lc, cfg.shared_spec, cfg.task_spec, grid.my_tasks(), cfg.seed);

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

  const bool first_replica = grid.dp_rank() == 0;
  if (cfg.mapper != MapperMode::none) {
    for (Param* p : mapper_params(m.mapper)) {
      m.params.push_back(p);
      m.sync_items.push_back({p, GradGroup::dp, "", false});
      m.count_in_norm.push_back(first_replica);
    }
  }
  std::vector<LoraParam> lora = multilora_params(m.model.lora);
  m.lora_params.reserve(lora.size());  // stable addresses for the ParamRefs below
  for (LoraParam& lp : lora) {
    Param p{"lora." + lp.name, lp.param, lp.grad, lp.param.shape(), -1, 0};
    m.lora_params.push_back(std::move(p));
    Param* ref = &m.lora_params.back();
    m.params.push_back(ref);
    if (lp.name.rfind("shared.", 0) == 0) {
      m.sync_items.push_back({ref, GradGroup::dp, "", false});
      m.count_in_norm.push_back(first_replica);
      continue;
    }
    CKF_CHECK(lp.name.rfind("task.", 0) == 0, "adapter parameter " << lp.name << " is neither shared nor a task's");
    const std::string rest = lp.name.substr(5);
    const std::string task = rest.substr(0, rest.find('.'));
    m.sync_items.push_back({ref, GradGroup::task, task, false});
    m.count_in_norm.push_back(grid.placement().replicas_of(task).front() == grid.dp_rank());
  }
  return owner;
}

}  // namespace ckf
