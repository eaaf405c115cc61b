#include "io/hf_model_dir.h"

#include <cstdint>
#include <filesystem>

#include "core/check.h"
#include "io/json.h"
#include "io/llama_tensors.h"

namespace ckf {
namespace {

namespace fs = std::filesystem;

const Json* member(const Json& obj, const char* key, const std::string& path, bool required) {
  const Json* v = obj.find(key);
  CKF_CHECK(v != nullptr || !required, path << ": '" << key << "' is missing");
  return v != nullptr && !v->is_null() ? v : nullptr;
}

int int_field(const Json& obj, const char* key, const std::string& path, const int* fallback = nullptr) {
  const Json* v = member(obj, key, path, fallback == nullptr);
  if (v == nullptr) return *fallback;
  CKF_CHECK(v->is_integer(), path << ": '" << key << "' must be an integer, found " << json_type_name(v->type()));
  int64_t i = v->as_int64();
  CKF_CHECK(i >= 0 && i <= INT32_MAX, path << ": '" << key << "' = " << i << " is out of range");
  return static_cast<int>(i);
}

float number_field(const Json& obj, const char* key, const std::string& path, float fallback) {
  const Json* v = member(obj, key, path, false);
  if (v == nullptr) return fallback;
  CKF_CHECK(v->is_number(), path << ": '" << key << "' must be a number, found " << json_type_name(v->type()));
  return static_cast<float>(v->as_number());
}

// Buffers some checkpoints carry that are recomputed from the config, not weights.
bool is_derived_buffer(const std::string& name) {
  const std::string suffix = "rotary_emb.inv_freq";
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

LlamaConfig hf_config_read(const std::string& path) {
  Json j = json_parse_file(path);
  CKF_CHECK(j.is_object(), path << ": not a JSON object");
  if (const Json* arch = member(j, "architectures", path, false)) {
    CKF_CHECK(arch->is_array(), path << ": 'architectures' must be an array");
    bool llama = false;
    for (const Json& a : arch->as_array()) llama |= a.is_string() && a.as_string() == "LlamaForCausalLM";
    CKF_CHECK(llama, path << ": 'architectures' does not list LlamaForCausalLM");
  }
  LlamaConfig c;
  c.vocab = int_field(j, "vocab_size", path);
  c.d_model = int_field(j, "hidden_size", path);
  c.n_layers = int_field(j, "num_hidden_layers", path);
  c.n_heads = int_field(j, "num_attention_heads", path);
  c.n_kv_heads = int_field(j, "num_key_value_heads", path, &c.n_heads);
  c.ffn = int_field(j, "intermediate_size", path);
  CKF_CHECK(c.n_heads > 0, path << ": 'num_attention_heads' must be positive, got " << c.n_heads);
  int head_dim = c.d_model / c.n_heads;
  c.head_dim = int_field(j, "head_dim", path, &head_dim);
  c.rms_eps = number_field(j, "rms_norm_eps", path, 1e-6f);
  // transformers < 5 writes rope_theta at the top level, >= 5 inside rope_parameters.
  c.rope_theta = number_field(j, "rope_theta", path, 10000.0f);
  if (const Json* rope = member(j, "rope_parameters", path, false)) {
    CKF_CHECK(rope->is_object(), path << ": 'rope_parameters' must be an object");
    c.rope_theta = number_field(*rope, "rope_theta", path, c.rope_theta);
  }
  const Json* tie = member(j, "tie_word_embeddings", path, false);
  CKF_CHECK(tie == nullptr || tie->is_bool(), path << ": 'tie_word_embeddings' must be true or false");
  c.tie_embeddings = tie != nullptr && tie->as_bool();
  c.max_seq = int_field(j, "max_position_embeddings", path, &c.max_seq);
  llama_config_validate(c, path);
  return c;
}

HfModelDir::HfModelDir(const std::string& dir) : dir_(dir), config_(hf_config_read((fs::path(dir) / "config.json").string())) {
  fs::path index = fs::path(dir) / "model.safetensors.index.json";
  std::map<std::string, std::string> shard_of;  // tensor name -> shard file name (sharded only)
  if (fs::exists(index)) {
    Json j = json_parse_file(index);
    CKF_CHECK(j.is_object() && j.find("weight_map") && j.at("weight_map").is_object(),
              index.string() << ": 'weight_map' object is missing");
    std::map<std::string, size_t> file_index;
    for (const auto& [name, file] : j.at("weight_map").as_object()) {
      CKF_CHECK(file.is_string(), index.string() << ": weight_map '" << name << "' is not a file name");
      const std::string& f = file.as_string();
      CKF_CHECK(!f.empty() && f.find('/') == std::string::npos && f != "." && f != "..",
                index.string() << ": weight_map '" << name << "': '" << f << "' is not a file in the model directory");
      if (!file_index.count(f)) {
        file_index[f] = files_.size();
        files_.push_back(std::make_unique<SafetensorsFile>((fs::path(dir) / f).string()));
      }
      shard_of[name] = f;
      CKF_CHECK(files_[file_index[f]]->find(name) != nullptr,
                index.string() << ": weight_map puts '" << name << "' in " << f << ", which lacks it");
    }
  } else {
    files_.push_back(std::make_unique<SafetensorsFile>((fs::path(dir) / "model.safetensors").string()));
  }
  std::map<std::string, Shape> found;
  for (const auto& f : files_) {
    for (const SafetensorsTensor& t : f->tensors()) {
      if (is_derived_buffer(t.name)) continue;
      if (!shard_of.empty()) {
        auto it = shard_of.find(t.name);
        CKF_CHECK(it != shard_of.end() && fs::path(f->path()).filename() == it->second,
                  f->path() << ": tensor '" << t.name << "' is not listed for this shard in the index's weight_map");
      }
      where_[t.name] = f.get();
      found[t.name] = t.shape;
    }
  }
  llama_check_tensors(config_, found, dir);
}

std::vector<std::string> HfModelDir::names() const {
  std::vector<std::string> out;
  for (const auto& kv : where_) out.push_back(kv.first);
  return out;
}

const SafetensorsFile& HfModelDir::file_of(const std::string& name) const {
  auto it = where_.find(name);
  CKF_CHECK(it != where_.end(), dir_ << ": no LLaMA tensor named '" << name << "'");
  return *it->second;
}

Shape HfModelDir::shape(const std::string& name) const { return file_of(name).tensor(name).shape; }
Tensor HfModelDir::load(const std::string& name) const { return file_of(name).load(name); }
Tensor HfModelDir::load_rows(const std::string& name, int64_t begin, int64_t end) const {
  CKF_CHECK(shape(name).size() == 2, dir_ << ": '" << name << "' is not a matrix; cannot slice rows");
  return file_of(name).load_rows(name, begin, end);
}
Tensor HfModelDir::load_cols(const std::string& name, int64_t begin, int64_t end) const {
  return file_of(name).load_cols(name, begin, end);
}

}  // namespace ckf
