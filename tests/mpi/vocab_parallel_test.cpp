// Vocab-parallel embedding, LM head and cross-entropy at TP = world size (1, 2, 4) against an
// unsplit double-precision computation (tp_reference.h tolerance: 1e-5 relative).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/check.h"
#include "dist/mpi_communicator.h"
#include "dist/vocab_parallel.h"
#include "tp_reference.h"

using namespace ckf;
using namespace ckf::tpref;

namespace {

struct VocabShape {
  int64_t V, C, N;
};
const std::vector<VocabShape> kShapes = {{32, 12, 9}, {8, 5, 3}, {4, 1, 6}};

TEST(VocabParallel, EmbeddingForwardBackward) {
  auto tp = MpiCommunicator::world();
  for (const auto& s : kShapes) {
    SCOPED_TRACE("V " + std::to_string(s.V) + " C " + std::to_string(s.C));
    std::mt19937_64 rng(5 + s.V);
    auto table = random_vec(s.V * s.C, rng);
    auto dout = random_vec(s.N * s.C, rng);
    std::vector<int32_t> ids(s.N);
    for (int64_t i = 0; i < s.N; i++) ids[i] = static_cast<int32_t>(rng() % s.V);
    ids[0] = ids[s.N - 1];  // a repeated id accumulates
    std::vector<double> out_ref(s.N * s.C), dtable_ref(s.V * s.C, 0.0);
    for (int64_t i = 0; i < s.N; i++)
      for (int64_t c = 0; c < s.C; c++) {
        out_ref[i * s.C + c] = table[ids[i] * s.C + c];
        dtable_ref[ids[i] * s.C + c] += dout[i * s.C + c];
      }

    VocabParallelEmbedding e = vocab_parallel_embedding_create("embed", s.V, s.C, *tp);
    EXPECT_EQ(e.weight.split_dim, 0);
    EXPECT_EQ(e.vocab_begin, tp->rank() * s.V / tp->size());
    param_load_shard(e.weight, table.data());
    std::vector<float> out(s.N * s.C);
    vocab_parallel_embedding_forward(e, out.data(), ids.data(), s.N, *tp);
    expect_close(out, out_ref, "embedding");
    vocab_parallel_embedding_backward(e, ids.data(), dout.data(), s.N);
    std::vector<double> mine(dtable_ref.begin() + e.vocab_begin * s.C,
                             dtable_ref.begin() + (e.vocab_begin + e.vocab_local) * s.C);
    bool any = false;
    for (double v : mine) any |= v != 0.0;
    if (any) expect_close(e.weight.grad, mine, "embedding grad");
    else for (int64_t i = 0; i < e.weight.grad.numel(); i++) EXPECT_EQ(e.weight.grad.data<float>()[i], 0.0f);
  }
}

TEST(VocabParallel, EmbeddingRejectsOutOfRangeIdOnEveryRank) {
  auto tp = MpiCommunicator::world();
  VocabParallelEmbedding e = vocab_parallel_embedding_create("embed", 8, 4, *tp);
  std::vector<int32_t> ids = {1, 8};
  std::vector<float> out(2 * 4);
  try {
    vocab_parallel_embedding_forward(e, out.data(), ids.data(), 2, *tp);
    FAIL() << "id 8 accepted";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("position 1"), std::string::npos) << err.what();
  }
  if (6 % tp->size() != 0) EXPECT_THROW(vocab_parallel_embedding_create("embed", 6, 4, *tp), Error);
}

TEST(VocabParallel, LmHeadAndCrossEntropy) {
  auto tp = MpiCommunicator::world();
  const int32_t kIgnore = -100;
  for (const auto& s : kShapes) {
    SCOPED_TRACE("V " + std::to_string(s.V) + " C " + std::to_string(s.C));
    const int64_t M = s.N;
    std::mt19937_64 rng(9 + s.V);
    auto W = random_vec(s.V * s.C, rng);
    auto h = random_vec(M * s.C, rng, -3.0f, 3.0f);
    auto dl = random_vec(M, rng, 0.5f, 1.5f);
    std::vector<int32_t> t(M);
    for (int64_t m = 0; m < M; m++) t[m] = static_cast<int32_t>(rng() % s.V);
    if (M > 2) t[1] = kIgnore;

    // Reference: full logits, softmax, loss, dlogits, dh, dW.
    std::vector<double> logits(M * s.V), loss(M, 0.0), dlogits(M * s.V, 0.0), dh(M * s.C, 0.0), dW(s.V * s.C, 0.0);
    for (int64_t m = 0; m < M; m++) {
      double mx = -1e300, se = 0;
      for (int64_t v = 0; v < s.V; v++) {
        double z = 0;
        for (int64_t c = 0; c < s.C; c++) z += double(h[m * s.C + c]) * W[v * s.C + c];
        logits[m * s.V + v] = z;
        mx = std::max(mx, z);
      }
      if (t[m] == kIgnore) continue;
      for (int64_t v = 0; v < s.V; v++) se += std::exp(logits[m * s.V + v] - mx);
      loss[m] = std::log(se) + mx - logits[m * s.V + t[m]];
      for (int64_t v = 0; v < s.V; v++)
        dlogits[m * s.V + v] = dl[m] * (std::exp(logits[m * s.V + v] - mx) / se - (v == t[m] ? 1.0 : 0.0));
    }
    for (int64_t m = 0; m < M; m++)
      for (int64_t v = 0; v < s.V; v++)
        for (int64_t c = 0; c < s.C; c++) {
          dh[m * s.C + c] += dlogits[m * s.V + v] * W[v * s.C + c];
          dW[v * s.C + c] += dlogits[m * s.V + v] * h[m * s.C + c];
        }

    VocabParallelEmbedding head = vocab_parallel_embedding_create("lm_head", s.V, s.C, *tp);
    param_load_shard(head.weight, W.data());
    const int64_t v0 = head.vocab_begin, Vl = head.vocab_local;
    std::vector<float> lg(M * Vl), losses(M), dlg(M * Vl), dhid(M * s.C);
    vocab_parallel_lm_head_forward(head, lg.data(), h.data(), M);
    expect_close(lg, ref_cols(logits, M, s.V, v0, Vl), "local logits");
    VocabParallelCeActs acts;
    vocab_parallel_cross_entropy_forward(head, losses.data(), lg.data(), t.data(), M, kIgnore, *tp, acts);
    expect_close(losses, loss, "losses");
    if (M > 2) EXPECT_EQ(losses[1], 0.0f);
    vocab_parallel_cross_entropy_backward(head, dlg.data(), lg.data(), t.data(), dl.data(), M, kIgnore, acts);
    expect_close(dlg, ref_cols(dlogits, M, s.V, v0, Vl), "local dlogits");
    vocab_parallel_lm_head_backward(head, dhid.data(), dlg.data(), h.data(), M, true, *tp);
    expect_close(dhid, dh, "dhidden");
    expect_close(head.weight.grad, std::vector<double>(dW.begin() + v0 * s.C, dW.begin() + (v0 + Vl) * s.C), "dW");

    std::vector<int32_t> bad = t;
    bad[M - 1] = static_cast<int32_t>(s.V);
    EXPECT_THROW(vocab_parallel_cross_entropy_forward(head, losses.data(), lg.data(), bad.data(), M, kIgnore, *tp, acts),
                 Error);
  }
}

}  // namespace
