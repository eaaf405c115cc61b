// Tensor-parallel weight shards (core/llama_weights.h, io/model_load.h): in-memory shards
// concatenate back to the full tensors along the documented dimension (a hand check, element by
// element); shards read slice by slice from the GGUF (quantised, q/k rope-permuted) and Hugging
// Face fixtures equal exactly the in-memory slices of the full load; bad sizes and ranks fail
// naming the field.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "core/llama_weights.h"
#include "io/model_load.h"
#include "io/weight_source.h"
#include "model_path.h"
#include "test_util.h"

namespace ckf {
namespace {

enum Split { whole = -1, rows = 0, cols = 1 };

// Every tensor of the weights with the split the header's contract gives it, written out here
// independently of the implementation's table.
struct Entry {
  std::string name;
  const Tensor* t;
  Split split;
};

std::vector<Entry> entries(const LlamaWeights& w) {
  std::vector<Entry> out{{"embedding", &w.embedding, rows}, {"norm", &w.norm, whole}, {"lm_head", &w.lm_head, rows}};
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const LlamaLayerWeights& L = w.layers[l];
    const std::string p = "layer " + std::to_string(l) + " ";
    out.push_back({p + "attn_norm", &L.attn_norm, whole});
    out.push_back({p + "wq", &L.wq, rows});
    out.push_back({p + "wk", &L.wk, rows});
    out.push_back({p + "wv", &L.wv, rows});
    out.push_back({p + "wo", &L.wo, cols});
    out.push_back({p + "mlp_norm", &L.mlp_norm, whole});
    out.push_back({p + "w_gate", &L.w_gate, rows});
    out.push_back({p + "w_up", &L.w_up, rows});
    out.push_back({p + "w_down", &L.w_down, cols});
  }
  return out;
}

float at(const Tensor& t, int64_t i, int64_t j) { return t.data<const float>()[i * (t.ndim() == 2 ? t.dim(1) : 1) + j]; }

// shards[r] is rank r's weights; each split tensor's pieces, placed side by side in rank order along
// the split dimension, must be the full tensor bit for bit, and whole tensors equal copies.
void expect_concatenates(const LlamaWeights& full, const std::vector<LlamaWeights>& shards) {
  const std::vector<Entry> want = entries(full);
  const int64_t s = static_cast<int64_t>(shards.size());
  for (size_t k = 0; k < want.size(); ++k) {
    const Tensor& f = *want[k].t;
    const int64_t R = f.dim(0), Cn = f.ndim() == 2 ? f.dim(1) : 1;
    for (int64_t r = 0; r < s; ++r) {
      const Tensor& p = *entries(shards[r])[k].t;
      Shape shape = f.shape();
      if (want[k].split != whole) shape[want[k].split] /= s;
      ASSERT_EQ(p.shape(), shape) << want[k].name << " rank " << r << " of " << s;
      EXPECT_NE(p.raw(), f.raw()) << want[k].name << ": a shard has storage of its own";
    }
    for (int64_t i = 0; i < R; ++i)
      for (int64_t j = 0; j < Cn; ++j) {
        const std::string where = want[k].name + " (" + std::to_string(i) + ", " + std::to_string(j) + ")";
        if (want[k].split == rows) {
          ASSERT_EQ(at(*entries(shards[i / (R / s)])[k].t, i % (R / s), j), at(f, i, j)) << where;
        } else if (want[k].split == cols) {
          ASSERT_EQ(at(*entries(shards[j / (Cn / s)])[k].t, i, j % (Cn / s)), at(f, i, j)) << where;
        } else {
          for (int64_t r = 0; r < s; ++r) ASSERT_EQ(at(*entries(shards[r])[k].t, i, j), at(f, i, j)) << where << " rank " << r;
        }
      }
  }
}

LlamaConfig tiny_config(bool tied) {
  return LlamaConfig{.vocab = 20, .d_model = 10, .n_layers = 2, .n_heads = 8, .n_kv_heads = 4, .head_dim = 2,
                      .ffn = 12, .tie_embeddings = tied};
}

TEST(LlamaShard, InMemorySlicesConcatenateToFull) {
  for (bool tied : {false, true}) {
    LlamaConfig c = tiny_config(tied);
    LlamaWeights full = llama_weights_random(c, 7);
    for (int s : {1, 2, 4}) {
      SCOPED_TRACE("tp " + std::to_string(s) + (tied ? " tied" : " untied"));
      std::vector<LlamaWeights> shards;
      for (int r = 0; r < s; ++r) shards.push_back(llama_weights_shard(c, full, r, s));
      expect_concatenates(full, shards);
      for (const LlamaWeights& w : shards) EXPECT_EQ(w.lm_head.raw() == w.embedding.raw(), tied);
    }
  }
}

// Every tensor of a and b has the same shape and the same values, exactly.
void expect_equal(const LlamaWeights& a, const LlamaWeights& b, const std::string& what) {
  std::vector<Entry> ea = entries(a), eb = entries(b);
  ASSERT_EQ(ea.size(), eb.size()) << what;
  for (size_t k = 0; k < ea.size(); ++k) {
    ASSERT_EQ(ea[k].t->shape(), eb[k].t->shape()) << what << " " << ea[k].name;
    const float* x = ea[k].t->data<const float>();
    const float* y = eb[k].t->data<const float>();
    for (int64_t i = 0; i < ea[k].t->numel(); ++i) ASSERT_EQ(x[i], y[i]) << what << " " << ea[k].name << " element " << i;
  }
}

// For every tp size up to max_size that the file's dims allow, each rank's slice-by-slice load equals
// the slice of the full load (only the middle rank when middle_only); returns how many sizes were checked.
int expect_loads_match(const std::string& path, int max_size, bool middle_only = false) {
  std::unique_ptr<WeightSource> src = weight_source_open(path);
  const LlamaConfig& c = src->config();
  LlamaWeights full = llama_weights_from_map(c, src->load_all());
  int checked = 0;
  for (int s = 1; s <= max_size; ++s) {
    if (c.n_heads % s || c.n_kv_heads % s || c.ffn % s || c.vocab % s) continue;
    for (int r = 0; r < s; ++r) {
      if (middle_only && r != s / 2) continue;
      const std::string what = path + " rank " + std::to_string(r) + " of " + std::to_string(s);
      LlamaWeights loaded = llama_weights_load_shard(*src, r, s);
      expect_equal(loaded, llama_weights_shard(c, full, r, s), what);
      EXPECT_EQ(loaded.lm_head.raw() == loaded.embedding.raw(), c.tie_embeddings) << what;
    }
    ++checked;
  }
  return checked;
}

const std::string kData = std::string(CKF_TEST_DATA_DIR);

// tiny_llama.gguf holds Q8_0, Q4_1 and Q4_0 blocks, f16, bf16 and f32, with q/k in llama.cpp's
// rope order: V 40, H 4, KVH 2, F 64 allow tp 1 and 2.
TEST(LlamaShard, GgufLoadEqualsSliceOfFullLoad) { EXPECT_EQ(expect_loads_match(kData + "/gguf/tiny_llama.gguf", 8), 2); }

// f32 untied, bf16 sharded tied, f16 tied: V 32, H 4, KVH 2, F 24 allow tp 1 and 2.
TEST(LlamaShard, HfLoadEqualsSliceOfFullLoad) {
  for (const char* dir : {"f32", "bf16_sharded", "f16"}) EXPECT_EQ(expect_loads_match(kData + "/hf/" + dir, 8), 2) << dir;
}

// SmolLM2-135M (Q4_1, tied; H 9, KVH 3): tp 3 splits columns of quantised o_proj and down_proj.
TEST(LlamaShard, SmolLM2LoadEqualsSliceOfFullLoad) {
  const std::string path = test_model_gguf_path();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent";
  EXPECT_EQ(expect_loads_match(path, 3, true), 2);  // tp 1 and 3, one rank each, to bound time
}

TEST(LlamaShard, BadSizesAndRanksNameTheField) {
  LlamaConfig c = tiny_config(false);
  auto shard_error = [&](LlamaConfig cfg, int rank, int size) {
    LlamaWeights w = llama_weights_random(cfg, 3);
    return error_of([&] { llama_weights_shard(cfg, w, rank, size); });
  };
  LlamaConfig h = c;
  h.n_heads = 6;
  h.n_kv_heads = 3;
  EXPECT_NE(shard_error(h, 0, 4).find("--tp 4: n_heads 6 is not divisible by 4"), std::string::npos);
  EXPECT_NE(shard_error(h, 0, 2).find("--tp 2: n_kv_heads 3 is not divisible by 2"), std::string::npos);
  LlamaConfig f = c;
  f.ffn = 9;
  EXPECT_NE(shard_error(f, 1, 2).find("--tp 2: ffn 9 is not divisible by 2"), std::string::npos);
  LlamaConfig v = c;
  v.vocab = 21;
  EXPECT_NE(shard_error(v, 0, 2).find("--tp 2: vocab 21 is not divisible by 2"), std::string::npos);
  EXPECT_NE(shard_error(c, 2, 2).find("rank 2 is outside [0, 2)"), std::string::npos);
  EXPECT_NE(shard_error(c, -1, 2).find("rank -1 is outside [0, 2)"), std::string::npos);
  EXPECT_NE(shard_error(c, 0, 0).find("--tp 0"), std::string::npos);

  auto src = weight_source_open(kData + "/gguf/tiny_llama.gguf");  // KVH 2
  EXPECT_NE(error_of([&] { llama_weights_load_shard(*src, 0, 4); }).find("--tp 4: n_kv_heads 2 is not divisible by 4"),
            std::string::npos);
  EXPECT_NE(error_of([&] { llama_weights_load_shard(*src, 3, 2); }).find("rank 3 is outside [0, 2)"), std::string::npos);
}

}  // namespace
}  // namespace ckf
