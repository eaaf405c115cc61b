// Incremental inference for greedy generation: one token at a time against a KV cache, for one
// sequence of one task (its adapters and the shared ones, no dropout). Logits equal those of a
// full forward over the same prefix.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/llama_model.h"
#include "core/transformer_block.h"

namespace ckf {

struct LlamaDecoder {
  std::string task;
  int capacity = 0;                  // longest sequence the cache holds
  int len = 0;                       // tokens already in the cache
  Tensor k_cache;                    // (L, capacity, KVH*D) keys after rotary
  Tensor v_cache;                    // (L, capacity, KVH*D)
  std::vector<LayerActs> work;       // (L) one-row block buffers
  Tensor x;                          // (L+1, C) residual stream of the current token
  Tensor lnf;                        // (1, C)
  Tensor lnf_rstd;                   // (1)
  std::vector<LoraSegment> segment;  // the single row's task
};

// capacity <= config.max_seq; throws when the task's adapters are not held.
LlamaDecoder llama_decoder_create(const LlamaModel& model, const std::string& task, int capacity);

// Appends token (or, when soft_vector (C) is non-null, that embedding instead) at position
// dec.len and writes the next-token logits (V).
void llama_decode_step(const LlamaModel& model, LlamaDecoder& dec, int32_t token, const float* soft_vector,
                       float* logits);

// Forgets the tokens past the first len (0 <= len <= dec.len), so that another continuation of a
// shared prefix can follow; the cache rows past len are overwritten before they are read again.
void llama_decoder_rewind(LlamaDecoder& dec, int len);

}  // namespace ckf
