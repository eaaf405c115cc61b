// Hugging Face tokenizer.json -> TokenizerSpec. Only what byte-level BPE models use is accepted;
// anything else (a normalizer, another model type, lstrip on an added token...) is refused with an
// error naming the file and field rather than silently encoding differently from HF.
#include <string>

#include "core/check.h"
#include "io/json.h"
#include "io/tokenizer.h"

namespace ckf {

namespace {

// A JSON value with its dotted field path, so every error names file and field.
struct Field {
  const std::string& file;
  const Json& value;
  std::string path;

  void expect(Json::Type t) const {
    CKF_CHECK(value.type() == t, file << ": field " << path << " must be " << json_type_name(t) << ", found "
                                      << json_type_name(value.type()));
  }
  Field get(std::string_view key) const {
    expect(Json::Type::Object);
    const Json* v = value.find(key);
    CKF_CHECK(v, file << ": missing field " << path << "." << key);
    return {file, *v, path + "." + std::string(key)};
  }
  // Absent and null both mean "not set".
  bool has(std::string_view key) const {
    expect(Json::Type::Object);
    const Json* v = value.find(key);
    return v && !v->is_null();
  }
  Field at(size_t i) const {
    CKF_CHECK(i < size(), file << ": field " << path << " has " << size() << " entries, needs more than " << i);
    return {file, value.as_array()[i], path + "[" + std::to_string(i) + "]"};
  }
  const std::string& str() const {
    expect(Json::Type::String);
    return value.as_string();
  }
  bool boolean() const {
    expect(Json::Type::Bool);
    return value.as_bool();
  }
  int32_t id() const {
    CKF_CHECK(value.is_integer() && value.as_int64() >= 0 && value.as_int64() <= INT32_MAX,
              file << ": field " << path << " must be a non-negative 32-bit integer id");
    return (int32_t)value.as_int64();
  }
  size_t size() const {
    expect(Json::Type::Array);
    return value.as_array().size();
  }
  // Fails unless the optional boolean `key` is absent or equal to `want`.
  void require_flag(std::string_view key, bool want) const {
    if (has(key))
      CKF_CHECK(get(key).boolean() == want,
                file << ": field " << path << "." << key << " = " << (want ? "false" : "true") << " is not supported");
  }
  [[noreturn]] void unsupported(const std::string& what) const {
    CKF_FAIL(file << ": field " << path << ": " << what << " is not supported (byte-level BPE only)");
  }
};

void load_model(const Field& model, TokenizerSpec& spec) {
  if (model.has("type") && model.get("type").str() != "BPE")
    model.get("type").unsupported("model type '" + model.get("type").str() + "'");
  if (model.has("dropout")) model.get("dropout").unsupported("BPE dropout");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.has(key) && !model.get(key).str().empty()) model.get(key).unsupported(key);
  model.require_flag("byte_fallback", false);
  spec.ignore_merges = model.has("ignore_merges") && model.get("ignore_merges").boolean();
  model.require_flag("fuse_unk", false);

  Field vocab = model.get("vocab");
  vocab.expect(Json::Type::Object);
  spec.vocab.reserve(vocab.value.as_object().size());
  for (const auto& [token, id] : vocab.value.as_object())
    spec.vocab.emplace(token, Field{model.file, id, vocab.path + "[\"" + token + "\"]"}.id());

