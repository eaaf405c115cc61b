#include "core/mapper.h"

#include <cstring>

#include "core/check.h"
#include "kernels/cpu/matmul.h"

namespace ckf {

MappingKind mapping_kind_from_string(const std::string& s) {
  if (s == "metanet") return MappingKind::metanet;
  if (s == "shared_linear") return MappingKind::shared_linear;
  CKF_FAIL("unknown mapping '" << s << "' (expected metanet or shared_linear)");
}

Mapper mapper_create(const MapperConfig& cfg) {
  CKF_CHECK(cfg.d_cf > 0 && cfg.d_model > 0, "mapper: d_cf and d_model must be positive");
  std::mt19937_64 rng(cfg.seed);
  Mapper m;
  m.cfg = cfg;
  const int d = cfg.d_cf;
  if (cfg.kind == MappingKind::metanet) {
    // Output scaled by 1/d: W_u starts within about 1/d of the identity.
    m.meta = mlp_create("mapper.meta", d, cfg.meta_hidden, d * d, rng, 1.0f / d);
  } else {
    m.shared = Param::make("mapper.shared", {d, d});
    for (int i = 0; i < d; ++i) m.shared.value.data<float>()[i * d + i] = 1.0f;
  }
  m.user_proj = mlp_create("mapper.user_proj", d, cfg.proj_hidden, cfg.d_model, rng);
  m.item_proj = mlp_create("mapper.item_proj", d, cfg.proj_hidden, cfg.d_model, rng);
  return m;
}

void mapper_user_forward(const Mapper& m, float* out, const float* e_user, const float* hist_mean, int N,
                         MapperUserActs& acts) {
  const int d = m.cfg.d_cf;
  acts.e_user = Tensor::empty({N, d});
  std::memcpy(acts.e_user.raw(), e_user, sizeof(float) * N * d);
  acts.w_user = Tensor::empty({N, d, d});
  float* w = acts.w_user.data<float>();
  if (m.cfg.kind == MappingKind::metanet) {
    mlp_forward(m.meta, w, hist_mean, N, acts.meta);
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < d; ++i) w[(int64_t(n) * d + i) * d + i] += 1.0f;
  } else {
    for (int n = 0; n < N; ++n) std::memcpy(w + int64_t(n) * d * d, m.shared.value.raw(), sizeof(float) * d * d);
  }
  // mapped (N, d): row n = e_u[n] (1, d) @ W_u[n] (d, d)
  Tensor mapped = Tensor::empty({N, d});
  cpu::gemm_strided_batched(mapped.data<float>(), e_user, w, N, 1, d, d, false, false, d, int64_t(d) * d, d);
  mlp_forward(m.user_proj, out, mapped.data<const float>(), N, acts.proj);
}

void mapper_user_backward(Mapper& m, const float* dout, int N, const MapperUserActs& acts) {
  const int d = m.cfg.d_cf;
  Tensor dmapped = Tensor::zeros({N, d});
  mlp_backward(m.user_proj, dmapped.data<float>(), dout, N, acts.proj);
  // dW_u[n] (d, d) = e_u[n]^T (d, 1) @ dmapped[n] (1, d); e_u is frozen CF output, so no gradient flows to it.
  Tensor dw = Tensor::zeros({N, d, d});
  cpu::gemm_strided_batched(dw.data<float>(), acts.e_user.data<const float>(), dmapped.data<const float>(), N, d, d,
                            1, true, false, d, d, int64_t(d) * d);
  if (m.cfg.kind == MappingKind::metanet) {
    mlp_backward(m.meta, nullptr, dw.data<const float>(), N, acts.meta);
  } else {
    float* g = m.shared.grad.data<float>();
    const float* src = dw.data<const float>();
    for (int n = 0; n < N; ++n)
      for (int64_t i = 0; i < int64_t(d) * d; ++i) g[i] += src[int64_t(n) * d * d + i];
  }
}

void mapper_item_forward(const Mapper& m, float* out, const float* e_item, int N, MlpActs& acts) {
  mlp_forward(m.item_proj, out, e_item, N, acts);
}

void mapper_item_backward(Mapper& m, const float* dout, int N, const MlpActs& acts) {
  mlp_backward(m.item_proj, nullptr, dout, N, acts);
}

ParamRefs mapper_params(Mapper& m) {
  ParamRefs out;
  if (m.cfg.kind == MappingKind::metanet) mlp_params(m.meta, out);
  else out.push_back(&m.shared);
  mlp_params(m.user_proj, out);
  mlp_params(m.item_proj, out);
  return out;
}

}  // namespace ckf
