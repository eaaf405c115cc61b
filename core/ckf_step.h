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

// Everything a forward keeps for its backward.
struct CkfStepActs {
  LlamaBatch batch;
  LlamaActs llama;
  std::vector<int> soft_user_row;  // (S) row in the user-token block, -1 for an item placeholder
  std::vector<int> soft_item_row;  // (S) row in the item-token block, -1 for a user placeholder
  int n_user = 0, n_item = 0;
  MapperUserActs user_acts;
  MlpActs item_acts;
};

// Which logits a batch asks for: training predicts every answer token from the prompt and the
// answer so far; scoring wants only the next-token logits after the prompt (no target, answers
// unused and may be empty).
enum class CkfOutputs : uint8_t { teacher_forced, next_token };

// Fills acts.batch (right-padded tokens, lengths, tasks, logit requests) and computes the soft
// tokens through the mapper into acts.batch.soft_vectors, keeping the mapper activations for a
// backward. Checks every id against the CF tables and every placeholder position.
void ckf_batch_build(const LlamaModel& model, const Mapper& mapper, const CfTables& cf,
                     const std::vector<CkfExample>& examples, CkfOutputs outputs, CkfStepActs& acts);

// ckf_batch_build with teacher forcing, then the decoder: returns the mean answer-token loss.
float ckf_forward(const LlamaModel& model, const Mapper& mapper, const CfTables& cf,
                  const std::vector<CkfExample>& examples, CkfStepActs& acts, const LlamaRunMode& mode);

// Gradient of that loss: accumulates into the LoRA adapters and the mapper's parameters.
void ckf_backward(LlamaModel& model, Mapper& mapper, CkfStepActs& acts);

}  // namespace ckf
