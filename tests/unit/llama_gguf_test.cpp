// LLaMA GGUF -> Hugging Face mapping: names, shapes, config and values (q/k permutation undone)
// against transformers' GGUF loader (tests/golden/make_llama_gguf_golden.py), slices against the
// full tensor, and the embedded SmolLM2 model when present.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/check.h"
#include "io/llama_gguf.h"
#include "model_path.h"

namespace ckf {
namespace {

const std::string kDir = std::string(CKF_TEST_DATA_DIR) + "/gguf/";

std::vector<float> read_f32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(in)), {});
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

// Same values up to f32 rounding of identical arithmetic (1e-6 relative).
void expect_close(const float* got, const float* want, int64_t n, const std::string& what) {
  for (int64_t i = 0; i < n; ++i)
    ASSERT_NEAR(got[i], want[i], 1e-6 * (1 + std::fabs(want[i]))) << what << " element " << i;
}

TEST(LlamaGguf, NameMapping) {
  EXPECT_EQ(llama_gguf_hf_name("token_embd.weight"), "model.embed_tokens.weight");
  EXPECT_EQ(llama_gguf_hf_name("blk.12.attn_q.weight"), "model.layers.12.self_attn.q_proj.weight");
  EXPECT_EQ(llama_gguf_hf_name("blk.0.attn_output.weight"), "model.layers.0.self_attn.o_proj.weight");
  EXPECT_EQ(llama_gguf_hf_name("blk.3.ffn_down.weight"), "model.layers.3.mlp.down_proj.weight");
  EXPECT_EQ(llama_gguf_hf_name("blk.3.ffn_norm.weight"), "model.layers.3.post_attention_layernorm.weight");
  EXPECT_EQ(llama_gguf_hf_name("output.weight"), "lm_head.weight");
  EXPECT_EQ(llama_gguf_hf_name("output_norm.weight"), "model.norm.weight");
  EXPECT_EQ(llama_gguf_hf_name("blk.x.attn_q.weight"), "");
  EXPECT_EQ(llama_gguf_hf_name("blk.1.attn_qq.weight"), "");
}

TEST(LlamaGguf, TinyModelMatchesTransformers) {
  LlamaGguf m(kDir + "tiny_llama.gguf");
  const LlamaConfig& c = m.config();
  EXPECT_EQ(c.vocab, 40);
  EXPECT_EQ(c.d_model, 32);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.ffn, 64);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_FLOAT_EQ(static_cast<float>(c.rms_eps), 1e-5f);
  EXPECT_EQ(c.rope_theta, 50000.0);
  EXPECT_FALSE(c.tie_embeddings);

  std::map<std::string, Tensor> all = m.load_all();
  std::vector<float> want = read_f32(kDir + "tiny_llama.hf.f32");
  std::ifstream manifest(kDir + "tiny_llama.hf.txt");
  std::string line;
  size_t at = 0, n = 0;
  while (std::getline(manifest, line)) {
    std::istringstream is(line);
    std::string name;
    Shape shape;
    is >> name;
    for (int64_t d; is >> d;) shape.push_back(d);
    ASSERT_TRUE(all.count(name)) << name;
    const Tensor& t = all.at(name);
    EXPECT_EQ(t.shape(), shape) << name;
    ASSERT_LE(at + t.numel(), want.size());
    expect_close(t.data<float>(), want.data() + at, t.numel(), name);
    at += t.numel();
    ++n;
  }
  EXPECT_EQ(n, all.size());
  EXPECT_EQ(at, want.size());
}

// Slices of permuted (q, k) and plain tensors equal the same region of the full HF tensor.
TEST(LlamaGguf, SlicesMatchFullTensor) {
  LlamaGguf m(kDir + "tiny_llama.gguf");
  for (const char* name : {"model.layers.1.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
                           "model.layers.0.mlp.down_proj.weight", "model.embed_tokens.weight"}) {
    Tensor full = m.load(name);
    int64_t rows = full.dim(0), cols = full.dim(1);
    for (auto [b, e] : {std::pair<int64_t, int64_t>{0, rows}, {3, rows - 5}, {rows / 2, rows / 2 + 1}}) {
      Tensor r = m.load_rows(name, b, e);
      ASSERT_EQ(r.shape(), (Shape{e - b, cols}));
      for (int64_t i = 0; i < r.numel(); ++i) ASSERT_EQ(r.data<float>()[i], full.data<float>()[b * cols + i]) << name;
    }
    for (auto [b, e] : {std::pair<int64_t, int64_t>{0, cols}, {5, cols - 3}, {cols / 2, cols}}) {
      Tensor c = m.load_cols(name, b, e);
      ASSERT_EQ(c.shape(), (Shape{rows, e - b}));
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = b; j < e; ++j) ASSERT_EQ(c.data<float>()[i * (e - b) + j - b], full.data<float>()[i * cols + j]) << name;
    }
  }
  EXPECT_THROW(m.load_rows("model.norm.weight", 0, 1), Error);
  EXPECT_THROW(m.load_rows("model.layers.0.self_attn.q_proj.weight", 0, 33), Error);
  EXPECT_THROW(m.load("model.layers.2.self_attn.q_proj.weight"), Error);
}

