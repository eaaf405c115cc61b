// Tokenizer assembly (id tables, added-token matching, identity hash), encode and decode. The BPE
// model itself is io/bpe.cpp, the split pattern io/pretokenize.cpp, the tokenizer.json loader
// io/tokenizer_json.cpp.
#include "io/tokenizer.h"

#include <algorithm>

#include "core/check.h"
#include "core/hash.h"
#include "io/unicode.h"

namespace ckf {

namespace {

// HF's ByteLevel decoder, applied to model and added tokens alike: a token whose characters all
// come from the byte map turns back into those bytes; any other token (e.g. an added token with a
// raw space) is taken verbatim.
std::string token_bytes(const std::string& token) {
  std::string bytes;
  for (size_t pos = 0; pos < token.size();) {
    uint32_t cp;
    size_t len = utf8_next(token, pos, &cp);
    int b = len > 0 ? byte_level_byte(cp) : -1;
    if (b < 0) return token;
    bytes += (char)b;
    pos += len;
  }
  return bytes;
}

// Hash of everything that decides the ids encode produces and the text decode produces.
std::string tokenizer_identity(const TokenizerSpec& spec, const std::vector<std::string>& id_to_token,
                               const std::vector<uint8_t>& id_kind) {
  Fnv1a64Stream h;
  h.str("ckf-bpe-1");
  h.str(pretokenizer_name(spec.pre));
  h.integer(spec.unk_id);
  h.integer(spec.ignore_merges);
  h.integer(spec.add_bos ? spec.bos_id : -1);
  h.integer(spec.add_eos ? spec.eos_id : -1);
  h.integer((int64_t)id_to_token.size());
  for (size_t id = 0; id < id_to_token.size(); ++id) {
    h.integer(id_kind[id]);
    h.str(id_to_token[id]);
  }
  h.integer((int64_t)spec.merges.size());
  for (const BpeMerge& m : spec.merges) {
    h.str(m.first);
    h.str(m.second);
  }
  std::vector<int64_t> added_ids;  // by id, so the order tokens were listed in does not matter
  for (const AddedToken& t : spec.added) added_ids.push_back(t.normalized ? t.id : -1 - (int64_t)t.id);
  std::sort(added_ids.begin(), added_ids.end());
  for (int64_t v : added_ids) h.integer(v);
  return "bpe-fnv1a64:" + hex64(h.h);
}

}  // namespace

Tokenizer::Tokenizer(TokenizerSpec spec) : spec_(std::move(spec)) {
  const std::string& src = spec_.source;
  int32_t max_id = -1;
  for (const auto& [token, id] : spec_.vocab) {
    CKF_CHECK(id >= 0, src << ": vocab token '" << token << "' has negative id " << id);
    max_id = std::max(max_id, id);
  }
  for (const AddedToken& t : spec_.added) {
    CKF_CHECK(t.id >= 0, src << ": added token '" << t.content << "' has negative id " << t.id);
    CKF_CHECK(!t.content.empty(), src << ": added token " << t.id << " has empty content");
    max_id = std::max(max_id, t.id);
  }
  CKF_CHECK(max_id >= 0, src << ": empty vocab");
  // Ids index dense tables; a stray huge id must not allocate gigabytes.
  size_t entries = spec_.vocab.size() + spec_.added.size();
  CKF_CHECK((size_t)max_id < 2 * entries + 1024,
            src << ": token id " << max_id << " is far beyond the " << entries << " tokens (ids must be dense)");
  id_to_token_.resize((size_t)max_id + 1);
  id_kind_.assign((size_t)max_id + 1, kAbsent);
  for (const auto& [token, id] : spec_.vocab) {
    CKF_CHECK(id_kind_[id] == kAbsent,
              src << ": vocab id " << id << " is used by both '" << id_to_token_[id] << "' and '" << token << "'");
    id_to_token_[id] = token;
    id_kind_[id] = kModel;
  }
  // Added tokens take precedence over the model vocab for the same id, as in HF.
  for (size_t i = 0; i < spec_.added.size(); ++i) {
    const AddedToken& t = spec_.added[i];
    CKF_CHECK(added_by_content_.emplace(t.content, t.id).second,
              src << ": added token '" << t.content << "' appears twice");
    id_to_token_[t.id] = t.content;
    id_kind_[t.id] = t.special ? kSpecial : kAdded;
    added_by_length_[t.normalized].push_back((int32_t)i);
    added_first_byte_[t.normalized][(uint8_t)t.content[0]] = true;
  }
  for (auto& list : added_by_length_)
    std::stable_sort(list.begin(), list.end(), [&](int32_t a, int32_t b) {
      return spec_.added[a].content.size() > spec_.added[b].content.size();
    });
  auto check_id = [&](int32_t id, bool needed, const char* what) {
    CKF_CHECK(!needed || (id >= 0 && id <= max_id && id_kind_[id] != kAbsent),
              src << ": " << what << " id " << id << " is not a token id (vocab size " << max_id + 1 << ")");
  };
  check_id(spec_.bos_id, spec_.add_bos || spec_.bos_id >= 0, "BOS");
  check_id(spec_.eos_id, spec_.add_eos || spec_.eos_id >= 0, "EOS");
  check_id(spec_.unk_id, spec_.unk_id >= 0, "unknown-token");
  id_bytes_.resize(id_to_token_.size());
  for (size_t id = 0; id < id_to_token_.size(); ++id) id_bytes_[id] = token_bytes(id_to_token_[id]);

  identity_ = tokenizer_identity(spec_, id_to_token_, id_kind_);

  bpe_ = std::make_unique<BpeModel>(std::move(spec_.vocab), spec_.merges, spec_.unk_id, spec_.ignore_merges, src);
  spec_.vocab.clear();
  spec_.merges.clear();
}

// HF AddedVocabulary: leftmost-longest matches of the added tokens of one pass (normalized=false
// tokens on the raw text, then normalized=true ones on what is left) cut the text into segments.
// segment_ids[i] is the added token id of segments[i], or -1 for plain text.
void Tokenizer::split_added(std::string_view text, bool normalized_pass, std::vector<std::string_view>& segments,
                            std::vector<int32_t>& segment_ids) const {
  const std::vector<int32_t>& candidates = added_by_length_[normalized_pass];
  const bool* first_byte = added_first_byte_[normalized_pass];
  size_t plain_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const AddedToken* hit = nullptr;
    if (first_byte[(uint8_t)text[pos]])
      for (int32_t i : candidates)
        if (text.substr(pos).starts_with(spec_.added[i].content)) {
          hit = &spec_.added[i];
          break;
        }
    if (!hit) {
      ++pos;
      continue;
    }
    if (pos > plain_start) {
      segments.push_back(text.substr(plain_start, pos - plain_start));
      segment_ids.push_back(-1);
    }
    segments.push_back(text.substr(pos, hit->content.size()));
    segment_ids.push_back(hit->id);
    pos += hit->content.size();
    plain_start = pos;
  }
  if (plain_start < text.size()) {
    segments.push_back(text.substr(plain_start));
    segment_ids.push_back(-1);
  }
}

