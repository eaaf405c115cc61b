#include "core/cuda/multi_lora_cuda.h"

#include <algorithm>
#include <sstream>

#include "core/check.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/lora.h"
#include "kernels/cuda/lora_dropout.h"

namespace ckf::cuda {

namespace {

// Calls fn(host adapter, device adapter) for every adapter, shared set first, then the tasks in
// name order: the order the flat buffers are laid out in.
template <class HostLora, class DevLora, class Fn>
void visit_adapters(HostLora& host, DevLora& dev, Fn fn) {
  auto visit_set = [&](auto& hset, auto& dset) {
    for (size_t l = 0; l < hset.layers.size(); ++l)
      for (int t = 0; t < kLoraTargets; ++t)
        if (hset.layers[l][t]) fn(*hset.layers[l][t], dset[l][t]);
  };
  visit_set(host.shared, dev.shared);
  for (auto& [name, hset] : host.tasks) visit_set(hset, dev.tasks.at(name));
}

}  // namespace

MultiLoraCuda multilora_cuda_upload(const MultiLora& host) {
  MultiLoraCuda d;
  d.shared_spec = host.shared_spec;
  d.task_spec = host.task_spec;
  d.shared.resize(host.shared.layers.size());
  for (const auto& [name, set] : host.tasks) d.tasks[name].resize(set.layers.size());
  // Offsets first, then one upload of the whole flat buffer.
  std::vector<float> flat;
  visit_adapters(host, d, [&](const LoraAdapter& a, std::optional<LoraAdapterCuda>& da) {
    CKF_CHECK(a.split == LoraSplit::none, "multilora_cuda_upload: the device path holds whole adapters (tp = 1)");
    LoraAdapterCuda x;
    x.r = static_cast<int>(a.A.dim(0));
    x.in = static_cast<int>(a.A.dim(1));
    x.out = static_cast<int>(a.B.dim(0));
    x.scale = a.scale;
    x.stream = a.stream;
    x.a_offset = static_cast<int64_t>(flat.size());
    flat.insert(flat.end(), a.A.data<const float>(), a.A.data<const float>() + a.A.numel());
    x.b_offset = static_cast<int64_t>(flat.size());
    flat.insert(flat.end(), a.B.data<const float>(), a.B.data<const float>() + a.B.numel());
    da = x;
  });
  d.params = DeviceBuffer<float>(flat);
  d.params_bf16 = DeviceBuffer<Bf16>(flat.size());
  bf16_upload(d.params_bf16.data(), flat.data(), flat.size());
  d.grads = DeviceBuffer<float>(std::vector<float>(flat.size(), 0.0f));
  return d;
}

const LoraSetCuda& multilora_cuda_task(const MultiLoraCuda& lora, const std::string& task) {
  auto it = lora.tasks.find(task);
  if (it != lora.tasks.end()) return it->second;
  std::ostringstream held;
  for (const auto& [name, set] : lora.tasks) held << " " << name;
  CKF_FAIL("device Multi-LoRA: task '" << task << "' has no adapters here (held:" << held.str() << ")");
}

void multilora_cuda_zero_grad(MultiLoraCuda& lora, cudaStream_t stream) {
  if (lora.grads.size() > 0) CUDA_CHECK(cudaMemsetAsync(lora.grads.data(), 0, lora.grads.bytes(), stream));
}

namespace {

void check_same_adapter(const LoraAdapter& a, const std::optional<LoraAdapterCuda>& da, const char* what) {
  CKF_CHECK(da && da->r == a.A.dim(0) && da->in == a.A.dim(1) && da->out == a.B.dim(0),
            what << ": the host adapters differ from the uploaded ones");
}

// Copies the flat device buffer `flat` (laid out as params) into every host adapter's pair of
// tensors that pick(adapter) returns: (A, B) or (dA, dB).
template <class Pick>
void flat_download(const MultiLoraCuda& lora, const DeviceBuffer<float>& flat, MultiLora& host, cudaStream_t stream,
                   const char* what, Pick pick) {
  CUDA_CHECK(cudaStreamSynchronize(stream));  // a non-blocking stream: the copy below would not wait for it
  const std::vector<float> values = flat.download();
  visit_adapters(host, lora, [&](LoraAdapter& a, const std::optional<LoraAdapterCuda>& da) {
    check_same_adapter(a, da, what);
    auto [ta, tb] = pick(a);
    std::copy_n(values.data() + da->a_offset, ta->numel(), ta->template data<float>());
    std::copy_n(values.data() + da->b_offset, tb->numel(), tb->template data<float>());
  });
}

}  // namespace

void multilora_cuda_grads_download(const MultiLoraCuda& lora, MultiLora& host, cudaStream_t stream) {
  flat_download(lora, lora.grads, host, stream, "multilora_cuda_grads_download",
                [](LoraAdapter& a) { return std::pair{&a.dA, &a.dB}; });
}

void multilora_cuda_values_download(const MultiLoraCuda& lora, MultiLora& host, cudaStream_t stream) {
  flat_download(lora, lora.params, host, stream, "multilora_cuda_values_download",
                [](LoraAdapter& a) { return std::pair{&a.A, &a.B}; });
}

void multilora_cuda_values_upload(MultiLoraCuda& lora, const MultiLora& host) {
  std::vector<float> flat(lora.params.size());
  visit_adapters(host, lora, [&](const LoraAdapter& a, const std::optional<LoraAdapterCuda>& da) {
    check_same_adapter(a, da, "multilora_cuda_values_upload");
    std::copy_n(a.A.data<const float>(), a.A.numel(), flat.data() + da->a_offset);
    std::copy_n(a.B.data<const float>(), a.B.numel(), flat.data() + da->b_offset);
  });
  lora.params.upload(flat);
  bf16_upload(lora.params_bf16.data(), flat.data(), flat.size());
}

std::vector<DeviceTensor> multilora_cuda_tensors(MultiLoraCuda& lora, const MultiLora& host) {
  std::vector<DeviceTensor> out;
  visit_adapters(host, lora, [&](const LoraAdapter& a, const std::optional<LoraAdapterCuda>& da) {
    check_same_adapter(a, da, "multilora_cuda_tensors");
    for (auto [t, offset] : {std::pair{&a.A, da->a_offset}, std::pair{&a.B, da->b_offset}})
      out.push_back({t->data<const float>(), lora.params.data() + offset, lora.grads.data() + offset,
                     lora.params_bf16.data() + offset, t->numel()});
  });
  return out;
}

namespace {

// Whole adapters (tp = 1): the keys' row stride is the input width, the column offset 0.
DropoutKey dropout_key(const LoraAdapterCuda& a, const LoraDropoutCuda& drop) {
  return {drop.p, drop.seed, a.stream, drop.row0, a.in, 0};
}

}  // namespace

void lora_cuda_forward(cublasHandle_t handle, cudaStream_t stream, const MultiLoraCuda& lora, const LoraAdapterCuda& a,
                       Bf16* out, Bf16* h, const Bf16* x, int rows, const LoraDropoutCuda& drop) {
  if (rows == 0) return;
  if (drop.p > 0.0f) {
    lora_dropout_forward(drop.drop_x, x, rows, a.in, dropout_key(a, drop), stream);
    x = drop.drop_x;
  }
  lora_down_forward(handle, h, x, lora.params_bf16.data() + a.a_offset, rows, a.in, a.r);
  lora_up_forward(handle, out, h, lora.params_bf16.data() + a.b_offset, a.scale, rows, a.r, a.out);
}

void lora_cuda_backward(cublasHandle_t handle, cudaStream_t stream, MultiLoraCuda& lora, const LoraAdapterCuda& a,
                        Bf16* dx, Bf16* dh, const Bf16* dy, const Bf16* x, const Bf16* h, int rows,
                        const LoraDropoutCuda& drop) {
  if (rows == 0) return;
  float* da = lora.grads.data() + a.a_offset;
  const Bf16* A = lora.params_bf16.data() + a.a_offset;
  lora_up_backward(handle, lora.grads.data() + a.b_offset, dh, dy, h, lora.params_bf16.data() + a.b_offset, a.scale,
                   rows, a.r, a.out);
  if (drop.p == 0.0f) {
    lora_down_backward(handle, da, dx, dh, x, A, rows, a.in, a.r);
    return;
  }
  // dA sees the dropped input; the input gradient goes back through the same mask.
  const DropoutKey key = dropout_key(a, drop);
  lora_dropout_forward(drop.drop_x, x, rows, a.in, key, stream);
  CUDA_CHECK(cudaMemsetAsync(drop.drop_dx, 0, sizeof(Bf16) * rows * a.in, stream));
  lora_down_backward(handle, da, drop.drop_dx, dh, drop.drop_x, A, rows, a.in, a.r);
  lora_dropout_backward(dx, drop.drop_dx, rows, a.in, key, stream);
}

}  // namespace ckf::cuda
