// The base model against Hugging Face transformers: a tiny random LlamaForCausalLM (GQA, untied
// head, head_dim 10 with d_model 24, rope_theta 500) and its float64 logits, written by
// tests/golden/make_llama_golden.py. Checks the HF weight names, the rotary layout, GQA head
// mapping and the norms against an implementation this project did not write.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "core/llama_decode.h"
#include "core/llama_model.h"

namespace ckf {
namespace {

struct Golden {
  LlamaConfig cfg;
  std::map<std::string, Tensor> tensors;
};

Golden golden_load() {
  const std::string dir = CKF_TEST_DATA_DIR;
  std::ifstream txt(dir + "/llama_tiny_golden.txt");
  std::ifstream bin(dir + "/llama_tiny_golden.bin", std::ios::binary);
  EXPECT_TRUE(txt && bin) << "golden files missing in " << dir;
  Golden g;
  std::string line;
  std::getline(txt, line);
  std::map<std::string, std::string> kv;
  std::istringstream cfg_line(line);
  std::string word;
  cfg_line >> word;  // "config"
  while (cfg_line >> word) kv[word.substr(0, word.find('='))] = word.substr(word.find('=') + 1);
  g.cfg.vocab = std::stoi(kv.at("vocab"));
  g.cfg.d_model = std::stoi(kv.at("d_model"));
  g.cfg.n_layers = std::stoi(kv.at("n_layers"));
  g.cfg.n_heads = std::stoi(kv.at("n_heads"));
  g.cfg.n_kv_heads = std::stoi(kv.at("n_kv_heads"));
  g.cfg.head_dim = std::stoi(kv.at("head_dim"));
  g.cfg.ffn = std::stoi(kv.at("ffn"));
  g.cfg.rms_eps = std::stof(kv.at("rms_eps"));
  g.cfg.rope_theta = std::stof(kv.at("rope_theta"));
  g.cfg.max_seq = 16;
  while (std::getline(txt, line)) {
    std::istringstream ls(line);
    std::string name;
    int ndim = 0;
    ls >> name >> ndim;
    Shape shape(ndim);
    for (int64_t& d : shape) ls >> d;
    Tensor t = Tensor::empty(shape);
    bin.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
    EXPECT_TRUE(bin) << "golden .bin too short at " << name;
    g.tensors[name] = t;
  }
  return g;
}

TEST(LlamaGolden, LogitsMatchTransformers) {
  Golden g = golden_load();
  const Tensor tokens = g.tensors.at("tokens"), expected = g.tensors.at("logits");
  g.tensors.erase("tokens");
  g.tensors.erase("logits");
  LlamaModel model;
  model.config = g.cfg;
  model.weights = llama_weights_from_map(g.cfg, g.tensors);
  model.lora = multilora_create(g.cfg, {{}, 4, 8.0f, 0.0f}, {{}, 4, 8.0f, 0.0f}, {"lm"}, 1);  // no adapters

  const int T = static_cast<int>(tokens.dim(0)), V = g.cfg.vocab;
  LlamaBatch batch;
  batch.B = 1;
  batch.T = T;
  batch.lengths = {T};
  batch.tasks = {"lm"};
  for (int t = 0; t < T; ++t) batch.tokens.push_back(static_cast<int32_t>(tokens.data<const float>()[t]));
  for (int t = 0; t < T; ++t) batch.outputs.push_back({0, t, kIgnoreTarget});
  LlamaActs acts;
  llama_forward(model, batch, acts, {});
  LlamaDecoder dec = llama_decoder_create(model, "lm", T);
  std::vector<float> step(V);

  float scale = 0.0f;
  for (int64_t i = 0; i < expected.numel(); ++i) scale = std::max(scale, std::abs(expected.data<const float>()[i]));
  for (int t = 0; t < T; ++t) {
    llama_decode_step(model, dec, batch.tokens[t], nullptr, step.data());
    for (int v = 0; v < V; ++v) {
      const float want = expected.data<const float>()[t * V + v];
      // fp32 model against float64 transformers: 1e-5 of the logit scale.
      ASSERT_NEAR(acts.logits.data<const float>()[t * V + v], want, 1e-5f * scale)
          << "position " << t << " token " << v;
      ASSERT_NEAR(step[v], want, 1e-5f * scale) << "decode, position " << t << " token " << v;
    }
  }
}

}  // namespace
}  // namespace ckf
