// The CKF mapper on the device (twin of core/mapper.h and core/mlp.h) and the frozen CF tables it
// reads. The mapper is small next to the decoder, so it runs in fp32 (fp32 GEMMs through
// kernels/cuda/gemm.h); its parameters live in one flat fp32 buffer in mapper_params order with
// the gradients at the same offsets, as MultiLoraCuda keeps the adapters. A batch uploads only CF
// ids (CkfSoftIds); the embedding rows and history means are gathered on the device.
#pragma once
#include <cstdint>
#include <vector>

#include "core/ckf_step.h"
#include "core/cuda/device_tensor.h"
#include "core/mapper.h"
#include "kernels/cuda/buffer.h"
#include "kernels/cuda/context.h"

namespace ckf::cuda {

// An Mlp's tensors as offsets into MapperCuda::params (and grads).
struct MlpCuda {
  int in = 0, hidden = 0, out = 0;
  int64_t w1 = 0;  // (hidden, in), or (out, in) when hidden == 0
  int64_t b1 = 0;  // (hidden) or (out)
  int64_t w2 = 0;  // (out, hidden); unused when hidden == 0
  int64_t b2 = 0;  // (out); unused when hidden == 0
};

struct MapperCuda {
  MapperConfig cfg;
  MlpCuda meta;        // d_cf -> d_cf*d_cf (metanet only)
  int64_t shared = 0;  // offset of (d_cf, d_cf) (shared_linear only)
  MlpCuda user_proj;   // d_cf -> d_model
  MlpCuda item_proj;   // d_cf -> d_model
  DeviceBuffer<float> params;  // (P) every parameter, mapper_params order
  DeviceBuffer<float> grads;   // (P)
};

struct CfTablesCuda {
  int64_t n_users = 0, n_items = 0;
  int d_cf = 0;
  DeviceBuffer<float> user_emb;  // (n_users, d_cf)
  DeviceBuffer<float> item_emb;  // (n_items, d_cf)
};

// Activations of one Mlp forward over N rows; the input stays in the caller's buffer.
struct MlpActsCuda {
  const float* inp = nullptr;  // (N, in) device
  DeviceBuffer<float> pre;     // (N, hidden) W1 x + b1
  DeviceBuffer<float> act;     // (N, hidden) relu(pre)
  DeviceBuffer<float> dpre;    // (N, hidden) backward scratch
};

// One batch's mapper inputs, outputs and activations. n_user + n_item = S.
struct MapperActsCuda {
  int n_user = 0, n_item = 0, H = 0;
  std::vector<int32_t> ids_host;  // users, history, items of CkfSoftIds back to back (kept for the async upload)
  DeviceBuffer<int32_t> ids;      // (n_user + n_user*H + n_item)
  DeviceBuffer<float> e_user;     // (n_user, d_cf)
  DeviceBuffer<float> hist_mean;  // (n_user, d_cf) metanet only
  DeviceBuffer<float> w_user;     // (n_user, d_cf*d_cf) MetaNet output: W_u - I (metanet only)
  DeviceBuffer<float> mapped;     // (n_user, d_cf) e_u W_u
  DeviceBuffer<float> e_item;     // (n_item, d_cf)
  MlpActsCuda meta, user_proj, item_proj;
  DeviceBuffer<float> soft;     // (S, d_model) user tokens then item tokens (CkfSoftIds order)
  DeviceBuffer<float> dmapped;  // (n_user, d_cf) backward scratch
  DeviceBuffer<float> dw;       // (n_user, d_cf*d_cf) backward scratch (metanet only)
};

// Uploads the parameters (gradients start at zero).
MapperCuda mapper_cuda_upload(const Mapper& host);
CfTablesCuda cf_tables_cuda_upload(const CfTables& cf);

// acts.soft (S, d_model) = the soft tokens of ids (validated by ckf_batch_layout against cf's
// sizes), as mapper_user_forward / mapper_item_forward. Asynchronous on ctx's stream.
void mapper_cuda_forward(const MapperCuda& m, const CfTablesCuda& cf, const CkfSoftIds& ids, MapperActsCuda& acts,
                         const CudaContext& ctx);

// Accumulates (+=) into m.grads the gradient from d_soft (S, d_model) device, of the last forward.
void mapper_cuda_backward(MapperCuda& m, MapperActsCuda& acts, const float* d_soft, const CudaContext& ctx);

void mapper_cuda_zero_grad(MapperCuda& m, cudaStream_t stream);

// Host <-> device copies against the Mapper the device one was uploaded from (same kind and
// sizes): gradients or values down (once `stream` is done), values up (synchronous).
void mapper_cuda_grads_download(const MapperCuda& m, Mapper& host, cudaStream_t stream);
void mapper_cuda_values_download(const MapperCuda& m, Mapper& host, cudaStream_t stream);
void mapper_cuda_values_upload(MapperCuda& m, const Mapper& host);

// Every parameter as a DeviceTensor (fp32 only: value_bf16 = nullptr), mapper_params order,
// paired with the host Param value it mirrors.
std::vector<DeviceTensor> mapper_cuda_tensors(MapperCuda& m, const Mapper& host);

}  // namespace ckf::cuda
