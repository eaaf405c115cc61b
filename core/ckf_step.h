// One CKF forward/backward over a batch of prompts: CF embeddings go through the mapper into soft
// tokens, the soft tokens replace the placeholder positions of the prompts, the LLaMA decoder with
// Multi-LoRA predicts the answer tokens (teacher forcing), and the gradients flow back into the
// LoRA adapters and, through the soft tokens, into the mapper.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/llama_model.h"
#include "core/mapper.h"

namespace ckf {

enum class PlaceholderKind : uint8_t { user = 0, item = 1 };

// A prompt position whose token embedding is replaced by the soft token of a user or an item.
struct Placeholder {
  int32_t pos;
  PlaceholderKind kind;
  int32_t id;  // dense user or item id
};

// One example as the model sees it: prompt then answer, in tokens.
struct CkfExample {
  std::string task;
  int32_t user = 0;
  std::vector<int32_t> history;            // item ids of the user's history (-1 entries ignored)
  std::vector<int32_t> prompt;             // prompt tokens
  std::vector<Placeholder> placeholders;   // empty for a text-only prompt
  std::vector<int32_t> answer;             // answer tokens, predicted one by one after the prompt
};

// The frozen CF embeddings that soft tokens come from.
struct CfTables {
  Tensor user_emb;  // (U, d_cf)
  Tensor item_emb;  // (I, d_cf)
};

// The mapper inputs of a batch as CF ids, in soft-token order: the user tokens take soft rows
// [0, n_user), the item tokens rows [n_user, S), so the mapper's two output blocks are the soft
// vectors as they stand, on the host and on the device alike.
struct CkfSoftIds {
  std::vector<int32_t> users;    // (n_user) user id of each user token
  std::vector<int32_t> history;  // (n_user, history_len) its example's history item ids, -1 ignored (and padding)
  int history_len = 0;
  std::vector<int32_t> items;  // (n_item) item id of each item token
  int n_user() const { return static_cast<int>(users.size()); }
  int n_item() const { return static_cast<int>(items.size()); }
};

// Everything a forward keeps for its backward.
struct CkfStepActs {
  LlamaBatch batch;
  LlamaActs llama;
  CkfSoftIds soft_ids;
  MapperUserActs user_acts;
  MlpActs item_acts;
};

// Which logits a batch asks for: training predicts every answer token from the prompt and the
// answer so far; scoring wants only the next-token logits after the prompt (no target, answers
// unused and may be empty).
enum class CkfOutputs : uint8_t { teacher_forced, next_token };

// The host part of a batch that the CPU and the device paths share: fills batch (right-padded
// tokens, lengths, tasks, soft positions in CkfSoftIds order, logit requests; soft_vectors left
// empty) and ids. Checks every id against n_users / n_items and every placeholder position.
void ckf_batch_layout(const std::vector<CkfExample>& examples, CkfOutputs outputs, int64_t n_users, int64_t n_items,
                      LlamaBatch& batch, CkfSoftIds& ids);

// ckf_batch_layout into acts, then the soft tokens through the mapper into acts.batch.soft_vectors,
// keeping the mapper activations for a backward.
void ckf_batch_build(const LlamaModel& model, const Mapper& mapper, const CfTables& cf,
                     const std::vector<CkfExample>& examples, CkfOutputs outputs, CkfStepActs& acts);

// ckf_batch_build with teacher forcing, then the decoder: returns the mean answer-token loss.
float ckf_forward(const LlamaModel& model, const Mapper& mapper, const CfTables& cf,
                  const std::vector<CkfExample>& examples, CkfStepActs& acts, const LlamaRunMode& mode);

// Gradient of that loss: accumulates into the LoRA adapters and the mapper's parameters.
void ckf_backward(LlamaModel& model, Mapper& mapper, CkfStepActs& acts);

}  // namespace ckf
