#include "io/llama_gguf.h"

#include <cstdint>

#include "core/check.h"
#include "io/llama_tensors.h"

namespace ckf {
namespace {

// Per-layer tensors: GGUF name after "blk.N." -> HF name after "model.layers.N.".
const std::pair<const char*, const char*> kLayerNames[] = {
    {"attn_q.weight", "self_attn.q_proj.weight"},   {"attn_k.weight", "self_attn.k_proj.weight"},
    {"attn_v.weight", "self_attn.v_proj.weight"},   {"attn_output.weight", "self_attn.o_proj.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},    {"attn_norm.weight", "input_layernorm.weight"},
    {"ffn_norm.weight", "post_attention_layernorm.weight"}};
const std::pair<const char*, const char*> kGlobalNames[] = {
    {"token_embd.weight", "model.embed_tokens.weight"}, {"output_norm.weight", "model.norm.weight"},
    {"output.weight", "lm_head.weight"}};

int64_t int_or(const GgufFile& f, const std::string& key, int64_t fallback) {
  return f.find(key) ? f.get_int(key) : fallback;
}

// The model's int fields; a value beyond int range is as corrupt as a negative one.
int to_int(const GgufFile& f, int64_t v, const char* key) {
  CKF_CHECK(v >= 0 && v <= INT32_MAX, f.path() << ": " << key << " = " << v << " is out of range");
  return static_cast<int>(v);
}

LlamaConfig read_config(const GgufFile& f) {
  const std::string& arch = f.get_string("general.architecture");
  CKF_CHECK(arch == "llama", f.path() << ": general.architecture is '" << arch << "', expected 'llama'");
  LlamaConfig c;
  c.d_model = to_int(f, f.get_int("llama.embedding_length"), "llama.embedding_length");
  c.n_layers = to_int(f, f.get_int("llama.block_count"), "llama.block_count");
  c.n_heads = to_int(f, f.get_int("llama.attention.head_count"), "llama.attention.head_count");
  c.n_kv_heads = to_int(f, int_or(f, "llama.attention.head_count_kv", c.n_heads), "llama.attention.head_count_kv");
  c.ffn = to_int(f, f.get_int("llama.feed_forward_length"), "llama.feed_forward_length");
  c.rms_eps = static_cast<float>(f.get_float("llama.attention.layer_norm_rms_epsilon"));
  c.rope_theta = f.find("llama.rope.freq_base") ? static_cast<float>(f.get_float("llama.rope.freq_base")) : 10000.0f;
  CKF_CHECK(f.find("llama.attention.key_length") || (c.n_heads > 0 && c.d_model % c.n_heads == 0),
            f.path() << ": llama.embedding_length " << c.d_model << " is not a multiple of llama.attention.head_count " << c.n_heads);
  c.head_dim = to_int(f, int_or(f, "llama.attention.key_length", c.n_heads > 0 ? c.d_model / c.n_heads : 0),
                      "llama.attention.key_length");
  const GgufTensorInfo& embd = f.tensor("token_embd.weight");
  c.vocab = to_int(f, int_or(f, "llama.vocab_size", embd.ne.size() == 2 ? embd.ne[1] : 0), "llama.vocab_size");
  c.tie_embeddings = f.find_tensor("output.weight") == nullptr;
  c.max_seq = to_int(f, int_or(f, "llama.context_length", c.max_seq), "llama.context_length");
  llama_config_validate(c, f.path());
  return c;
}

}  // namespace

std::string llama_gguf_hf_name(const std::string& gguf_name) {
  for (const auto& [g, h] : kGlobalNames)
    if (gguf_name == g) return h;
  if (gguf_name.rfind("blk.", 0) != 0) return "";
  size_t dot = gguf_name.find('.', 4);
  if (dot == std::string::npos || dot == 4) return "";
  std::string layer = gguf_name.substr(4, dot - 4);
  if (layer.find_first_not_of("0123456789") != std::string::npos) return "";
  std::string rest = gguf_name.substr(dot + 1);
  for (const auto& [g, h] : kLayerNames)
    if (rest == g) return "model.layers." + layer + "." + h;
  return "";
}

LlamaGguf::LlamaGguf(const std::string& path) : file_(path), config_(read_config(file_)) {
  std::map<std::string, Shape> found;
  for (const GgufTensorInfo& t : file_.tensors()) {
    if (t.name == "rope_freqs.weight") continue;  // derived from rope metadata by llama.cpp; HF recomputes it
    std::string hf = llama_gguf_hf_name(t.name);
    CKF_CHECK(!hf.empty(), path << ": tensor '" << t.name << "' is not a LLaMA weight");
    bool permuted = hf.find("self_attn.q_proj.") != std::string::npos || hf.find("self_attn.k_proj.") != std::string::npos;
    entries_[hf] = Entry{&t, permuted};
    found[hf] = t.shape();
  }
  llama_check_tensors(config_, found, path);
}

std::vector<std::string> LlamaGguf::names() const {
  std::vector<std::string> out;
  for (const auto& kv : entries_) out.push_back(kv.first);
  return out;
}

const LlamaGguf::Entry& LlamaGguf::entry(const std::string& hf_name) const {
  auto it = entries_.find(hf_name);
  CKF_CHECK(it != entries_.end(), file_.path() << ": no LLaMA tensor named '" << hf_name << "'");
  return it->second;
}

Shape LlamaGguf::shape(const std::string& hf_name) const { return entry(hf_name).info->shape(); }

// llama.cpp stores head h's row (half j, index i) at h*hd + 2*i + j; HF at h*hd + j*hd/2 + i.
int64_t LlamaGguf::gguf_row(const Entry& e, int64_t hf_row) const {
  if (!e.permuted) return hf_row;
  int64_t hd = config_.head_dim, half = hd / 2;
  int64_t h = hf_row / hd, j = (hf_row % hd) / half, i = hf_row % half;
  return h * hd + 2 * i + j;
}

Tensor LlamaGguf::load(const std::string& hf_name) const {
  const Entry& e = entry(hf_name);
  if (e.info->ne.size() == 1) return file_.load(e.info->name);
  return load_rows(hf_name, 0, e.info->n_rows());
}

Tensor LlamaGguf::load_rows(const std::string& hf_name, int64_t begin, int64_t end) const {
  const Entry& e = entry(hf_name);
  CKF_CHECK(e.info->ne.size() == 2, file_.path() << ": '" << hf_name << "' is not a matrix; cannot slice rows");
  int64_t cols = e.info->ne[0];
  CKF_CHECK(0 <= begin && begin <= end && end <= e.info->n_rows(),
            file_.path() << ": '" << hf_name << "': rows [" << begin << ", " << end << ") out of range [0, " << e.info->n_rows() << ")");
  Tensor out = Tensor::empty({end - begin, cols});
  for (int64_t r = begin; r < end; ++r) file_.read_row(*e.info, gguf_row(e, r), 0, cols, out.data<float>() + (r - begin) * cols);
  return out;
}

Tensor LlamaGguf::load_cols(const std::string& hf_name, int64_t begin, int64_t end) const {
  const Entry& e = entry(hf_name);
  CKF_CHECK(e.info->ne.size() == 2, file_.path() << ": '" << hf_name << "' is not a matrix; cannot slice columns");
  CKF_CHECK(0 <= begin && begin <= end && end <= e.info->ne[0],
            file_.path() << ": '" << hf_name << "': columns [" << begin << ", " << end << ") out of range [0, " << e.info->ne[0] << ")");
  int64_t rows = e.info->n_rows();
  Tensor out = Tensor::empty({rows, end - begin});
  for (int64_t r = 0; r < rows; ++r) file_.read_row(*e.info, gguf_row(e, r), begin, end, out.data<float>() + r * (end - begin));
  return out;
}

}  // namespace ckf
