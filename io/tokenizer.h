// Byte-level BPE tokenizer matching Hugging Face `tokenizers` (GPT-2, SmolLM/StarCoder, Llama-3):
// added tokens are matched in the raw text first, the rest is pre-tokenized, byte-level mapped and
// BPE-merged. Built from a plain description (TokenizerSpec) that the tokenizer.json and GGUF
// loaders fill in.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/bpe.h"
#include "io/pretokenize.h"

namespace ckf {

struct AddedToken {
  int32_t id;
  std::string content;  // raw text, matched verbatim (not byte-level mapped)
  bool special;         // special tokens can be skipped by decode
  bool normalized;      // HF matches normalized=false tokens first, then normalized=true ones
};

struct TokenizerSpec {
  std::string source;                              // where this came from (a path), for error messages
  std::unordered_map<std::string, int32_t> vocab;  // byte-level token string -> id
  std::vector<BpeMerge> merges;                    // rank order
  std::vector<AddedToken> added;
  PreTokenizer pre = PreTokenizer::gpt2;
  bool ignore_merges = false;  // a piece that is a vocab token is kept whole (Llama-3)
  int32_t unk_id = -1;         // -1: bytes missing from the vocab are dropped
  int32_t bos_id = -1;         // the model's BOS/EOS ids, -1 if none
  int32_t eos_id = -1;
  bool add_bos = false;  // encode(text, add_special=true) prepends BOS / appends EOS
  bool add_eos = false;
};

class Tokenizer {
 public:
  explicit Tokenizer(TokenizerSpec spec);  // validates; throws ckf::Error naming spec.source

  // add_special: add BOS/EOS as the spec says (HF's add_special_tokens). Added tokens in the text
  // are always recognised. Throws ckf::Error if text is not valid UTF-8. Safe to call from several
  // threads at once.
  std::vector<int32_t> encode(std::string_view text, bool add_special) const;
  // Byte-level decode; invalid UTF-8 in the result becomes U+FFFD as in HF. skip_special drops
  // special added tokens. Throws ckf::Error for an id outside the vocabulary.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;

  int32_t token_to_id(std::string_view token) const;                   // -1 when unknown
  const std::string& id_to_token(int32_t id) const;                    // throws for an unknown id
  int32_t vocab_size() const { return (int32_t)id_to_token_.size(); }  // max id + 1
  int32_t bos_id() const { return spec_.bos_id; }
  int32_t eos_id() const { return spec_.eos_id; }
  PreTokenizer pre_tokenizer() const { return spec_.pre; }
  // "bpe-fnv1a64:<16 hex>" over every id's token, the merges, the added tokens, the pre-tokenizer
  // and the BOS/EOS that encode adds: equal identities mean equal encodings, whichever file the
  // tokenizer was loaded from. Data shards store it to detect a tokenizer mismatch.
  const std::string& identity() const { return identity_; }

 private:
  void split_added(std::string_view text, bool normalized_pass, std::vector<std::string_view>& segments,
                   std::vector<int32_t>& segment_ids) const;
  void encode_text(std::string_view text, std::vector<int32_t>& out) const;

  TokenizerSpec spec_;  // vocab and merges moved into bpe_
  std::unique_ptr<BpeModel> bpe_;
  enum IdKind : uint8_t { kAbsent, kModel, kAdded, kSpecial };
  std::vector<std::string> id_to_token_;  // (V,) added content or vocab string per id
  std::vector<std::string> id_bytes_;     // (V,) the bytes each id decodes to
  std::vector<uint8_t> id_kind_;          // (V,) IdKind
  std::unordered_map<std::string, int32_t> added_by_content_;
  std::vector<int32_t> added_by_length_[2];  // [normalized] indices into spec_.added, longest first
  bool added_first_byte_[2][256] = {};       // [normalized][byte]: some added token starts with it
  std::string identity_;
};

// Loads a Hugging Face tokenizer.json (model.type "BPE", byte-level). Errors name the file and the
// offending field.
Tokenizer tokenizer_load_json(const std::filesystem::path& path);

// Builds the tokenizer from GGUF metadata (tokenizer.ggml.*): model must be "gpt2" (byte-level BPE);
// pre is tokenizer.ggml.pre ("smollm", "starcoder": digits split individually; "gpt2"; "llama-bpe":
// Llama-3 pattern with ignore_merges). merges are
// "left right" strings. token_types: 1 normal, 2 unknown, 3 control (special added token),
// 4 user-defined (added token), 5 unused, 6 byte. Ids < 0 mean absent. The unknown-token id is not
// taken: byte-level vocabularies cover every byte and HF's GGUF conversion leaves unk unset too.
// `source` names the file.
Tokenizer tokenizer_from_gguf_metadata(const std::vector<std::string>& tokens, const std::vector<int32_t>& token_types,
                                       const std::vector<std::string>& merges, const std::string& model,
                                       const std::string& pre, int32_t bos_id, int32_t eos_id, bool add_bos,
                                       bool add_eos, const std::string& source);

class GgufFile;
// The tokenizer a GGUF file's tokenizer.ggml.* metadata describes.
Tokenizer tokenizer_load_gguf(const GgufFile& file);

// From a .gguf file or a Hugging Face model directory (its tokenizer.json).
Tokenizer tokenizer_load(const std::string& path);

}  // namespace ckf
