// The CKF mapper against a double-precision reference written here: forward values, every
// parameter gradient against central finite differences of the reference, and per-sample mappings.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/check.h"
#include "core/mapper.h"

using namespace ckf;

namespace {

using Vec = std::vector<double>;

Vec to_double(const Tensor& t) {
  Vec v(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.data<const float>()[i];
  return v;
}

// y = W2 relu(W1 x + b1) + b2 (or W1 x + b1 when hidden == 0), all in double.
Vec mlp_ref(const Mlp& m, const Vec& x) {
  auto lin = [](const Vec& w, const Vec& b, const Vec& in, int rows, int cols) {
    Vec y(rows);
    for (int r = 0; r < rows; ++r) {
      double s = b[r];
      for (int c = 0; c < cols; ++c) s += w[r * cols + c] * in[c];
      y[r] = s;
    }
    return y;
  };
  if (m.hidden == 0) return lin(to_double(m.w1.value), to_double(m.b1.value), x, m.out, m.in);
  Vec h = lin(to_double(m.w1.value), to_double(m.b1.value), x, m.hidden, m.in);
  for (double& v : h) v = v > 0 ? v : 0;
  return lin(to_double(m.w2.value), to_double(m.b2.value), h, m.out, m.hidden);
}

// User tokens for one user, double precision.
Vec user_ref(const Mapper& m, const float* e_user, const float* hist) {
  const int d = m.cfg.d_cf;
  Vec W(d * d);
  if (m.cfg.kind == MappingKind::metanet) {
    W = mlp_ref(m.meta, Vec(hist, hist + d));
    for (int i = 0; i < d; ++i) W[i * d + i] += 1.0;
  } else {
    W = to_double(m.shared.value);
  }
  Vec mapped(d, 0.0);
  for (int j = 0; j < d; ++j)
    for (int i = 0; i < d; ++i) mapped[j] += e_user[i] * W[i * d + j];
  return mlp_ref(m.user_proj, mapped);
}

struct Inputs {
  int N, d;
  std::vector<float> e_user, hist, e_item, w_user_tok, w_item_tok;  // w_*: random loss weights
};

Inputs make_inputs(int N, int d, int C, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  Inputs in{N, d, {}, {}, {}, {}, {}};
  for (int i = 0; i < N * d; ++i) in.e_user.push_back(g(rng)), in.hist.push_back(g(rng)), in.e_item.push_back(g(rng));
  for (int i = 0; i < N * C; ++i) in.w_user_tok.push_back(g(rng)), in.w_item_tok.push_back(g(rng));
  return in;
}

// Scalar loss = sum(w_user_tok * user tokens) + sum(w_item_tok * item tokens), in double.
double loss_ref(const Mapper& m, const Inputs& in) {
  const int C = m.cfg.d_model;
  double loss = 0;
  for (int n = 0; n < in.N; ++n) {
    Vec u = user_ref(m, &in.e_user[n * in.d], &in.hist[n * in.d]);
    Vec it = mlp_ref(m.item_proj, Vec(&in.e_item[n * in.d], &in.e_item[(n + 1) * in.d]));
    for (int c = 0; c < C; ++c) loss += in.w_user_tok[n * C + c] * u[c] + in.w_item_tok[n * C + c] * it[c];
  }
  return loss;
}

void check_mapper(MappingKind kind, int proj_hidden) {
  MapperConfig cfg;
  cfg.d_cf = 5, cfg.d_model = 7, cfg.meta_hidden = 6, cfg.proj_hidden = proj_hidden, cfg.kind = kind;
  Mapper m = mapper_create(cfg);
  // Move the mapping away from its near-identity start so that every parameter matters.
  std::mt19937_64 rng(99);
  std::normal_distribution<float> g(0.0f, 0.5f);
  for (Param* p : mapper_params(m))
    for (int64_t i = 0; i < p->value.numel(); ++i) p->value.data<float>()[i] += g(rng);
  const int N = 3, C = cfg.d_model;
  Inputs in = make_inputs(N, cfg.d_cf, C, 5);

  std::vector<float> user(N * C), item(N * C);
  MapperUserActs uacts;
  MlpActs iacts;
  mapper_user_forward(m, user.data(), in.e_user.data(), in.hist.data(), N, uacts);
  mapper_item_forward(m, item.data(), in.e_item.data(), N, iacts);
  for (int n = 0; n < N; ++n) {
    Vec u = user_ref(m, &in.e_user[n * cfg.d_cf], &in.hist[n * cfg.d_cf]);
    for (int c = 0; c < C; ++c) EXPECT_NEAR(user[n * C + c], u[c], 1e-5 * (1 + std::fabs(u[c])));
  }
  mapper_user_backward(m, in.w_user_tok.data(), N, uacts);
  mapper_item_backward(m, in.w_item_tok.data(), N, iacts);

  // Central differences of the double reference; the fp32 analytic gradient must agree to 1e-3
  // relative (fp32 forward rounding is about 1e-7; the reference itself has no rounding to speak of).
  const double h = 1e-3;
  for (Param* p : mapper_params(m)) {
    for (int64_t i = 0; i < p->value.numel(); ++i) {
      float* v = p->value.data<float>() + i;
      const float saved = *v;
      *v = saved + float(h);
      double up = loss_ref(m, in);
      *v = saved - float(h);
      double down = loss_ref(m, in);
      *v = saved;
      double step = (double(saved + float(h)) - double(saved - float(h)));
      double fd = (up - down) / step;
      double an = p->grad.data<float>()[i];
      EXPECT_NEAR(an, fd, 1e-3 * (1 + std::fabs(fd))) << p->name << "[" << i << "]";
    }
  }
}

}  // namespace

TEST(Mapper, MetaNetForwardAndGradientsMatchReference) { check_mapper(MappingKind::metanet, 8); }
TEST(Mapper, MetaNetWithLinearProjections) { check_mapper(MappingKind::metanet, 0); }
TEST(Mapper, SharedLinearForwardAndGradientsMatchReference) { check_mapper(MappingKind::shared_linear, 8); }

// Each row of a batch gets its own user's mapping: a batch of three different users gives, row by
// row, exactly what each user gives alone, and the users' tokens differ from each other.
TEST(Mapper, EachSampleGetsItsOwnUsersMapping) {
  MapperConfig cfg;
  cfg.d_cf = 6, cfg.d_model = 9, cfg.meta_hidden = 8, cfg.proj_hidden = 10;
  Mapper m = mapper_create(cfg);
  const int N = 3;
  Inputs in = make_inputs(N, cfg.d_cf, cfg.d_model, 17);
  std::vector<float> batch(N * cfg.d_model);
  MapperUserActs acts;
  mapper_user_forward(m, batch.data(), in.e_user.data(), in.hist.data(), N, acts);
  for (int n = 0; n < N; ++n) {
    std::vector<float> alone(cfg.d_model);
    MapperUserActs a1;
    mapper_user_forward(m, alone.data(), &in.e_user[n * cfg.d_cf], &in.hist[n * cfg.d_cf], 1, a1);
    // Batched and single-row BLAS calls may round differently: 1e-6 relative.
    for (int c = 0; c < cfg.d_model; ++c)
      EXPECT_NEAR(batch[n * cfg.d_model + c], alone[c], 1e-6 * (1 + std::fabs(alone[c])));
    // The mapping itself depends on the history: W_u differs between users.
    if (n > 0) {
      const float* w0 = acts.w_user.data<const float>();
      const float* wn = w0 + n * cfg.d_cf * cfg.d_cf;
      double diff = 0;
      for (int i = 0; i < cfg.d_cf * cfg.d_cf; ++i) diff += std::fabs(w0[i] - wn[i]);
      EXPECT_GT(diff, 1e-4);
    }
  }
}

TEST(Mapper, RejectsUnknownMappingName) {
  EXPECT_EQ(mapping_kind_from_string("metanet"), MappingKind::metanet);
  EXPECT_THROW(mapping_kind_from_string("colla"), ckf::Error);
}
