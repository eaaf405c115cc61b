// The embedded SmolLM2-135M-Instruct end to end: io/model_load + core forward against
// transformers' float32 logits on the same dequantised GGUF weights (golden from
// tests/golden/make_smollm2_logits_golden.py), our tokenizer against transformers' ids for the
// same prompts, and greedy generation. Skips when the model file is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/llama_generate.h"
#include "io/json.h"
#include "io/model_load.h"
#include "io/prompt_templates.h"
#include "io/tokenizer.h"
#include "model_path.h"

namespace ckf {
namespace {

const std::string kDir = std::string(CKF_TEST_DATA_DIR) + "/smollm2/";

class SmolLM2 : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(test_model_gguf_path())) return;
    model_ = new LlamaModel(llama_model_load(test_model_gguf_path(), lora_spec_shared_default(),
                                             lora_spec_task_default(), {"t"}, 1));
    tok_ = new Tokenizer(tokenizer_load(test_model_gguf_path()));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tok_;
    model_ = nullptr;
    tok_ = nullptr;
  }
  void SetUp() override {
    if (model_ == nullptr) GTEST_SKIP() << "model file " << test_model_gguf_path() << " not present";
  }
  std::string greedy(const std::string& text, int max_new) {
    return tok_->decode(llama_generate_greedy(*model_, "t", tok_->encode(text, true), max_new, tok_->eos_id()), true);
  }
  static LlamaModel* model_;
  static Tokenizer* tok_;
};
LlamaModel* SmolLM2::model_ = nullptr;
Tokenizer* SmolLM2::tok_ = nullptr;

// Per stored position: max |ours - HF| / max |HF| <= 1e-4 (both fp32; the difference is summation
// order through 30 layers). The adapters' B is zero, so the model is the base model.
TEST_F(SmolLM2, LogitsMatchTransformers) {
  Json meta = json_parse_file(kDir + "logits.json");
  const int64_t V = meta.at("vocab").as_int64();
  ASSERT_EQ(V, model_->config.vocab);
  std::vector<float> golden(std::filesystem::file_size(kDir + "logits.f32") / sizeof(float));
  std::ifstream(kDir + "logits.f32", std::ios::binary).read(reinterpret_cast<char*>(golden.data()), golden.size() * 4);
  size_t row = 0;
  double worst = 0.0;
  for (const Json& p : meta.at("prompts").as_array()) {
    std::vector<int32_t> ids;
    for (const Json& id : p.at("ids").as_array()) ids.push_back(int32_t(id.as_int64()));
    EXPECT_EQ(tok_->encode(p.at("text").as_string(), true), ids) << "tokenizer differs from transformers on "
                                                                  << p.at("text").as_string();
    LlamaBatch b;
    b.B = 1;
    b.T = int(ids.size());
    b.tokens = ids;
    b.lengths = {b.T};
    b.tasks = {"t"};
    for (const Json& pos : p.at("positions").as_array()) b.outputs.push_back({0, int(pos.as_int64()), kIgnoreTarget});
    LlamaActs acts;
    llama_forward(*model_, b, acts, LlamaRunMode{});
    for (size_t m = 0; m < b.outputs.size(); ++m, ++row) {
      ASSERT_LE((row + 1) * V, golden.size());
      const float* want = golden.data() + row * V;
      const float* got = acts.logits.data<const float>() + m * V;
      double max_diff = 0.0, max_ref = 0.0;
      for (int64_t v = 0; v < V; ++v) {
        max_diff = std::max(max_diff, std::fabs(double(got[v]) - double(want[v])));
        max_ref = std::max(max_ref, std::fabs(double(want[v])));
      }
      worst = std::max(worst, max_diff / max_ref);
      EXPECT_LE(max_diff / max_ref, 1e-4) << "prompt '" << p.at("text").as_string() << "' position "
                                          << b.outputs[m].pos << ": max abs diff " << max_diff << ", max |logit| " << max_ref;
      EXPECT_EQ(std::max_element(got, got + V) - got, std::max_element(want, want + V) - want);
    }
  }
  EXPECT_EQ(row * V, golden.size());
  std::cout << "worst relative logit error vs transformers: " << worst << "\n";
}

TEST_F(SmolLM2, GreedyPlainPromptSaysParis) {
  std::string out = greedy("The capital of France is", 8);
  EXPECT_EQ(out.rfind(" Paris", 0), 0u) << "continuation: '" << out << "'";
}

TEST_F(SmolLM2, GreedyChatPromptSaysParis) {
  std::string out = greedy(std::string(kChatUserOpen) + "What is the capital of France?" + kChatUserClose, 16);
  EXPECT_NE(out.find("Paris"), std::string::npos) << "answer: '" << out << "'";
}

}  // namespace
}  // namespace ckf
