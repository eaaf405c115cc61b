#include "core/ckf_step.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"

namespace ckf {

namespace {

// hist_mean (d): mean CF embedding of the history items, zeros for an empty history.
void history_mean(float* out, const std::vector<int32_t>& history, const Tensor& item_emb) {
  const int64_t d = item_emb.dim(1);
  std::fill(out, out + d, 0.0f);
  int n = 0;
  for (int32_t item : history) {
    if (item < 0) continue;
    const float* e = item_emb.data<const float>() + int64_t(item) * d;
    for (int64_t j = 0; j < d; ++j) out[j] += e[j];
    ++n;
  }
  if (n > 0)
    for (int64_t j = 0; j < d; ++j) out[j] /= static_cast<float>(n);
}

void check_ids(const CkfExample& ex, size_t index, const CfTables& cf, bool need_answer) {
  const int64_t U = cf.user_emb.dim(0), I = cf.item_emb.dim(0);
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

}  // namespace

void ckf_batch_build(const LlamaModel& model, const Mapper& mapper, const CfTables& cf,
                     const std::vector<CkfExample>& examples, CkfOutputs outputs, CkfStepActs& acts) {
  CKF_CHECK(!examples.empty(), "ckf_batch_build: empty batch");
  const bool forced = outputs == CkfOutputs::teacher_forced;
  const int d = mapper.cfg.d_cf, C = model.config.d_model;
  CKF_CHECK(cf.user_emb.dim(1) == d && cf.item_emb.dim(1) == d,
            "CF embeddings have dim " << cf.user_emb.dim(1) << " but the mapper expects d_cf = " << d);
  CKF_CHECK(mapper.cfg.d_model == C, "mapper d_model " << mapper.cfg.d_model << " != model d_model " << C);

  LlamaBatch& b = acts.batch;
  b = LlamaBatch{};
  b.B = static_cast<int>(examples.size());
  for (const CkfExample& ex : examples)
    b.T = std::max<int>(b.T, forced ? int(ex.prompt.size() + ex.answer.size()) - 1 : int(ex.prompt.size()));
  b.tokens.assign(size_t(b.B) * b.T, 0);
  acts.soft_user_row.clear();
  acts.soft_item_row.clear();
  acts.n_user = acts.n_item = 0;

  // Gather the mapper inputs in placeholder order: users into one block, items into another.
  std::vector<float> e_user, hist_mean, e_item;
  std::vector<float> mean(d);
  for (size_t s = 0; s < examples.size(); ++s) {
    const CkfExample& ex = examples[s];
    check_ids(ex, s, cf, forced);
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
      b.soft.push_back({int(s), p.pos});
      if (p.kind == PlaceholderKind::user) {
        const float* e = cf.user_emb.data<const float>() + int64_t(p.id) * d;
        e_user.insert(e_user.end(), e, e + d);
        history_mean(mean.data(), ex.history, cf.item_emb);
        hist_mean.insert(hist_mean.end(), mean.begin(), mean.end());
        acts.soft_user_row.push_back(acts.n_user++);
        acts.soft_item_row.push_back(-1);
      } else {
        const float* e = cf.item_emb.data<const float>() + int64_t(p.id) * d;
        e_item.insert(e_item.end(), e, e + d);
        acts.soft_user_row.push_back(-1);
        acts.soft_item_row.push_back(acts.n_item++);
      }
    }
  }

  // Soft tokens: (n_user, C) and (n_item, C), then scattered into placeholder order (S, C).
  const int S = static_cast<int>(b.soft.size());
  b.soft_vectors = Tensor::zeros({S, C});
  Tensor user_tok = Tensor::zeros({std::max(acts.n_user, 1), C});
  Tensor item_tok = Tensor::zeros({std::max(acts.n_item, 1), C});
  if (acts.n_user > 0) mapper_user_forward(mapper, user_tok.data<float>(), e_user.data(), hist_mean.data(), acts.n_user, acts.user_acts);
  if (acts.n_item > 0) mapper_item_forward(mapper, item_tok.data<float>(), e_item.data(), acts.n_item, acts.item_acts);
  for (int s = 0; s < S; ++s) {
    const float* src = acts.soft_user_row[s] >= 0 ? user_tok.data<const float>() + int64_t(acts.soft_user_row[s]) * C
                                                  : item_tok.data<const float>() + int64_t(acts.soft_item_row[s]) * C;
    std::memcpy(b.soft_vectors.data<float>() + int64_t(s) * C, src, sizeof(float) * C);
  }
}

float ckf_forward(const LlamaModel& model, const Mapper& mapper, const CfTables& cf,
                  const std::vector<CkfExample>& examples, CkfStepActs& acts, const LlamaRunMode& mode) {
  ckf_batch_build(model, mapper, cf, examples, CkfOutputs::teacher_forced, acts);
  return llama_forward(model, acts.batch, acts.llama, mode);
}

void ckf_backward(LlamaModel& model, Mapper& mapper, CkfStepActs& acts) {
  const int S = static_cast<int>(acts.batch.soft.size()), C = model.config.d_model;
  Tensor d_soft = Tensor::zeros({std::max(S, 1), C});
  llama_backward(model, acts.batch, acts.llama, S > 0 ? &d_soft : nullptr);
  if (S == 0) return;
  Tensor d_user = Tensor::zeros({std::max(acts.n_user, 1), C});
  Tensor d_item = Tensor::zeros({std::max(acts.n_item, 1), C});
  for (int s = 0; s < S; ++s) {
    float* dst = acts.soft_user_row[s] >= 0 ? d_user.data<float>() + int64_t(acts.soft_user_row[s]) * C
                                            : d_item.data<float>() + int64_t(acts.soft_item_row[s]) * C;
    std::memcpy(dst, d_soft.data<const float>() + int64_t(s) * C, sizeof(float) * C);
  }
  if (acts.n_user > 0) mapper_user_backward(mapper, d_user.data<const float>(), acts.n_user, acts.user_acts);
  if (acts.n_item > 0) mapper_item_backward(mapper, d_item.data<const float>(), acts.n_item, acts.item_acts);
}

}  // namespace ckf
