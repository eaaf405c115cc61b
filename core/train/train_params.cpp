#include "core/train/train_params.h"

#include "core/check.h"

namespace ckf {

void train_params_add(TrainParams& tp, Param* p, const std::string& task, bool tp_partial, const ProcessGrid& grid) {
  const bool first_replica =
      task.empty() ? grid.dp_rank() == 0 : grid.placement().replicas_of(task).front() == grid.dp_rank();
  tp.params.push_back(p);
  tp.sync_items.push_back({p, task.empty() ? GradGroup::dp : GradGroup::task, task, tp_partial});
  tp.count_in_norm.push_back(first_replica && (p->split_dim >= 0 || grid.tp_rank() == 0));
}

void train_params_add_lora(TrainParams& tp, MultiLora& lora, const ProcessGrid& grid) {
  for (LoraParam& lp : multilora_params(lora)) {
    tp.owned.push_back(Param{"lora." + lp.name, lp.param, lp.grad, lp.global_shape, lp.split_dim, lp.split_offset});
    Param* p = &tp.owned.back();
    if (lp.name.rfind("shared.", 0) == 0) {
      train_params_add(tp, p, "", lp.tp_partial, grid);
      continue;
    }
    CKF_CHECK(lp.name.rfind("task.", 0) == 0, "adapter parameter " << lp.name << " is neither shared nor a task's");
    const std::string rest = lp.name.substr(5);
    train_params_add(tp, p, rest.substr(0, rest.find('.')), lp.tp_partial, grid);
  }
}

}  // namespace ckf
