#include "core/cuda/mapper_cuda.h"

#include <algorithm>

#include "core/check.h"
#include "core/cuda/device_copy.h"
#include "kernels/cuda/bias_relu.h"
#include "kernels/cuda/cf_gather.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/gemm.h"

namespace ckf::cuda {

namespace {

// mapper_params only lists the parameters; it takes a non-const Mapper because training writes
// through the list, which nothing here does.
ParamRefs param_list(const Mapper& m) { return mapper_params(const_cast<Mapper&>(m)); }

// Offsets of an Mlp's tensors from `at` on, in mlp_params order; advances `at`.
MlpCuda mlp_cuda_layout(const Mlp& m, int64_t& at) {
  MlpCuda c{m.in, m.hidden, m.out};
  c.w1 = at, at += m.w1.value.numel();
  c.b1 = at, at += m.b1.value.numel();
  if (m.hidden > 0) {
    c.w2 = at, at += m.w2.value.numel();
    c.b2 = at, at += m.b2.value.numel();
  }
  return c;
}

// out (N, out) = mlp(inp (N, in)), as core/mlp.cpp's mlp_forward.
void mlp_cuda_forward(const CudaContext& ctx, const float* params, const MlpCuda& m, float* out, const float* inp,
                      int N, MlpActsCuda& acts) {
  const cublasHandle_t h = ctx.cublas();
  acts.inp = inp;
  if (m.hidden == 0) {
    gemm(h, out, GemmType::f32, inp, params + m.w1, GemmType::f32, N, m.out, m.in, false, true);
    bias_relu_forward(out, nullptr, params + m.b1, N, m.out, ctx.stream());
    return;
  }
  device_ensure(acts.pre, size_t(N) * m.hidden);
  device_ensure(acts.act, size_t(N) * m.hidden);
  gemm(h, acts.pre.data(), GemmType::f32, inp, params + m.w1, GemmType::f32, N, m.hidden, m.in, false, true);
  bias_relu_forward(acts.pre.data(), acts.act.data(), params + m.b1, N, m.hidden, ctx.stream());
  gemm(h, out, GemmType::f32, acts.act.data(), params + m.w2, GemmType::f32, N, m.out, m.hidden, false, true);
  bias_relu_forward(out, nullptr, params + m.b2, N, m.out, ctx.stream());
}

// One linear layer's backward: dW (OC, C) += dout^T inp, db (OC) += column sums of dout, and
// dinp (N, C) = dout W when dinp is non-null.
void linear_cuda_backward(const CudaContext& ctx, const float* w, float* dw, float* db, float* dinp, const float* dout,
                          const float* inp, int N, int C, int OC) {
  gemm(ctx.cublas(), dw, GemmType::f32, dout, inp, GemmType::f32, OC, C, N, true, false, 1.0f, 1.0f);
  bias_backward(db, dout, N, OC, ctx.stream());
  if (dinp) gemm(ctx.cublas(), dinp, GemmType::f32, dout, w, GemmType::f32, N, C, OC, false, false);
}

// Accumulates the Mlp's gradients from dout (N, out); writes dinp (N, in) when non-null.
void mlp_cuda_backward(const CudaContext& ctx, const float* params, float* grads, const MlpCuda& m, float* dinp,
                       const float* dout, int N, MlpActsCuda& acts) {
  if (m.hidden == 0) {
    linear_cuda_backward(ctx, params + m.w1, grads + m.w1, grads + m.b1, dinp, dout, acts.inp, N, m.in, m.out);
    return;
  }
  device_ensure(acts.dpre, size_t(N) * m.hidden);
  linear_cuda_backward(ctx, params + m.w2, grads + m.w2, grads + m.b2, acts.dpre.data(), dout, acts.act.data(), N,
                       m.hidden, m.out);
  relu_backward(acts.dpre.data(), acts.pre.data(), N, m.hidden, ctx.stream());
  linear_cuda_backward(ctx, params + m.w1, grads + m.w1, grads + m.b1, dinp, acts.dpre.data(), acts.inp, N, m.in,
                       m.hidden);
}

// Copies the flat buffer `flat` into the host tensors pick(param) in mapper_params order.
template <class Pick>
void flat_download(const MapperCuda& m, const DeviceBuffer<float>& flat, Mapper& host, cudaStream_t stream,
                   Pick pick) {
  CUDA_CHECK(cudaStreamSynchronize(stream));  // a non-blocking stream: the copy below would not wait for it
  const std::vector<float> values = flat.download();
  int64_t at = 0;
  for (Param* p : mapper_params(host)) {
    Tensor& t = pick(*p);
    CKF_CHECK(at + t.numel() <= int64_t(values.size()), "mapper_cuda: the host mapper differs from the uploaded one");
    std::copy_n(values.data() + at, t.numel(), t.data<float>());
    at += t.numel();
  }
  CKF_CHECK(at == int64_t(values.size()) && host.cfg.kind == m.cfg.kind,
            "mapper_cuda: the host mapper differs from the uploaded one");
}

std::vector<float> flat_values(const Mapper& host) {
  std::vector<float> flat;
  for (const Param* p : param_list(host))
    flat.insert(flat.end(), p->value.data<const float>(), p->value.data<const float>() + p->value.numel());
  return flat;
}

}  // namespace

MapperCuda mapper_cuda_upload(const Mapper& host) {
  MapperCuda m;
  m.cfg = host.cfg;
  int64_t at = 0;
  if (host.cfg.kind == MappingKind::metanet) {
    m.meta = mlp_cuda_layout(host.meta, at);
  } else {
    m.shared = at;
    at += host.shared.value.numel();
  }
  m.user_proj = mlp_cuda_layout(host.user_proj, at);
  m.item_proj = mlp_cuda_layout(host.item_proj, at);
  const std::vector<float> flat = flat_values(host);
  CKF_CHECK(at == int64_t(flat.size()), "mapper_cuda_upload: layout of " << at << " values, mapper_params holds "
                                                                          << flat.size());
  m.params = DeviceBuffer<float>(flat);
  m.grads = DeviceBuffer<float>(std::vector<float>(flat.size(), 0.0f));
  return m;
}

CfTablesCuda cf_tables_cuda_upload(const CfTables& cf) {
  CKF_CHECK(cf.user_emb.dim(1) == cf.item_emb.dim(1),
            "CF tables: user dim " << cf.user_emb.dim(1) << " != item dim " << cf.item_emb.dim(1));
  auto upload = [](const Tensor& t) {
    return DeviceBuffer<float>(std::vector<float>(t.data<const float>(), t.data<const float>() + t.numel()));
  };
  return {cf.user_emb.dim(0), cf.item_emb.dim(0), static_cast<int>(cf.user_emb.dim(1)), upload(cf.user_emb),
          upload(cf.item_emb)};
}

void mapper_cuda_forward(const MapperCuda& m, const CfTablesCuda& cf, const CkfSoftIds& ids, MapperActsCuda& a,
                         const CudaContext& ctx) {
  const int d = m.cfg.d_cf, C = m.cfg.d_model, H = ids.history_len;
  CKF_CHECK(cf.d_cf == d, "CF embeddings have dim " << cf.d_cf << " but the mapper expects d_cf = " << d);
  const cudaStream_t stream = ctx.stream();
  a.n_user = ids.n_user(), a.n_item = ids.n_item(), a.H = H;
  const int n_user = a.n_user, n_item = a.n_item;
  a.ids_host = ids.users;
  a.ids_host.insert(a.ids_host.end(), ids.history.begin(), ids.history.end());
  a.ids_host.insert(a.ids_host.end(), ids.items.begin(), ids.items.end());
  device_ensure(a.ids, a.ids_host.size());
  // A pageable source is staged before cudaMemcpyAsync returns: the next forward may refill it.
  if (!a.ids_host.empty())
    CUDA_CHECK(cudaMemcpyAsync(a.ids.data(), a.ids_host.data(), a.ids.bytes(), cudaMemcpyHostToDevice, stream));
  const int32_t* user_ids = a.ids.data();
  const int32_t* history = user_ids + n_user;
  const int32_t* item_ids = history + int64_t(n_user) * H;
  device_ensure(a.soft, size_t(n_user + n_item) * C);

  if (n_user > 0) {
    device_ensure(a.e_user, size_t(n_user) * d);
    device_ensure(a.mapped, size_t(n_user) * d);
    cf_rows_mean(a.e_user.data(), cf.user_emb.data(), user_ids, n_user, 1, d, stream);
    if (m.cfg.kind == MappingKind::metanet) {
      device_ensure(a.hist_mean, size_t(n_user) * d);
      device_ensure(a.w_user, size_t(n_user) * d * d);
      cf_rows_mean(a.hist_mean.data(), cf.item_emb.data(), history, n_user, H, d, stream);
      mlp_cuda_forward(ctx, m.params.data(), m.meta, a.w_user.data(), a.hist_mean.data(), n_user, a.meta);
      // W_u = I + MetaNet(.): mapped[n] = e_u[n] + e_u[n] (1, d) @ MetaNet(.)[n] (d, d).
      CUDA_CHECK(cudaMemcpyAsync(a.mapped.data(), a.e_user.data(), a.e_user.bytes(), cudaMemcpyDeviceToDevice, stream));
      gemm_strided_batched(ctx.cublas(), a.mapped.data(), GemmType::f32, a.e_user.data(), a.w_user.data(),
                           GemmType::f32, n_user, 1, d, d, false, false, d, int64_t(d) * d, d, 1.0f, 1.0f);
    } else {
      gemm(ctx.cublas(), a.mapped.data(), GemmType::f32, a.e_user.data(), m.params.data() + m.shared, GemmType::f32,
           n_user, d, d, false, false);
    }
    mlp_cuda_forward(ctx, m.params.data(), m.user_proj, a.soft.data(), a.mapped.data(), n_user, a.user_proj);
  }
  if (n_item > 0) {
    device_ensure(a.e_item, size_t(n_item) * d);
    cf_rows_mean(a.e_item.data(), cf.item_emb.data(), item_ids, n_item, 1, d, stream);
    mlp_cuda_forward(ctx, m.params.data(), m.item_proj, a.soft.data() + int64_t(n_user) * C, a.e_item.data(), n_item,
                     a.item_proj);
  }
}

void mapper_cuda_backward(MapperCuda& m, MapperActsCuda& a, const float* d_soft, const CudaContext& ctx) {
  const int d = m.cfg.d_cf, C = m.cfg.d_model, n_user = a.n_user, n_item = a.n_item;
  const float* params = m.params.data();
  float* grads = m.grads.data();
  if (n_user > 0) {
    device_ensure(a.dmapped, size_t(n_user) * d);
    mlp_cuda_backward(ctx, params, grads, m.user_proj, a.dmapped.data(), d_soft, n_user, a.user_proj);
    // e_u is frozen CF output: the gradient stops at the mapping. dW_u[n] = e_u[n]^T (d, 1) @ dmapped[n] (1, d).
    if (m.cfg.kind == MappingKind::metanet) {
      device_ensure(a.dw, size_t(n_user) * d * d);
      gemm_strided_batched(ctx.cublas(), a.dw.data(), GemmType::f32, a.e_user.data(), a.dmapped.data(), GemmType::f32,
                           n_user, d, d, 1, true, false, d, d, int64_t(d) * d);
      mlp_cuda_backward(ctx, params, grads, m.meta, nullptr, a.dw.data(), n_user, a.meta);
    } else {
      // One W for every user: its gradient sums the users', e_user^T (d, n_user) @ dmapped (n_user, d).
      gemm(ctx.cublas(), grads + m.shared, GemmType::f32, a.e_user.data(), a.dmapped.data(), GemmType::f32, d, d,
           n_user, true, false, 1.0f, 1.0f);
    }
  }
  if (n_item > 0)
    mlp_cuda_backward(ctx, params, grads, m.item_proj, nullptr, d_soft + int64_t(n_user) * C, n_item, a.item_proj);
}

void mapper_cuda_zero_grad(MapperCuda& m, cudaStream_t stream) { device_zero(m.grads, stream); }

void mapper_cuda_grads_download(const MapperCuda& m, Mapper& host, cudaStream_t stream) {
  flat_download(m, m.grads, host, stream, [](Param& p) -> Tensor& { return p.grad; });
}

void mapper_cuda_values_download(const MapperCuda& m, Mapper& host, cudaStream_t stream) {
  flat_download(m, m.params, host, stream, [](Param& p) -> Tensor& { return p.value; });
}

void mapper_cuda_values_upload(MapperCuda& m, const Mapper& host) {
  CKF_CHECK(host.cfg.kind == m.cfg.kind, "mapper_cuda_values_upload: the host mapper differs from the uploaded one");
  m.params.upload(flat_values(host));
}

std::vector<DeviceTensor> mapper_cuda_tensors(MapperCuda& m, const Mapper& host) {
  std::vector<DeviceTensor> out;
  int64_t at = 0;
  for (const Param* p : param_list(host)) {
    const int64_t n = p->value.numel();
    CKF_CHECK(at + n <= int64_t(m.params.size()), "mapper_cuda_tensors: the host mapper differs from the uploaded one");
    out.push_back({p->value.data<const float>(), m.params.data() + at, m.grads.data() + at, nullptr, n});
    at += n;
  }
  CKF_CHECK(at == int64_t(m.params.size()), "mapper_cuda_tensors: the host mapper differs from the uploaded one");
  return out;
}

}  // namespace ckf::cuda
