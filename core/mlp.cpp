#include "core/mlp.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/check.h"
#include "kernels/cpu/matmul.h"

namespace ckf {

static void linear_init(Param& w, Param& b, int fan_in, std::mt19937_64& rng, float scale) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
  std::uniform_real_distribution<float> u(-bound, bound);
  for (int64_t i = 0; i < w.value.numel(); ++i) w.value.data<float>()[i] = u(rng) * scale;
  for (int64_t i = 0; i < b.value.numel(); ++i) b.value.data<float>()[i] = u(rng) * scale;
}

Mlp mlp_create(const std::string& name, int in, int hidden, int out, std::mt19937_64& rng, float out_scale) {
  CKF_CHECK(in > 0 && out > 0 && hidden >= 0, "mlp " << name << ": bad sizes in=" << in << " hidden=" << hidden
                                                     << " out=" << out);
  Mlp m;
  m.in = in, m.hidden = hidden, m.out = out;
  const int first_out = hidden > 0 ? hidden : out;
  m.w1 = Param::make(name + ".w1", {first_out, in});
  m.b1 = Param::make(name + ".b1", {first_out});
  linear_init(m.w1, m.b1, in, rng, hidden > 0 ? 1.0f : out_scale);
  if (hidden > 0) {
    m.w2 = Param::make(name + ".w2", {out, hidden});
    m.b2 = Param::make(name + ".b2", {out});
    linear_init(m.w2, m.b2, hidden, rng, out_scale);
  }
  return m;
}

void mlp_forward(const Mlp& m, float* out, const float* inp, int N, MlpActs& acts) {
  acts.inp = Tensor::empty({N, m.in});
  std::memcpy(acts.inp.raw(), inp, sizeof(float) * N * m.in);
  if (m.hidden == 0) {
    cpu::linear_forward(out, inp, m.w1.value.data<const float>(), m.b1.value.data<const float>(), N, m.in, m.out);
    return;
  }
  acts.pre = Tensor::empty({N, m.hidden});
  acts.act = Tensor::empty({N, m.hidden});
  float* pre = acts.pre.data<float>();
  float* act = acts.act.data<float>();
  cpu::linear_forward(pre, inp, m.w1.value.data<const float>(), m.b1.value.data<const float>(), N, m.in, m.hidden);
  for (int64_t i = 0; i < int64_t(N) * m.hidden; ++i) act[i] = std::max(pre[i], 0.0f);
  cpu::linear_forward(out, act, m.w2.value.data<const float>(), m.b2.value.data<const float>(), N, m.hidden, m.out);
}

void mlp_backward(Mlp& m, float* dinp, const float* dout, int N, const MlpActs& acts) {
  const float* inp = acts.inp.data<const float>();
  if (dinp) std::memset(dinp, 0, sizeof(float) * N * m.in);
  if (m.hidden == 0) {
    Tensor scratch = dinp ? Tensor() : Tensor::zeros({N, m.in});
    cpu::linear_backward(dinp ? dinp : scratch.data<float>(), m.w1.grad.data<float>(), m.b1.grad.data<float>(), dout,
                         inp, m.w1.value.data<const float>(), N, m.in, m.out);
    return;
  }
  Tensor dact = Tensor::zeros({N, m.hidden});
  float* da = dact.data<float>();
  cpu::linear_backward(da, m.w2.grad.data<float>(), m.b2.grad.data<float>(), dout, acts.act.data<const float>(),
                       m.w2.value.data<const float>(), N, m.hidden, m.out);
  const float* pre = acts.pre.data<const float>();
  for (int64_t i = 0; i < int64_t(N) * m.hidden; ++i) da[i] = pre[i] > 0.0f ? da[i] : 0.0f;
  Tensor scratch = dinp ? Tensor() : Tensor::zeros({N, m.in});
  cpu::linear_backward(dinp ? dinp : scratch.data<float>(), m.w1.grad.data<float>(), m.b1.grad.data<float>(), da,
                       inp, m.w1.value.data<const float>(), N, m.in, m.hidden);
}

void mlp_params(Mlp& m, ParamRefs& out) {
  out.push_back(&m.w1);
  out.push_back(&m.b1);
  if (m.hidden > 0) {
    out.push_back(&m.w2);
    out.push_back(&m.b2);
  }
}

}  // namespace ckf