// Mutated copies of tiny_llama.gguf: each inconsistency is an error naming the file and the tensor
// or key, found when the file is opened.
void expect_llama_error(const std::string& name, const std::string& from, const std::string& to, std::vector<std::string> parts) {
  std::ifstream in(kDir + "tiny_llama.gguf", std::ios::binary);
  std::string b((std::istreambuf_iterator<char>(in)), {});
  size_t at = b.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  b.replace(at, from.size(), to);
  std::string path = testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << b;
  try {
    LlamaGguf m(path);
    ADD_FAILURE() << name << ": opened without error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
  }
}

TEST(LlamaGgufMalformed, InconsistentFiles) {
  expect_llama_error("name.gguf", "blk.1.ffn_up.weight", "blk.1.ffn_uq.weight", {"tensor 'blk.1.ffn_uq.weight'", "not a LLaMA weight"});
  expect_llama_error("missing.gguf", "blk.1.ffn_up.weight", "blk.2.ffn_up.weight", {"model.layers.2.mlp.up_proj.weight"});
  // llama.feed_forward_length: u32 type tag (4) then the value 64.
  expect_llama_error("ffn.gguf", std::string("feed_forward_length\x04\0\0\0\x40", 24), std::string("feed_forward_length\x04\0\0\0\x41", 24),
                     {"has shape", "config implies"});
  expect_llama_error("arch.gguf", std::string("architecture\x08\0\0\0\x05\0\0\0\0\0\0\0llama", 29),
                     std::string("architecture\x08\0\0\0\x05\0\0\0\0\0\0\0gemma", 29), {"general.architecture is 'gemma'"});
  expect_llama_error("heads.gguf", std::string("head_count_kv\x04\0\0\0\x02", 18), std::string("head_count_kv\x04\0\0\0\x03", 18),
                     {"n_kv_heads 3 must divide n_heads 4"});
}

// SmolLM2-135M: config as transformers reads it, tied embeddings, and q/k/up rows in HF layout
// against transformers' loader (golden smollm2_hf_rows.f32; rows as SMOLLM2_ROWS in the script).
TEST(LlamaGgufModel, SmolLM2ConfigAndHfRows) {
  std::string path = test_model_gguf_path();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "model file " << path << " not present (cluster/setup-model.sh fetches it)";
  LlamaGguf m(path);
  const LlamaConfig& c = m.config();
  EXPECT_EQ(c.vocab, 49152);
  EXPECT_EQ(c.d_model, 576);
  EXPECT_EQ(c.n_layers, 30);
  EXPECT_EQ(c.n_heads, 9);
  EXPECT_EQ(c.n_kv_heads, 3);
  EXPECT_EQ(c.ffn, 1536);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_FLOAT_EQ(static_cast<float>(c.rms_eps), 1e-5f);
  EXPECT_EQ(c.rope_theta, 100000.0);
  EXPECT_TRUE(c.tie_embeddings);
  EXPECT_EQ(m.names().size(), 272u);

  std::vector<float> want = read_f32(kDir + "smollm2_hf_rows.f32");
  const std::vector<std::pair<std::string, std::vector<int64_t>>> rows = {
      {"model.layers.0.self_attn.q_proj.weight", {0, 1, 31, 32, 63, 64, 575}},
      {"model.layers.5.self_attn.k_proj.weight", {0, 32, 100, 191}},
      {"model.layers.29.mlp.up_proj.weight", {7}}};
  size_t at = 0;
  for (const auto& [name, idx] : rows)
    for (int64_t r : idx) {
      Tensor t = m.load_rows(name, r, r + 1);
      ASSERT_LE(at + t.numel(), want.size());
      expect_close(t.data<float>(), want.data() + at, t.numel(), name + " row " + std::to_string(r));
      at += t.numel();
    }
  EXPECT_EQ(at, want.size());
}

}  // namespace
}  // namespace ckf
