// The mapper on the device (core/cuda/mapper_cuda.h) and its kernels (kernels/cuda/bias_relu.h,
// kernels/cuda/cf_gather.h) against the CPU: the kernels against double-precision loops written
// here, the whole mapper against core/mapper.h (itself checked by finite differences in
// mapper_test / ckf_step_test) on random parameters, CF tables and ids (histories with -1 entries
// and an empty one), metanet and shared_linear, with and without hidden layers.
// Both sides compute in fp32 with different summation orders over at most a few dozen terms:
// tolerance 1e-5 relative to each tensor's max |value| (fp32 epsilon 1.2e-7 times the term count,
// with margin); the gathers and the bias-only kernels add the same terms in the same order: 1e-6.
#include "tests/unit/cuda_test_util.h"

#ifdef CKF_WITH_CUDA

#include <random>
#include <string>
#include <vector>

#include "core/cuda/mapper_cuda.h"
#include "kernels/cuda/bias_relu.h"
#include "kernels/cuda/cf_gather.h"
#include "tests/unit/cuda_model_test_util.h"

using namespace ckf;
using namespace ckf::test;

namespace {

using CudaMapper = CudaTest;

std::vector<float> random_floats(size_t n, uint64_t seed, float sd = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

std::vector<float> download(const cuda::DeviceBuffer<float>& b, const cuda::CudaContext& ctx) {
  ctx.synchronize();
  return b.download();
}

TEST_F(CudaMapper, BiasReluForwardAndBackwardMatchLoops) {
  for (auto [N, D] : {std::pair{5, 7}, std::pair{1, 300}, std::pair{33, 1}}) {
    SCOPED_TRACE("N " + std::to_string(N) + " D " + std::to_string(D));
    const std::vector<float> x = random_floats(size_t(N) * D, 1), bias = random_floats(D, 2),
                             g = random_floats(size_t(N) * D, 3), db0 = random_floats(D, 4);
    std::vector<double> pre(x.size()), act(x.size()), dpre(x.size()), db(db0.begin(), db0.end());
    for (int n = 0; n < N; ++n)
      for (int j = 0; j < D; ++j) {
        const size_t i = size_t(n) * D + j;
        pre[i] = double(x[i]) + bias[j];
        act[i] = std::max(pre[i], 0.0);
        dpre[i] = pre[i] > 0 ? g[i] : 0.0;
        db[j] += g[i];
      }
    cuda::DeviceBuffer<float> d_out(x), d_act(x.size()), d_bias(bias), d_g(g), d_gsum(g), d_db(db0), d_plain(x);
    cuda::bias_relu_forward(d_out.data(), d_act.data(), d_bias.data(), N, D, stream());
    cuda::bias_relu_forward(d_plain.data(), nullptr, d_bias.data(), N, D, stream());
    cuda::relu_backward(d_g.data(), d_out.data(), N, D, stream());
    cuda::bias_backward(d_db.data(), d_gsum.data(), N, D, stream());
    sync();
    auto vs = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
    expect_near_scaled(download(d_out, *ctx_), vs(pre), 1e-6, 1e-6, "pre");
    expect_near_scaled(download(d_plain, *ctx_), vs(pre), 1e-6, 1e-6, "bias only");
    expect_near_scaled(download(d_act, *ctx_), vs(act), 1e-6, 1e-6, "relu");
    expect_near_scaled(download(d_g, *ctx_), vs(dpre), 1e-6, 1e-6, "relu backward");
    expect_near_scaled(download(d_db, *ctx_), vs(db), 1e-5, 1e-5, "bias backward");
  }
}

// Rows of a (R, d) table averaged over H ids per output row, negative ids skipped: one row with
// every id valid, one with -1 entries (also repeated ids), one with none left (zeros).
TEST_F(CudaMapper, CfRowsMeanMatchesLoops) {
  const int R = 6, d = 5;
  const std::vector<float> table = random_floats(size_t(R) * d, 7);
  for (int H : {1, 4}) {
    SCOPED_TRACE("H " + std::to_string(H));
    const std::vector<int32_t> ids = H == 1 ? std::vector<int32_t>{3, 0, 5, 5}
                                            : std::vector<int32_t>{0, 1, 2, 3, -1, 4, -1, 4, -1, -1, -1, -1, 5, 5, 5, 1};
    const int N = int(ids.size()) / H;
    std::vector<float> want(size_t(N) * d);
    for (int n = 0; n < N; ++n)
      for (int j = 0; j < d; ++j) {
        double sum = 0;
        int count = 0;
        for (int k = 0; k < H; ++k)
          if (int32_t id = ids[size_t(n) * H + k]; id >= 0) sum += table[size_t(id) * d + j], ++count;
        want[size_t(n) * d + j] = count ? float(sum / count) : 0.0f;
      }
    cuda::DeviceBuffer<float> d_table(table), out(want.size());
    cuda::DeviceBuffer<int32_t> d_ids(ids);
    cuda::cf_rows_mean(out.data(), d_table.data(), d_ids.data(), N, H, d, stream());
    expect_near_scaled(download(out, *ctx_), want, 1e-6, 1e-6, "rows mean");
  }
}

constexpr int kDcf = 5, kDmodel = 11;

CfTables random_cf(int U, int I, uint64_t seed) {
  CfTables cf{Tensor::zeros({U, kDcf}), Tensor::zeros({I, kDcf})};
  const std::vector<float> u = random_floats(cf.user_emb.numel(), seed), i = random_floats(cf.item_emb.numel(), seed + 1);
  std::copy(u.begin(), u.end(), cf.user_emb.data<float>());
  std::copy(i.begin(), i.end(), cf.item_emb.data<float>());
  return cf;
}

// A mapper whose parameters are all random and away from their initial structure (the identity of
// shared_linear, the 1/d scale of MetaNet), so every parameter gets a gradient.
Mapper random_mapper(MappingKind kind, int proj_hidden, uint64_t seed) {
  MapperConfig mc;
  mc.d_cf = kDcf, mc.d_model = kDmodel, mc.meta_hidden = 4, mc.proj_hidden = proj_hidden, mc.kind = kind;
  Mapper m = mapper_create(mc);
  uint64_t s = seed;
  for (Param* p : mapper_params(m)) {
    const std::vector<float> noise = random_floats(p->value.numel(), ++s, 0.3f);
    for (int64_t i = 0; i < p->value.numel(); ++i) p->value.data<float>()[i] += noise[i];
  }
  return m;
}

// Four user tokens (histories: full, with -1 entries, all -1, and of length 1 padded) and three
// item tokens, one item repeated.
CkfSoftIds random_ids() {
  CkfSoftIds ids;
  ids.users = {2, 0, 3, 2};
  ids.history_len = 3;
  ids.history = {1, 4, 0, -1, 5, -1, -1, -1, -1, 2, -1, -1};
  ids.items = {5, 1, 5};
  return ids;
}

struct CpuMapperStep {
  std::vector<float> soft;                // (S, C)
  std::vector<std::vector<float>> grads;  // mapper_params order
};

// The CPU mapper on the rows and history means the ids select (gathered here, in double).
CpuMapperStep cpu_mapper_step(Mapper& m, const CfTables& cf, const CkfSoftIds& ids, const std::vector<float>& d_soft) {
  const int nu = ids.n_user(), ni = ids.n_item(), H = ids.history_len;
  std::vector<float> e_user, hist, e_item;
  for (int n = 0; n < nu; ++n)
    for (int j = 0; j < kDcf; ++j) {
      e_user.push_back(cf.user_emb.data<const float>()[ids.users[n] * kDcf + j]);
      double sum = 0;
      int count = 0;
      for (int k = 0; k < H; ++k)
        if (int32_t id = ids.history[n * H + k]; id >= 0) sum += cf.item_emb.data<const float>()[id * kDcf + j], ++count;
      hist.push_back(count ? float(sum / count) : 0.0f);
    }
  for (int32_t id : ids.items)
    for (int j = 0; j < kDcf; ++j) e_item.push_back(cf.item_emb.data<const float>()[id * kDcf + j]);
  CpuMapperStep r;
  r.soft.resize(size_t(nu + ni) * kDmodel);
  MapperUserActs ua;
  MlpActs ia;
  mapper_user_forward(m, r.soft.data(), e_user.data(), hist.data(), nu, ua);
  mapper_item_forward(m, r.soft.data() + nu * kDmodel, e_item.data(), ni, ia);
  for (Param* p : mapper_params(m)) std::fill_n(p->grad.data<float>(), p->grad.numel(), 0.0f);
  mapper_user_backward(m, d_soft.data(), nu, ua);
  mapper_item_backward(m, d_soft.data() + nu * kDmodel, ni, ia);
  for (Param* p : mapper_params(m)) r.grads.push_back(to_floats(p->grad));
  return r;
}

TEST_F(CudaMapper, ForwardAndBackwardMatchCpuMapper) {
  const CfTables cf = random_cf(4, 6, 11);
  for (MappingKind kind : {MappingKind::metanet, MappingKind::shared_linear})
    for (int proj_hidden : {6, 0})
      for (bool empty_histories : {false, true}) {
        SCOPED_TRACE(std::string(kind == MappingKind::metanet ? "metanet" : "shared_linear") + " proj_hidden " +
                     std::to_string(proj_hidden) + (empty_histories ? " empty histories" : ""));
        Mapper m = random_mapper(kind, proj_hidden, 20);
        CkfSoftIds ids = random_ids();
        if (empty_histories) ids.history.clear(), ids.history_len = 0;
        const std::vector<float> d_soft = random_floats(size_t(ids.n_user() + ids.n_item()) * kDmodel, 30);
        const CpuMapperStep want = cpu_mapper_step(m, cf, ids, d_soft);

        cuda::MapperCuda dev = cuda::mapper_cuda_upload(m);
        const cuda::CfTablesCuda dcf = cuda::cf_tables_cuda_upload(cf);
        cuda::MapperActsCuda acts;
        cuda::mapper_cuda_forward(dev, dcf, ids, acts, *ctx_);
        expect_near_scaled(download(acts.soft, *ctx_), want.soft, 1e-5, 1e-5, "soft tokens");
        const cuda::DeviceBuffer<float> dd(d_soft);
        // Twice: the gradients accumulate.
        cuda::mapper_cuda_backward(dev, acts, dd.data(), *ctx_);
        cuda::mapper_cuda_backward(dev, acts, dd.data(), *ctx_);
        cuda::mapper_cuda_grads_download(dev, m, stream());
        const ParamRefs ps = mapper_params(m);
        ASSERT_EQ(ps.size(), want.grads.size());
        for (size_t i = 0; i < ps.size(); ++i) {
          std::vector<float> twice(want.grads[i]);
          for (float& x : twice) x *= 2.0f;
          // MetaNet's first weight sees the history means, all zero without histories.
          if (!(empty_histories && ps[i]->name == "mapper.meta.w1")) {
            ASSERT_GT(max_abs(twice), 0.0) << ps[i]->name << ": a zero gradient would pass trivially";
          }
          expect_near_scaled(to_floats(ps[i]->grad), twice, 1e-5, 1e-5, ps[i]->name);
        }
      }
}

// The flat device buffers against the host Params: tensors pair each with its own value, values
// go down and up unchanged, and an upload replaces what the device computes with.
TEST_F(CudaMapper, TensorsAndValueRoundTrip) {
  for (MappingKind kind : {MappingKind::metanet, MappingKind::shared_linear}) {
    Mapper m = random_mapper(kind, 6, 40);
    cuda::MapperCuda dev = cuda::mapper_cuda_upload(m);
    const ParamRefs ps = mapper_params(m);
    const std::vector<cuda::DeviceTensor> ts = cuda::mapper_cuda_tensors(dev, m);
    ASSERT_EQ(ts.size(), ps.size());
    std::vector<std::vector<float>> orig;
    for (size_t i = 0; i < ps.size(); ++i) {
      EXPECT_EQ(ts[i].host_value, ps[i]->value.data<const float>()) << ps[i]->name;
      EXPECT_EQ(ts[i].n, ps[i]->value.numel()) << ps[i]->name;
      EXPECT_EQ(ts[i].value_bf16, nullptr);
      std::vector<float> v(ts[i].n);
      CUDA_CHECK(cudaMemcpy(v.data(), ts[i].value, v.size() * sizeof(float), cudaMemcpyDeviceToHost));
      EXPECT_EQ(v, to_floats(ps[i]->value)) << ps[i]->name << ": the device tensor holds another parameter's values";
      orig.push_back(v);
    }
    for (Param* p : ps)
      for (int64_t i = 0; i < p->value.numel(); ++i) p->value.data<float>()[i] += 0.5f;
    std::vector<std::vector<float>> changed;
    for (Param* p : ps) changed.push_back(to_floats(p->value));
    cuda::mapper_cuda_values_upload(dev, m);
    for (size_t i = 0; i < ps.size(); ++i) std::copy(orig[i].begin(), orig[i].end(), ps[i]->value.data<float>());
    cuda::mapper_cuda_values_download(dev, m, stream());
    for (size_t i = 0; i < ps.size(); ++i) EXPECT_EQ(to_floats(ps[i]->value), changed[i]) << ps[i]->name;
  }
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaMapper)

#endif