  Field merges = model.get("merges");
  spec.merges.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    Field m = merges.at(r);
    if (m.value.is_string()) {  // older files: "left right"
      const std::string& s = m.str();
      size_t space = s.find(' ');
      CKF_CHECK(space != std::string::npos && space > 0 && space + 1 < s.size(),
                m.file << ": field " << m.path << " '" << s << "' is not 'left right'");
      spec.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else {  // newer files: ["left", "right"]
      CKF_CHECK(m.size() == 2, m.file << ": field " << m.path << " must be a string or a pair of strings");
      spec.merges.emplace_back(m.at(0).str(), m.at(1).str());
    }
  }
  if (model.has("unk_token")) {
    Field unk = model.get("unk_token");
    auto it = spec.vocab.find(unk.str());
    CKF_CHECK(it != spec.vocab.end(),
              unk.file << ": field " << unk.path << " '" << unk.str() << "' is not in model.vocab");
    spec.unk_id = it->second;
  }
}

// ByteLevel as HF configures it for these models: no prefix space; its own GPT-2 split or none.
void check_byte_level(const Field& f, bool use_regex) {
  f.require_flag("add_prefix_space", false);
  f.require_flag("use_regex", use_regex);
}

const char kLlama3Pattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

void load_pre_tokenizer(const Field& pre, TokenizerSpec& spec) {
  const std::string& type = pre.get("type").str();
  if (type == "ByteLevel") {
    check_byte_level(pre, true);
    spec.pre = PreTokenizer::gpt2;
    return;
  }
  if (type == "Sequence") {
    Field list = pre.get("pretokenizers");
    if (list.size() == 2 && list.at(0).get("type").str() == "Digits" && list.at(1).get("type").str() == "ByteLevel") {
      list.at(0).require_flag("individual_digits", true);
      check_byte_level(list.at(1), true);
      spec.pre = PreTokenizer::digits_gpt2;
      return;
    }
    if (list.size() == 2 && list.at(0).get("type").str() == "Split" && list.at(1).get("type").str() == "ByteLevel") {
      Field split = list.at(0);
      Field pattern = split.get("pattern").get("Regex");
      CKF_CHECK(pattern.str() == kLlama3Pattern,
                pattern.file << ": field " << pattern.path << ": only the Llama-3 split pattern is supported");
      CKF_CHECK(split.get("behavior").str() == "Isolated",
                split.file << ": field " << split.path << ".behavior must be Isolated");
      split.require_flag("invert", false);
      check_byte_level(list.at(1), false);
      spec.pre = PreTokenizer::llama3;
      return;
    }
  }
  pre.unsupported(
      "pre-tokenizer '" + type +
      "' (supported: ByteLevel, Sequence[Digits(individual), ByteLevel], Sequence[Split(Llama-3), ByteLevel])");
}

// TemplateProcessing "single": [SpecialToken?] Sequence A [SpecialToken?] gives BOS/EOS.
void load_template(const Field& post, TokenizerSpec& spec) {
  Field single = post.get("single");
  bool seen_sequence = false;
  for (size_t i = 0; i < single.size(); ++i) {
    Field item = single.at(i);
    if (item.has("Sequence")) {
      CKF_CHECK(!seen_sequence, item.file << ": field " << item.path << ": a second sequence in a single template");
      seen_sequence = true;
      continue;
    }
    Field special = item.get("SpecialToken");
    const std::string& name = special.get("id").str();
    Field ids = post.get("special_tokens").get(name).get("ids");
    CKF_CHECK(ids.size() == 1, ids.file << ": field " << ids.path << ": only single-id special tokens are supported");
    int32_t id = ids.at(0).id();
    CKF_CHECK(
        seen_sequence ? !spec.add_eos : !spec.add_bos,
        item.file << ": field " << item.path << ": only one special token before and after the text is supported");
    (seen_sequence ? spec.eos_id : spec.bos_id) = id;
    (seen_sequence ? spec.add_eos : spec.add_bos) = true;
  }
  CKF_CHECK(seen_sequence, single.file << ": field " << single.path << " has no Sequence A");
}

void load_post_processor(const Field& post, TokenizerSpec& spec) {
  const std::string& type = post.get("type").str();
  if (type == "ByteLevel") return;  // only adjusts offsets
  if (type == "TemplateProcessing") return load_template(post, spec);
  if (type == "Sequence") {
    Field list = post.get("processors");
    for (size_t i = 0; i < list.size(); ++i) load_post_processor(list.at(i), spec);
    return;
  }
  post.unsupported("post-processor '" + type + "'");
}

}  // namespace

Tokenizer tokenizer_load_json(const std::filesystem::path& path) {
  std::string file = path.string();
  Json root_value = json_parse_file(path);
  Field root{file, root_value, "tokenizer"};
  root.expect(Json::Type::Object);
  TokenizerSpec spec;
  spec.source = file;
  load_model(root.get("model"), spec);
  if (root.has("normalizer")) root.get("normalizer").unsupported("a normalizer");
  if (root.has("pre_tokenizer")) load_pre_tokenizer(root.get("pre_tokenizer"), spec);
  if (root.has("post_processor")) load_post_processor(root.get("post_processor"), spec);
  if (root.has("decoder") && root.get("decoder").get("type").str() != "ByteLevel")
    root.get("decoder").unsupported("decoder '" + root.get("decoder").get("type").str() + "'");
  if (root.has("added_tokens")) {
    Field added = root.get("added_tokens");
    for (size_t i = 0; i < added.size(); ++i) {
      Field t = added.at(i);
      for (const char* flag : {"single_word", "lstrip", "rstrip"}) t.require_flag(flag, false);
      bool special = t.has("special") && t.get("special").boolean();
      // HF's default: special tokens are matched on raw text, others after normalization.
      bool normalized = t.has("normalized") ? t.get("normalized").boolean() : !special;
      spec.added.push_back({t.get("id").id(), t.get("content").str(), special, normalized});
    }
  }
  return Tokenizer(std::move(spec));
}

}  // namespace ckf
