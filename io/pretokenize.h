// Pre-tokenization: splits text into the pieces BPE runs on independently, exactly as the Hugging
// Face `tokenizers` pre-tokenizers do, written out by hand (std::regex cannot do \p{L}).
#pragma once
#include <string_view>
#include <vector>

namespace ckf {

enum class PreTokenizer {
  // ByteLevel(use_regex=true): the GPT-2 pattern
  //   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  gpt2,
  // Sequence[Digits(individual_digits=true), ByteLevel(use_regex=true)]: every numeric code point
  // is its own piece, the GPT-2 pattern splits the text between them. SmolLM/StarCoder use this
  // (llama.cpp calls it pre-tokenizer "smollm").
  digits_gpt2,
  // Sequence[Split(Llama-3 pattern, Isolated), ByteLevel(use_regex=false)]:
  //   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
  //   \s*[\r\n]+|\s+(?!\S)|\s+
  llama3,
};

const char* pretokenizer_name(PreTokenizer kind);

// Appends the pieces of `text` (views into it, in order, covering it exactly) to `pieces`.
// Throws ckf::Error if text is not valid UTF-8.
void pretokenize(std::string_view text, PreTokenizer kind, std::vector<std::string_view>& pieces);

}  // namespace ckf
