// KV-cache decoding: logits of one token at a time equal those of a full forward over the prefix.
#include "core/llama_decode.h"

#include <gtest/gtest.h>

#include "core/check.h"
#include "llama_reference.h"

namespace ckf::test {
namespace {

class LlamaDecode : public ::testing::TestWithParam<LlamaConfig> {};

TEST_P(LlamaDecode, IncrementalLogitsEqualFullForward) {
  const LlamaConfig cfg = GetParam();
  LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 41);
  const int T = 9;
  LlamaBatch batch;
  batch.B = 1;
  batch.T = T;
  batch.lengths = {T};
  batch.tasks = {"seq"};
  for (int t = 0; t < T; ++t) batch.tokens.push_back(int32_t(rng_mix(t + 3) % uint64_t(cfg.vocab)));
  batch.soft = {{0, 2}};
  batch.soft_vectors = Tensor::empty({1, cfg.d_model});
  rng_fill_uniform(batch.soft_vectors.data<float>(), cfg.d_model, -1.0f, 1.0f, 9, 1);
  for (int t = 0; t < T; ++t) batch.outputs.push_back({0, t, kIgnoreTarget});
  LlamaActs acts;
  llama_forward(model, batch, acts, {});

  LlamaDecoder dec = llama_decoder_create(model, "seq", T);
  std::vector<float> logits(cfg.vocab);
  for (int t = 0; t < T; ++t) {
    const float* soft = t == 2 ? batch.soft_vectors.data<const float>() : nullptr;
    llama_decode_step(model, dec, batch.tokens[t], soft, logits.data());
    const float* full = acts.logits.data<const float>() + int64_t{t} * cfg.vocab;
    float err = 0.0f, scale = 0.0f;
    for (int v = 0; v < cfg.vocab; ++v) {
      err = std::max(err, std::abs(logits[v] - full[v]));
      scale = std::max(scale, std::abs(full[v]));
    }
    // Same fp32 math, different summation order in attention: 1e-5 relative.
    EXPECT_LE(err, 1e-5f * scale) << "position " << t;
  }
  EXPECT_EQ(dec.len, T);
  EXPECT_THROW(llama_decode_step(model, dec, 0, nullptr, logits.data()), Error) << "cache full";
}

INSTANTIATE_TEST_SUITE_P(Shapes, LlamaDecode, ::testing::Values(tiny_config(), odd_config()));

TEST(LlamaDecodeErrors, UnknownTaskAndToken) {
  const LlamaConfig cfg = tiny_config();
  LlamaModel model = tiny_model(cfg, {"ctr"}, 41);
  EXPECT_THROW(llama_decoder_create(model, "seq", 4), Error);
  EXPECT_THROW(llama_decoder_create(model, "ctr", cfg.max_seq + 1), Error);
  LlamaDecoder dec = llama_decoder_create(model, "ctr", 4);
  std::vector<float> logits(cfg.vocab);
  EXPECT_THROW(llama_decode_step(model, dec, cfg.vocab, nullptr, logits.data()), Error);
}

}  // namespace
}  // namespace ckf::test
