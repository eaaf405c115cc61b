// Tokenizers from model files: GGUF metadata (tokenizer.ggml.*) or a model directory's tokenizer.json.
#include <filesystem>

#include "core/check.h"
#include "io/gguf_file.h"
#include "io/tokenizer.h"

namespace ckf {

namespace {

const GgufValue& array_of(const GgufFile& f, const std::string& key, GgufValue::Kind elem) {
  const GgufValue* v = f.find(key);
  CKF_CHECK(v != nullptr, f.path() << ": metadata key '" << key << "' is missing");
  CKF_CHECK(v->kind == GgufValue::Kind::array && v->elem_kind == elem,
            f.path() << ": metadata key '" << key << "' is not an array of " << gguf_kind_name(elem));
  return *v;
}

int32_t optional_id(const GgufFile& f, const std::string& key) {
  return f.find(key) ? static_cast<int32_t>(f.get_int(key)) : -1;
}

bool optional_flag(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  if (!v) return false;
  CKF_CHECK(v->kind == GgufValue::Kind::boolean, f.path() << ": metadata key '" << key << "' is not a bool");
  return v->u != 0;
}

}  // namespace

Tokenizer tokenizer_load_gguf(const GgufFile& f) {
  std::vector<std::string> tokens, merges;
  std::vector<int32_t> types;
  for (const GgufValue& v : array_of(f, "tokenizer.ggml.tokens", GgufValue::Kind::string).elems) tokens.push_back(v.str);
  for (const GgufValue& v : array_of(f, "tokenizer.ggml.merges", GgufValue::Kind::string).elems) merges.push_back(v.str);
  if (f.find("tokenizer.ggml.token_type"))
    for (const GgufValue& v : array_of(f, "tokenizer.ggml.token_type", GgufValue::Kind::i32).elems)
      types.push_back(static_cast<int32_t>(v.i));
  const std::string pre = f.find("tokenizer.ggml.pre") ? f.get_string("tokenizer.ggml.pre") : "default";
  return tokenizer_from_gguf_metadata(tokens, types, merges, f.get_string("tokenizer.ggml.model"), pre,
                                      optional_id(f, "tokenizer.ggml.bos_token_id"),
                                      optional_id(f, "tokenizer.ggml.eos_token_id"),
                                      optional_flag(f, "tokenizer.ggml.add_bos_token"),
                                      optional_flag(f, "tokenizer.ggml.add_eos_token"), f.path());
}

Tokenizer tokenizer_load(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path)) return tokenizer_load_json((fs::path(path) / "tokenizer.json").string());
  CKF_CHECK(fs::exists(path), "tokenizer: " << path << " does not exist");
  if (path.size() > 5 && path.substr(path.size() - 5) == ".gguf") return tokenizer_load_gguf(GgufFile(path));
  return tokenizer_load_json(path);
}

}  // namespace ckf
