// Byte-level BPE model: the GPT-2 byte-to-character mapping and merging of one pre-tokenized
// piece into token ids by merge rank, as Hugging Face `tokenizers` models.bpe does it.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ckf {

// GPT-2 bytes_to_unicode: each byte maps to one printable code point (printable Latin-1 bytes map to
// themselves, the rest to U+0100 + n in byte order), so tokens never contain raw whitespace.
uint32_t byte_level_char(uint8_t byte);
// Inverse of byte_level_char; -1 for a code point no byte maps to.
int byte_level_byte(uint32_t cp);
// The byte-level string of raw bytes: "hi there" -> "hiĠthere".
std::string byte_level_encode(std::string_view bytes);

using BpeMerge = std::pair<std::string, std::string>;  // (left, right); list order is the rank

class BpeModel {
 public:
  // vocab: byte-level token string -> id. merges: in rank order; both sides and their
  // concatenation must be in vocab. unk_id: emitted for a byte whose character is not in vocab;
  // -1 drops such bytes (HF BPE without unk_token). ignore_merges: a piece that is itself a vocab
  // token becomes that token without merging (Llama-3). `source` names the origin in errors.
  BpeModel(std::unordered_map<std::string, int32_t> vocab, const std::vector<BpeMerge>& merges, int32_t unk_id,
           bool ignore_merges, const std::string& source);

  // Appends the ids of one pre-tokenized piece (raw bytes, not yet byte-level mapped).
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

  const std::unordered_map<std::string, int32_t>& vocab() const { return vocab_; }

 private:
  struct MergeTarget {
    int32_t rank;
    int32_t id;  // id of the merged token
  };
  static uint64_t pair_key(int32_t a, int32_t b) { return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b; }
  void merge_symbols(std::vector<int32_t>& ids) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<uint64_t, MergeTarget> merge_ranks_;  // (left id, right id) -> rank, merged id
  int32_t byte_ids_[256];                                  // id of each byte's single-character token, or unk_id
  int32_t unk_id_;
  bool ignore_merges_;

  // Piece -> ids. Text repeats words heavily, so most pieces skip merging. Bounded like HF's
  // cache: once full it stops growing. The mutex keeps encode usable from several threads.
  struct PieceHash {  // lets the cache be probed with a string_view, without a copy
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  static constexpr size_t kCacheCapacity = 1 << 16;
  mutable std::unordered_map<std::string, std::vector<int32_t>, PieceHash, std::equal_to<>> cache_;
  mutable std::mutex cache_mutex_;
};

}  // namespace ckf
