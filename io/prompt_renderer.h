// The hook that turns a sample into prompt text: a renderer (task templates, titles from the
// catalog; io/prompt_templates.h) produces the text and marks where soft tokens go, and the encoder
// (io/prompt_encode.h) tokenizes it into the shard's /prompt group.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/catalog.h"
#include "io/shard.h"

namespace ckf {

// A span of the prompt text that stands for a user or item embedding (replaced by a soft token).
struct TextPlaceholder {
  enum class Kind : int8_t { User = 0, Item = 1 };
  Kind kind;
  int32_t id;          // dense user or item id
  size_t byte_offset;  // into RenderedPrompt::text
  size_t byte_length;
};

// Removing every placeholder span from text gives the text-only variant of the prompt.
struct RenderedPrompt {
  std::string text;                       // UTF-8 prompt, ending where the answer starts (topk: the shared prefix)
  std::vector<TextPlaceholder> placeholders;  // in text order
  std::string answer;                     // expected answer text ("Yes", "4", "C"); empty for topk
  // topk: one continuation of text per candidate (its title, its placeholder, the question), each
  // with its own answer; suffixes have no suffixes. Empty for the other tasks.
  std::vector<RenderedPrompt> suffixes;
};

class PromptRenderer {
 public:
  virtual ~PromptRenderer() = default;
  virtual RenderedPrompt render(const SampleView& sample, const Catalog& catalog) const = 0;
};

}  // namespace ckf
