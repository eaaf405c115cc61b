// BPE merging follows HF tokenizers' Word::merge_all: repeatedly merge the adjacent pair with the
// lowest rank, the leftmost one on ties, using a heap so long pieces stay O(n log n).
#include "io/bpe.h"

#include <queue>

#include "core/check.h"
#include "io/unicode.h"

namespace ckf {

namespace {

struct ByteLevelTables {
  uint32_t to_char[256];
  int16_t to_byte[0x144];  // every mapped code point is below U+0144
  ByteLevelTables() {
    for (int16_t& b : to_byte) b = -1;
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[b] = printable ? (uint32_t)b : next++;
      to_byte[to_char[b]] = (int16_t)b;
    }
  }
};

const ByteLevelTables& byte_level_tables() {
  static const ByteLevelTables tables;
  return tables;
}

}  // namespace

uint32_t byte_level_char(uint8_t byte) { return byte_level_tables().to_char[byte]; }

int byte_level_byte(uint32_t cp) { return cp < 0x144 ? byte_level_tables().to_byte[cp] : -1; }

std::string byte_level_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) utf8_append(out, byte_level_char((uint8_t)c));
  return out;
}

BpeModel::BpeModel(std::unordered_map<std::string, int32_t> vocab, const std::vector<BpeMerge>& merges, int32_t unk_id,
                   bool ignore_merges, const std::string& source)
    : vocab_(std::move(vocab)), unk_id_(unk_id), ignore_merges_(ignore_merges) {
  auto lookup = [&](const std::string& token, size_t rank) {
    auto it = vocab_.find(token);
    CKF_CHECK(it != vocab_.end(), source << ": merges[" << rank << "] ('" << merges[rank].first << "' + '"
                                         << merges[rank].second << "') needs token '" << token
                                         << "', which is not in the vocab");
    return it->second;
  };
  merge_ranks_.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    int32_t a = lookup(merges[r].first, r), b = lookup(merges[r].second, r);
    int32_t merged = lookup(merges[r].first + merges[r].second, r);
    // A repeated pair takes its last rank, as HF's map built from the merge list does.
    merge_ranks_.insert_or_assign(pair_key(a, b), MergeTarget{(int32_t)r, merged});
  }
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    utf8_append(ch, byte_level_char((uint8_t)b));
    auto it = vocab_.find(ch);
    byte_ids_[b] = it != vocab_.end() ? it->second : unk_id_;
  }
}

void BpeModel::merge_symbols(std::vector<int32_t>& ids) const {
  size_t n = ids.size();
  if (n < 2) return;
  // Doubly linked symbols; a merged-away symbol gets id -1.
  std::vector<int32_t> prev(n), next(n);
  for (size_t i = 0; i < n; ++i) {
    prev[i] = (int32_t)i - 1;
    next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
  }
  struct Candidate {
    int32_t rank, pos, merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push_pair = [&](int32_t left) {
    int32_t right = next[left];
    if (right < 0) return;
    auto it = merge_ranks_.find(pair_key(ids[left], ids[right]));
    if (it != merge_ranks_.end()) heap.push({it->second.rank, left, it->second.id});
  };
  for (size_t i = 0; i + 1 < n; ++i) push_pair((int32_t)i);
  while (!heap.empty()) {
    Candidate c = heap.top();
    heap.pop();
    int32_t left = c.pos, right = next[left];
    // Stale entry: the left symbol was merged away or its pair changed since it was pushed.
    if (ids[left] < 0 || right < 0) continue;
    auto it = merge_ranks_.find(pair_key(ids[left], ids[right]));
    if (it == merge_ranks_.end() || it->second.id != c.merged) continue;
    ids[left] = c.merged;
    ids[right] = -1;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    if (prev[left] >= 0) push_pair(prev[left]);
    push_pair(left);
  }
  size_t w = 0;
  for (size_t i = 0; i < n; ++i)
    if (ids[i] >= 0) ids[w++] = ids[i];
  ids.resize(w);
}

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(piece);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  auto whole = ignore_merges_ ? vocab_.find(byte_level_encode(piece)) : vocab_.end();
  if (whole != vocab_.end()) {
    ids.push_back(whole->second);
  } else {
    ids.reserve(piece.size());
    for (char c : piece) {
      int32_t id = byte_ids_[(uint8_t)c];
      if (id >= 0) ids.push_back(id);
    }
    merge_symbols(ids);
  }
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(piece), std::move(ids));
}

}  // namespace ckf
