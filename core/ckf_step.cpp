#include "core/ckf_step.h"

#include <algorithm>

#include "core/check.h"

namespace ckf {

namespace {

// out (d) = mean CF embedding of the history items (n entries, -1 ignored), zeros for none.
void history_mean(float* out, const int32_t* history, int n, const Tensor& item_emb) {
  const int64_t d = item_emb.dim(1);
  std::fill(out, out + d, 0.0f);
  int count = 0;
  for (int k = 0; k < n; ++k) {
    if (history[k] < 0) continue;
    const float* e = item_emb.data<const float>() + int64_t(history[k]) * d;
    for (int64_t j = 0; j < d; ++j) out[j] += e[j];
    ++count;
  }
  if (count > 0)
    for (int64_t j = 0; j < d; ++j) out[j] /= static_cast<float>(count);
}

void check_ids(const CkfExample& ex, size_t index, int64_t U, int64_t I, bool need_answer) {
  CKF_CHECK(ex.user >= 0 && ex.user < U, "example " << index << ": user id " << ex.user << " outside [0, " << U << ")");
  for (int32_t item : ex.history)
    CKF_CHECK(item < I, "example " << index << ": history item id " << item << " outside [0, " << I << ")");
  const int64_t len = static_cast<int64_t>(ex.prompt.size());
  for (const Placeholder& p : ex.placeholders) {
    CKF_CHECK(p.pos >= 0 && p.pos < len,
              "example " << index << ": placeholder position " << p.pos << " outside the prompt of " << len << " tokens");
    const int64_t n = p.kind == PlaceholderKind::user ? U : I;
    CKF_CHECK(p.id >= 0 && p.id < n, "example " << index << ": placeholder "
                                                << (p.kind == PlaceholderKind::user ? "user" : "item") << " id "
                                                << p.id << " outside [0, " << n << ")");
  }
  CKF_CHECK(!ex.prompt.empty(), "example " << index << ": empty prompt");
  CKF_CHECK(!need_answer || !ex.answer.empty(), "example " << index << ": empty answer");
}

// rows (ids.size(), d) = table rows at ids.
std::vector<float> gather_rows(const Tensor& table, const std::vector<int32_t>& ids) {
  const int64_t d = table.dim(1);
  std::vector<float> rows;
  rows.reserve(ids.size() * d);
  for (int32_t id : ids) rows.insert(rows.end(), table.data<const float>() + id * d, table.data<const float>() + (id + 1) * d);
  return rows;
}

}  // namespace

void ckf_batch_layout(const std::vector<CkfExample>& examples, CkfOutputs outputs, int64_t n_users, int64_t n_items,
                      LlamaBatch& b, CkfSoftIds& ids) {
  CKF_CHECK(!examples.empty(), "ckf_batch_build: empty batch");
  const bool forced = outputs == CkfOutputs::teacher_forced;
  b = LlamaBatch{};
  ids = CkfSoftIds{};
  b.B = static_cast<int>(examples.size());
  for (const CkfExample& ex : examples) {
    b.T = std::max<int>(b.T, forced ? int(ex.prompt.size() + ex.answer.size()) - 1 : int(ex.prompt.size()));
    ids.history_len = std::max<int>(ids.history_len, int(ex.history.size()));
  }
  b.tokens.assign(size_t(b.B) * b.T, 0);
  std::vector<SoftToken> user_soft, item_soft;
  for (size_t s = 0; s < examples.size(); ++s) {
    const CkfExample& ex = examples[s];
    check_ids(ex, s, n_users, n_items, forced);
    // Teacher forcing: the input is prompt + answer without its last token, position prompt-1+k
    // predicts answer[k]. Next token: the prompt alone, logits after its last position.
    std::vector<int32_t> seq(ex.prompt);
    if (forced) seq.insert(seq.end(), ex.answer.begin(), ex.answer.end() - 1);
    std::copy(seq.begin(), seq.end(), b.tokens.begin() + int64_t(s) * b.T);
    b.lengths.push_back(static_cast<int>(seq.size()));
    b.tasks.push_back(ex.task);
    if (forced)
      for (size_t k = 0; k < ex.answer.size(); ++k)
        b.outputs.push_back({int(s), int(ex.prompt.size() + k) - 1, ex.answer[k]});
    else
      b.outputs.push_back({int(s), int(ex.prompt.size()) - 1, kIgnoreTarget});
    for (const Placeholder& p : ex.placeholders) {
      if (p.kind == PlaceholderKind::user) {
        user_soft.push_back({int(s), p.pos});
        ids.users.push_back(p.id);
        ids.history.insert(ids.history.end(), ex.history.begin(), ex.history.end());
        ids.history.insert(ids.history.end(), ids.history_len - ex.history.size(), -1);
      } else {
        item_soft.push_back({int(s), p.pos});
        ids.items.push_back(p.id);
      }
    }
  }
  b.soft = std::move(user_soft);
  b.soft.insert(b.soft.end(), item_soft.begin(), item_soft.end());
}

void ckf_batch_build(const LlamaModel& model, const Mapper& mapper, const CfTables& cf,
                     const std::vector<CkfExample>& examples, CkfOutputs outputs, CkfStepActs& acts) {
  const int d = mapper.cfg.d_cf, C = model.config.d_model;
  CKF_CHECK(cf.user_emb.dim(1) == d && cf.item_emb.dim(1) == d,
            "CF embeddings have dim " << cf.user_emb.dim(1) << " but the mapper expects d_cf = " << d);
  CKF_CHECK(mapper.cfg.d_model == C, "mapper d_model " << mapper.cfg.d_model << " != model d_model " << C);
  ckf_batch_layout(examples, outputs, cf.user_emb.dim(0), cf.item_emb.dim(0), acts.batch, acts.soft_ids);
  const CkfSoftIds& ids = acts.soft_ids;
  const int n_user = ids.n_user(), n_item = ids.n_item(), H = ids.history_len;

  // Soft tokens (S, C): the user block (n_user, C) then the item block (n_item, C).
  LlamaBatch& b = acts.batch;
  b.soft_vectors = Tensor::zeros({n_user + n_item, C});
  if (n_user > 0) {
    std::vector<float> hist_mean(size_t(n_user) * d);  // (n_user, d)
    for (int n = 0; n < n_user; ++n)
      history_mean(hist_mean.data() + int64_t(n) * d, ids.history.data() + int64_t(n) * H, H, cf.item_emb);
    mapper_user_forward(mapper, b.soft_vectors.data<float>(), gather_rows(cf.user_emb, ids.users).data(),
                        hist_mean.data(), n_user, acts.user_acts);
  }
  if (n_item > 0)
    mapper_item_forward(mapper, b.soft_vectors.data<float>() + int64_t(n_user) * C,
                        gather_rows(cf.item_emb, ids.items).data(), n_item, acts.item_acts);
}

float ckf_forward(const LlamaModel& model, const Mapper& mapper, const CfTables& cf,
                  const std::vector<CkfExample>& examples, CkfStepActs& acts, const LlamaRunMode& mode) {
  ckf_batch_build(model, mapper, cf, examples, CkfOutputs::teacher_forced, acts);
  return llama_forward(model, acts.batch, acts.llama, mode);
}

void ckf_backward(LlamaModel& model, Mapper& mapper, CkfStepActs& acts) {
  const int S = static_cast<int>(acts.batch.soft.size()), C = model.config.d_model;
  const int n_user = acts.soft_ids.n_user(), n_item = acts.soft_ids.n_item();
  Tensor d_soft = Tensor::zeros({std::max(S, 1), C});
  llama_backward(model, acts.batch, acts.llama, S > 0 ? &d_soft : nullptr);
  if (n_user > 0) mapper_user_backward(mapper, d_soft.data<const float>(), n_user, acts.user_acts);
  if (n_item > 0) mapper_item_backward(mapper, d_soft.data<const float>() + int64_t(n_user) * C, n_item, acts.item_acts);
}

}  // namespace ckf
