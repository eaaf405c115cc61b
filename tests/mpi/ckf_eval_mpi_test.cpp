// CKF evaluation over ranks: samples dealt in blocks over the world, scores gathered back, metrics
// and the JSON report computed from them are identical (byte for byte) to the single-process run
// on a tiny random model, for ctr (batched prompts, a partial last block, more blocks than ranks
// and fewer) and topk (shared-prefix decoding). Run with 1, 2 and 4 ranks by ctest.
#include <gtest/gtest.h>

#include "core/ckf_eval.h"
#include "dist/gather_blocks.h"
#include "dist/mpi_communicator.h"
#include "io/eval_report.h"
#include "io/json_write.h"
#include "../unit/llama_reference.h"

namespace ckf::test {
namespace {

constexpr int kDcf = 4;

struct World {
  LlamaModel model = tiny_model(tiny_config(), {"ctr", "topk"}, 17);
  Mapper mapper = [] {
    MapperConfig mc;
    mc.d_cf = kDcf, mc.d_model = tiny_config().d_model, mc.meta_hidden = 3, mc.proj_hidden = 5;
    return mapper_create(mc);
  }();
  CfTables cf{Tensor::zeros({5, kDcf}), Tensor::zeros({6, kDcf})};
  World() {
    rng_fill_uniform(cf.user_emb.data<float>(), cf.user_emb.numel(), -1.0f, 1.0f, 3, 1);
    rng_fill_uniform(cf.item_emb.data<float>(), cf.item_emb.numel(), -1.0f, 1.0f, 3, 2);
  }
};

int32_t tok(uint64_t x) { return int32_t(rng_mix(x) % uint64_t(tiny_config().vocab)); }

// 11 ctr samples of 5 users (user 4 cold), prompts of 4..7 tokens with a user and an item soft token.
EvalInput ctr_input() {
  EvalInput in{EvalKind::ctr, 1, {}};
  for (int i = 0; i < 11; ++i) {
    EvalSample s;
    s.user = i % 5, s.cold = s.user == 4, s.label = float((i * 7) % 3 == 0);
    CkfExample ex{"ctr", s.user, {i % 6, (i + 2) % 6}, {}, {{1, PlaceholderKind::user, s.user}, {2, PlaceholderKind::item, i % 6}}, {}};
    for (int t = 0; t < 4 + i % 4; ++t) ex.prompt.push_back(tok(100 * i + t));
    s.prompts.push_back(ex);
    in.samples.push_back(s);
  }
  return in;
}

// 5 topk samples of 4 candidates (the last sample lists 3), prefix of 3 tokens, suffixes of 2.
EvalInput topk_input() {
  EvalInput in{EvalKind::topk, 4, {}};
  for (int i = 0; i < 5; ++i) {
    EvalSample s;
    s.user = i, s.cold = i >= 3, s.label = float(i % 3), s.candidates = i == 4 ? 3 : 4, s.prefix_len = 3;
    for (int c = 0; c < s.candidates; ++c) {
      CkfExample ex{"topk", i, {c}, {tok(7 * i), tok(7 * i + 1), tok(7 * i + 2), tok(50 * c + i), tok(9 * c)}, {}, {}};
      ex.placeholders = {{1, PlaceholderKind::user, i}, {3, PlaceholderKind::item, (i + c) % 6}};
      s.prompts.push_back(ex);
    }
    in.samples.push_back(s);
  }
  return in;
}

AnswerTokens tokens() {
  AnswerTokens t;
  t.yes = 5, t.no = 9;
  return t;
}

std::string report(LogitsSource& src, const std::vector<EvalInput>& inputs, int block, int rank, Communicator* comm) {
  std::vector<EvalTaskResult> results;
  for (const EvalInput& in : inputs) {
    const int ranks = comm ? comm->size() : 1;
    const auto local = eval_score_blocks(src, in, tokens(), block, rank, ranks);
    const auto all = gather_blocks(comm, local, int64_t(block) * in.width, int64_t(in.samples.size()) * in.width);
    results.push_back(eval_metrics(in, all));
  }
  return json_write(eval_report_json({"test", "soft", "", -1}, results));
}

}  // namespace

TEST(CkfEvalMpi, ReportIsIndependentOfTheRankCount) {
  auto world = MpiCommunicator::world();
  World w;
  ModelLogits src(w.model, w.mapper, w.cf, true);
  const std::vector<EvalInput> inputs = {ctr_input(), topk_input()};
  for (int block : {1, 3, 4, 16}) {
    SCOPED_TRACE("block " + std::to_string(block));
    const std::string single = report(src, inputs, block, 0, nullptr);
    const std::string dist = report(src, inputs, block, world->rank(), world.get());
    EXPECT_EQ(dist, single);
    EXPECT_NE(single.find("\"samples\": 11"), std::string::npos) << single;
  }
}

}  // namespace ckf::test
