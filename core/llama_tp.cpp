#include "core/llama_tp.h"

#include "core/check.h"

namespace ckf {

LlamaConfig llama_config_tp_local(const LlamaConfig& cfg, int tp_size) {
  CKF_CHECK(tp_size >= 1, "--tp " << tp_size << ": the tensor-parallel size must be at least 1");
  auto split = [&](int v, const char* field) {
    CKF_CHECK(v % tp_size == 0, "--tp " << tp_size << ": " << field << " " << v << " is not divisible by " << tp_size);
    return v / tp_size;
  };
  LlamaConfig local = cfg;
  local.n_heads = split(cfg.n_heads, "n_heads");
  local.n_kv_heads = split(cfg.n_kv_heads, "n_kv_heads");
  local.ffn = split(cfg.ffn, "ffn");
  local.vocab = split(cfg.vocab, "vocab");
  return local;
}

void llama_tp_validate(const LlamaTp& tp) {
  CKF_CHECK(tp.size >= 1 && tp.rank >= 0 && tp.rank < tp.size,
            "tensor parallel: rank " << tp.rank << " outside a group of " << tp.size);
  CKF_CHECK(tp.size == 1 || tp.comm != nullptr, "tensor parallel: a group of " << tp.size << " needs a communicator");
}

void tp_all_reduce_sum(const LlamaTp& tp, float* buf, int64_t n) {
  if (tp.size > 1) tp.comm->all_reduce_sum(buf, n);
}

}  // namespace ckf
