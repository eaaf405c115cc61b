// The hook that turns a sample into prompt text. `ckf prep` stores samples as ids only; a renderer
// (task templates, titles from the catalog) produces the text and marks where soft tokens go, and
// the tokenizer stage later stores the result under /prompt in each shard.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/catalog.h"
#include "io/shard.h"

namespace ckf {

// A span of the prompt text that stands for a user or item embedding (replaced by a soft token).
struct Placeholder {
  enum class Kind : int8_t { User = 0, Item = 1 };
  Kind kind;
  int32_t id;          // dense user or item id
  size_t byte_offset;  // into RenderedPrompt::text
  size_t byte_length;
};

struct RenderedPrompt {
  std::string text;                       // UTF-8 prompt, ending where the answer starts
  std::vector<Placeholder> placeholders;  // in text order
  std::string answer;                     // expected answer text ("Yes", a title, "4"); empty if scored per candidate
};

class PromptRenderer {
 public:
  virtual ~PromptRenderer() = default;
  virtual RenderedPrompt render(const SampleView& sample, const Catalog& catalog) const = 0;
};

}  // namespace ckf