void Tokenizer::encode_text(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<std::string_view> pieces;
  pretokenize(text, spec_.pre, pieces);
  for (std::string_view piece : pieces) bpe_->encode_piece(piece, out);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special) const {
  std::vector<int32_t> out;
  if (add_special && spec_.add_bos) out.push_back(spec_.bos_id);
  std::vector<std::string_view> raw_segments, segments;
  std::vector<int32_t> raw_ids, ids;
  split_added(text, false, raw_segments, raw_ids);
  for (size_t i = 0; i < raw_segments.size(); ++i) {
    if (raw_ids[i] >= 0) {
      segments.push_back(raw_segments[i]);
      ids.push_back(raw_ids[i]);
    } else {
      split_added(raw_segments[i], true, segments, ids);
    }
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    if (ids[i] >= 0)
      out.push_back(ids[i]);
    else
      encode_text(segments[i], out);
  }
  if (add_special && spec_.add_eos) out.push_back(spec_.eos_id);
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string bytes;
  for (int32_t id : ids) {
    CKF_CHECK(id >= 0 && id < vocab_size() && id_kind_[id] != kAbsent,
              "tokenizer decode: token id " << id << " is not in the vocabulary of " << spec_.source << " (size "
                                            << vocab_size() << ")");
    if (skip_special && id_kind_[id] == kSpecial) continue;
    bytes += id_bytes_[id];
  }
  return utf8_lossy(bytes);
}

