// Hugging Face model directories: tiny LlamaForCausalLM models saved by transformers (f32 single
// file, bf16 sharded with index, f16 tied; tests/golden/make_hf_golden.py) against the in-memory
// model's tensors, config parsing, slices, and broken directories (each a mutated copy).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>

#include "core/check.h"
#include "io/hf_model_dir.h"

namespace ckf {
namespace {

namespace fs = std::filesystem;
const std::string kDir = std::string(CKF_TEST_DATA_DIR) + "/hf/";

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Every tensor equals the golden exactly: F16/BF16 -> f32 is exact, as is the F32 copy.
void expect_matches_golden(const WeightSource& m, const std::string& dir) {
  std::map<std::string, Tensor> all = m.load_all();
  std::string bytes = read_text(dir + "/expected.f32");
  std::vector<float> want(bytes.size() / 4);
  std::memcpy(want.data(), bytes.data(), want.size() * 4);
  std::istringstream manifest(read_text(dir + "/expected.txt"));
  size_t at = 0, n = 0;
  for (std::string line; std::getline(manifest, line); ++n) {
    std::istringstream is(line);
    std::string name;
    Shape shape;
    is >> name;
    for (int64_t d; is >> d;) shape.push_back(d);
    ASSERT_TRUE(all.count(name)) << name;
    const Tensor& t = all.at(name);
    ASSERT_EQ(t.shape(), shape) << name;
    ASSERT_LE(at + t.numel(), want.size());
    for (int64_t i = 0; i < t.numel(); ++i) ASSERT_EQ(t.data<float>()[i], want[at + i]) << name << " element " << i;
    at += t.numel();
  }
  EXPECT_EQ(n, all.size());
  EXPECT_EQ(at, want.size());
}

TEST(HfModelDir, F32SingleFileUntied) {
  HfModelDir m(kDir + "f32");
  const LlamaConfig& c = m.config();
  EXPECT_EQ(c.vocab, 32);
  EXPECT_EQ(c.d_model, 16);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.ffn, 24);
  EXPECT_EQ(c.head_dim, 4);
  EXPECT_FLOAT_EQ(c.rms_eps, 1e-5f);
  EXPECT_EQ(c.rope_theta, 20000.0);  // from rope_parameters (transformers >= 5)
  EXPECT_FALSE(c.tie_embeddings);
  EXPECT_EQ(m.names().size(), 21u);
  expect_matches_golden(m, kDir + "f32");
}

TEST(HfModelDir, Bf16ShardedTied) {
  auto m = weight_source_open(kDir + "bf16_sharded");
  EXPECT_TRUE(m->config().tie_embeddings);
  EXPECT_EQ(m->names().size(), 20u);
  expect_matches_golden(*m, kDir + "bf16_sharded");
}

TEST(HfModelDir, F16Tied) { expect_matches_golden(HfModelDir(kDir + "f16"), kDir + "f16"); }

TEST(HfModelDir, SlicesMatchFullTensor) {
  HfModelDir m(kDir + "bf16_sharded");
  const char* name = "model.layers.1.mlp.down_proj.weight";  // (16, 24)
  Tensor full = m.load(name);
  Tensor rows = m.load_rows(name, 3, 10), cols = m.load_cols(name, 5, 19);
  ASSERT_EQ(rows.shape(), (Shape{7, 24}));
  ASSERT_EQ(cols.shape(), (Shape{16, 14}));
  for (int64_t i = 0; i < rows.numel(); ++i) ASSERT_EQ(rows.data<float>()[i], full.data<float>()[3 * 24 + i]);
  for (int64_t r = 0; r < 16; ++r)
    for (int64_t j = 0; j < 14; ++j) ASSERT_EQ(cols.data<float>()[r * 14 + j], full.data<float>()[r * 24 + 5 + j]);
  EXPECT_THROW(m.load_rows("model.norm.weight", 0, 1), Error);
  EXPECT_THROW(m.load("lm_head.weight"), Error);  // tied: not stored
}

// Copies fixture `src` into a fresh temp directory, applies `edit` to it, and expects opening it to
// fail with a message containing each of `parts`.
void expect_broken(const std::string& src, const std::function<void(const fs::path&)>& edit, std::vector<std::string> parts) {
  static int n = 0;
  fs::path dir = fs::path(testing::TempDir()) /
                 ("hf_broken_" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()) + std::to_string(n++));
  fs::remove_all(dir);
  fs::copy(kDir + src, dir);
  for (const auto& e : fs::directory_iterator(dir)) fs::permissions(e.path(), fs::perms::owner_read | fs::perms::owner_write);
  edit(dir);
  try {
    HfModelDir m(dir.string());
    ADD_FAILURE() << "opened without error";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
  }
  fs::remove_all(dir);
}

void replace_in(const fs::path& file, const std::string& from, const std::string& to) {
  std::string s = read_text(file);
  size_t at = s.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  s.replace(at, from.size(), to);
  std::ofstream(file, std::ios::binary) << s;
}

TEST(HfModelDirMalformed, Config) {
  expect_broken("f32", [](const fs::path& d) { replace_in(d / "config.json", "\"vocab_size\": 32", "\"vocab_size\": 32,"); },
                {"config.json"});
  expect_broken("f32", [](const fs::path& d) { replace_in(d / "config.json", "\"hidden_size\": 16,", ""); },
                {"config.json", "'hidden_size' is missing"});
  expect_broken("f32", [](const fs::path& d) { replace_in(d / "config.json", "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 2.5"); },
                {"config.json", "'num_hidden_layers' must be an integer"});
  expect_broken("f32", [](const fs::path& d) { replace_in(d / "config.json", "\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3"); },
                {"config.json", "n_kv_heads 3 must divide n_heads 4"});
  expect_broken("f32", [](const fs::path& d) { replace_in(d / "config.json", "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3"); },
                {"model.layers.2.", "is missing"});
  expect_broken("f32", [](const fs::path& d) { replace_in(d / "config.json", "\"intermediate_size\": 24", "\"intermediate_size\": 25"); },
                {"mlp.", "has shape", "config implies"});
  expect_broken("f32", [](const fs::path& d) { fs::remove(d / "config.json"); }, {"config.json"});
}

TEST(HfModelDirMalformed, IndexAndShards) {
  expect_broken("bf16_sharded", [](const fs::path& d) { fs::remove(d / "model-00002-of-00003.safetensors"); },
                {"model-00002-of-00003.safetensors"});
  expect_broken("bf16_sharded",
                [](const fs::path& d) { replace_in(d / "model.safetensors.index.json", "\"model-00003-of-00003.safetensors\"", "\"../x.safetensors\""); },
                {"model.safetensors.index.json", "'../x.safetensors' is not a file in the model directory"});
  expect_broken("bf16_sharded",
                [](const fs::path& d) { replace_in(d / "model.safetensors.index.json", "\"weight_map\"", "\"weight_mop\""); },
                {"model.safetensors.index.json", "weight_map"});
  expect_broken("bf16_sharded", [](const fs::path& d) {
                  replace_in(d / "model.safetensors.index.json", "\"model.embed_tokens.weight\": \"model-00001-of-00003.safetensors\"",
                             "\"model.embed_tokens.weight\": \"model-00002-of-00003.safetensors\"");
                }, {"model.embed_tokens.weight", "model-00002-of-00003.safetensors", "lacks it"});
  expect_broken("f16", [](const fs::path& d) {
                  fs::path p = d / "model.safetensors";
                  fs::resize_file(p, fs::file_size(p) - 1);
                }, {"model.safetensors", "data_offsets"});
}

}  // namespace
}  // namespace ckf
