#include "core/lora.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "core/check.h"
#include "core/rng.h"
#include "kernels/cpu/matmul.h"

namespace ckf {

namespace {
constexpr const char* kTargetNames[kLoraTargets] = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                    "gate_proj", "up_proj", "down_proj"};
}

const char* lora_target_name(LoraTarget t) { return kTargetNames[static_cast<int>(t)]; }

LoraTarget lora_target_parse(const std::string& name) {
  for (int i = 0; i < kLoraTargets; ++i) {
    std::string full = kTargetNames[i];
    if (name == full || name + "_proj" == full) return static_cast<LoraTarget>(i);
  }
  CKF_FAIL("unknown LoRA target '" << name << "' (valid: q, k, v, o, gate, up, down, or with _proj)");
}

LoraSpec lora_spec_shared_default() { return {{LoraTarget::k, LoraTarget::v, LoraTarget::o}, 16, 64.0f, 0.1f}; }
LoraSpec lora_spec_task_default() { return {{LoraTarget::q}, 16, 64.0f, 0.1f}; }

void lora_spec_validate(const LoraSpec& spec, const char* what) {
  CKF_CHECK(spec.r > 0, what << " LoRA: rank r must be positive, got " << spec.r);
  CKF_CHECK(std::isfinite(spec.alpha), what << " LoRA: alpha must be finite, got " << spec.alpha);
  CKF_CHECK(spec.dropout >= 0.0f && spec.dropout < 1.0f,
            what << " LoRA: dropout must be in [0, 1), got " << spec.dropout);
  std::set<LoraTarget> seen;
  for (LoraTarget t : spec.targets)
    CKF_CHECK(seen.insert(t).second, what << " LoRA: target " << lora_target_name(t) << " listed twice");
}

LoraAdapter lora_adapter_create(int in, int out, const LoraSpec& spec, uint64_t seed, uint64_t stream,
                                const LoraShard& shard) {
  CKF_CHECK(shard.size >= 1 && shard.rank >= 0 && shard.rank < shard.size,
            "LoRA: tp rank " << shard.rank << " outside a group of " << shard.size);
  const int parts = shard.split == LoraSplit::none ? 1 : shard.size;
  const int split_len = shard.split == LoraSplit::in_cols ? in : out;
  CKF_CHECK(split_len % parts == 0, "LoRA: dimension " << split_len << " does not divide by the tp size " << parts);
  LoraAdapter a;
  a.split = shard.split;
  a.in_global = in;
  a.out_global = out;
  const int in_local = shard.split == LoraSplit::in_cols ? in / parts : in;
  const int out_local = shard.split == LoraSplit::out_rows ? out / parts : out;
  a.in_offset = shard.split == LoraSplit::in_cols ? int64_t{shard.rank} * in_local : 0;
  a.out_offset = shard.split == LoraSplit::out_rows ? int64_t{shard.rank} * out_local : 0;
  a.A = Tensor::empty({spec.r, in_local});
  a.B = Tensor::zeros({out_local, spec.r});
  a.dA = Tensor::zeros({spec.r, in_local});
  a.dB = Tensor::zeros({out_local, spec.r});
  a.scale = spec.alpha / static_cast<float>(spec.r);
  a.stream = stream;
  const float bound = 1.0f / std::sqrt(static_cast<float>(in));
  std::vector<float> global_A(size_t(spec.r) * in);  // (r, in)
  rng_fill_uniform(global_A.data(), int64_t(global_A.size()), -bound, bound, seed, stream);
  for (int i = 0; i < spec.r; ++i)
    std::copy_n(global_A.data() + int64_t{i} * in + a.in_offset, in_local, a.A.data<float>() + int64_t{i} * in_local);
  return a;
}

void lora_forward(float* out, float* h, float* mask, const float* inp, int N, int64_t row0, const LoraAdapter& a,
                  float p, uint64_t dropout_seed) {
  if (N == 0) return;
  const int r = static_cast<int>(a.A.dim(0)), in = static_cast<int>(a.A.dim(1)), outd = static_cast<int>(a.B.dim(0));
  const float* x = inp;
  std::vector<float> dropped;  // (N, in)
  if (mask != nullptr) {
    const float keep_scale = 1.0f / (1.0f - p);
    dropped.resize(static_cast<size_t>(N) * in);
    for (int64_t n = 0; n < N; ++n) {
      const uint64_t row_index = static_cast<uint64_t>(row0 + n) * a.in_global + a.in_offset;
      for (int64_t c = 0; c < in; ++c) {
        const int64_t i = n * in + c;
        mask[i] = rng_uniform(dropout_seed, a.stream, row_index + c) < p ? 0.0f : keep_scale;
        dropped[i] = inp[i] * mask[i];
      }
    }
    x = dropped.data();
  }
  cpu::gemm(h, x, a.A.data<const float>(), N, r, in, false, true);
  cpu::gemm(out, h, a.B.data<const float>(), N, outd, r, false, true, a.scale, 1.0f);
}

void lora_backward(float* dinp, const float* dout, const float* inp, const float* h, const float* mask, int N,
                   LoraAdapter& a) {
  if (N == 0) return;
  const int r = static_cast<int>(a.A.dim(0)), in = static_cast<int>(a.A.dim(1)), outd = static_cast<int>(a.B.dim(0));
  const float* x = inp;
  std::vector<float> dropped;  // (N, in)
  if (mask != nullptr) {
    dropped.resize(static_cast<size_t>(N) * in);
    for (int64_t i = 0; i < int64_t{N} * in; ++i) dropped[i] = inp[i] * mask[i];
    x = dropped.data();
  }
  // dB (out, r) += scale * dout^T h;  dh (N, r) = scale * dout B;  dA (r, in) += dh^T x.
  cpu::gemm(a.dB.data<float>(), dout, h, outd, r, N, true, false, a.scale, 1.0f);
  std::vector<float> dh(static_cast<size_t>(N) * r);
  cpu::gemm(dh.data(), dout, a.B.data<const float>(), N, r, outd, false, false, a.scale, 0.0f);
  cpu::gemm(a.dA.data<float>(), dh.data(), x, r, in, N, true, false, 1.0f, 1.0f);
  if (mask == nullptr) {
    cpu::gemm(dinp, dh.data(), a.A.data<const float>(), N, in, r, false, false, 1.0f, 1.0f);
    return;
  }
  std::vector<float> dx(static_cast<size_t>(N) * in);
  cpu::gemm(dx.data(), dh.data(), a.A.data<const float>(), N, in, r, false, false);
  for (int64_t i = 0; i < int64_t{N} * in; ++i) dinp[i] += dx[i] * mask[i];
}

}  // namespace ckf