int32_t Tokenizer::token_to_id(std::string_view token) const {
  std::string key(token);
  auto added = added_by_content_.find(key);
  if (added != added_by_content_.end()) return added->second;
  auto it = bpe_->vocab().find(key);
  return it != bpe_->vocab().end() ? it->second : -1;
}

const std::string& Tokenizer::id_to_token(int32_t id) const {
  CKF_CHECK(id >= 0 && id < vocab_size() && id_kind_[id] != kAbsent,
            "tokenizer: token id " << id << " is not in the vocabulary of " << spec_.source << " (size " << vocab_size()
                                   << ")");
  return id_to_token_[id];
}

Tokenizer tokenizer_from_gguf_metadata(const std::vector<std::string>& tokens, const std::vector<int32_t>& token_types,
                                       const std::vector<std::string>& merges, const std::string& model,
                                       const std::string& pre, int32_t bos_id, int32_t eos_id, bool add_bos,
                                       bool add_eos, const std::string& source) {
  CKF_CHECK(model == "gpt2",
            source << ": tokenizer.ggml.model is '" << model << "'; only 'gpt2' (byte-level BPE) is supported");
  TokenizerSpec spec;
  spec.source = source;
  if (pre == "smollm" || pre == "starcoder")
    spec.pre = PreTokenizer::digits_gpt2;
  else if (pre == "gpt2")
    spec.pre = PreTokenizer::gpt2;
  else if (pre == "llama-bpe")
    spec.pre = PreTokenizer::llama3;
  else
    CKF_FAIL(source << ": tokenizer.ggml.pre '" << pre
                    << "' is not supported (known: smollm, starcoder, gpt2, llama-bpe)");
  spec.ignore_merges = spec.pre == PreTokenizer::llama3;  // as llama.cpp and HF's Llama-3 tokenizer.json do
  CKF_CHECK(token_types.empty() || token_types.size() == tokens.size(),
            source << ": tokenizer.ggml.token_type has " << token_types.size()
                   << " entries but tokenizer.ggml.tokens has " << tokens.size());
  spec.vocab.reserve(tokens.size());
  for (size_t id = 0; id < tokens.size(); ++id) {
    CKF_CHECK(spec.vocab.emplace(tokens[id], (int32_t)id).second,
              source << ": tokenizer.ggml.tokens[" << id << "] '" << tokens[id] << "' repeats an earlier token");
    int32_t type = token_types.empty() ? 1 : token_types[id];
    CKF_CHECK(type >= 1 && type <= 6,
              source << ": tokenizer.ggml.token_type[" << id << "] is " << type << " (expected 1..6)");
    if (type == 3 || type == 4) spec.added.push_back({(int32_t)id, tokens[id], type == 3, false});
  }
  spec.merges.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    size_t space = merges[r].find(' ');
    CKF_CHECK(space != std::string::npos && space > 0 && space + 1 < merges[r].size(),
              source << ": tokenizer.ggml.merges[" << r << "] '" << merges[r] << "' is not 'left right'");
    spec.merges.emplace_back(merges[r].substr(0, space), merges[r].substr(space + 1));
  }
  spec.bos_id = bos_id;
  spec.eos_id = eos_id;
  spec.add_bos = add_bos;
  spec.add_eos = add_eos;
  return Tokenizer(std::move(spec));
}

}  // namespace ckf
