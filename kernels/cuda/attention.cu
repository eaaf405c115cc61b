#include "kernels/cuda/attention.h"
#include "kernels/cuda/check.h"

#include <cmath>
#include <cstdint>

namespace ckf::cuda {

// Every kernel gives one thread one row (a query row, or a key row in the dK/dV kernel) and keeps
// that row's fp32 accumulators in registers, sized by the compile-time bound DMAX >= D. The other
// operand streams through shared memory in tiles that all threads read in lockstep (broadcast, no
// bank conflicts); a thread's own rows, when in shared memory, are padded to D + 1 floats so that
// neighbouring threads hit different banks. This is the FlashAttention-1 schedule without tensor
// cores: simple, exact in fp32, and O(T) memory.

namespace {

constexpr int kRows = 64;  // rows per block = threads per block
constexpr int kTile = 32;  // streamed rows per shared-memory tile

struct Dims {
  int T, H, KVH, D;
  float scale;
  __host__ __device__ int64_t q_row() const { return static_cast<int64_t>(H) * D; }   // row stride of q, out, dq
  __host__ __device__ int64_t kv_row() const { return static_cast<int64_t>(KVH) * D; }  // row stride of k, v, dk, dv
};

// Copies rows [r0, r0 + n) of one head (row stride `stride`) into dst with row pitch `pitch`, as fp32;
// rows past T read as 0.
__device__ void load_rows(float* dst, int pitch, const __nv_bfloat16* src, int64_t stride, int r0, int n, int T,
                          int D) {
  for (int idx = threadIdx.x; idx < n * D; idx += blockDim.x) {
    const int r = idx / D, d = idx % D;
    dst[r * pitch + d] = r0 + r < T ? __bfloat162float(src[(r0 + r) * stride + d]) : 0.0f;
  }
}

template <int DMAX>
__device__ float dot_row(const float* a, const float* b, int D) {
  float s = 0.0f;
#pragma unroll
  for (int d = 0; d < DMAX; d++)
    if (d < D) s += a[d] * b[d];
  return s;
}

// Accumulates acc into a bf16 row: dst[d] = bf16(dst[d] + alpha * acc[d]).
template <int DMAX>
__device__ void add_row(__nv_bfloat16* dst, const float* acc, float alpha, int D) {
#pragma unroll
  for (int d = 0; d < DMAX; d++)
    if (d < D) dst[d] = __float2bfloat16(__bfloat162float(dst[d]) + alpha * acc[d]);
}

// Grid (T / kRows, H, B). Online softmax per key tile: the tile's scores (kept in shared memory,
// column per thread), then one rescale of the running output by exp(m_old - m_new).
template <int DMAX>
__global__ void __launch_bounds__(kRows)
    attention_forward_kernel(__nv_bfloat16* out, float* lse, const __nv_bfloat16* q, const __nv_bfloat16* k,
                             const __nv_bfloat16* v, Dims dm) {
  __shared__ float ks[kTile * DMAX], vs[kTile * DMAX];  // (kTile, D) pitch D
  __shared__ float scores[kTile * kRows];                // (kTile, kRows): thread i owns column i
  const int D = dm.D, T = dm.T;
  const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * kRows, t = q0 + threadIdx.x;
  const int kvh = h / (dm.H / dm.KVH);
  const __nv_bfloat16* kh = k + static_cast<int64_t>(b) * T * dm.kv_row() + static_cast<int64_t>(kvh) * D;
  const __nv_bfloat16* vh = v + static_cast<int64_t>(b) * T * dm.kv_row() + static_cast<int64_t>(kvh) * D;
  const int64_t q_off = (static_cast<int64_t>(b) * T + t) * dm.q_row() + static_cast<int64_t>(h) * D;
  float qr[DMAX], o[DMAX];
#pragma unroll
  for (int d = 0; d < DMAX; d++) {
    qr[d] = d < D && t < T ? __bfloat162float(q[q_off + d]) * dm.scale : 0.0f;
    o[d] = 0.0f;
  }
  float* sc = scores + threadIdx.x;
  float m = -INFINITY, l = 0.0f;
  const int key_end = min(T, q0 + kRows);  // causal: this block's last query sees keys [0, key_end)
  for (int k0 = 0; k0 < key_end; k0 += kTile) {
    __syncthreads();
    load_rows(ks, D, kh, dm.kv_row(), k0, kTile, T, D);
    load_rows(vs, D, vh, dm.kv_row(), k0, kTile, T, D);
    __syncthreads();
    if (t >= T || k0 > t) continue;
    const int n = min(kTile, t - k0 + 1);  // keys k0 .. t of this tile are visible
    float tile_max = -INFINITY;
    for (int j = 0; j < n; j++) {
      sc[j * kRows] = dot_row<DMAX>(qr, ks + j * D, D);
      tile_max = fmaxf(tile_max, sc[j * kRows]);
    }
    const float m_new = fmaxf(m, tile_max);
    const float corr = expf(m - m_new);  // 0 on the first tile (m = -inf)
    l *= corr;
#pragma unroll
    for (int d = 0; d < DMAX; d++) o[d] *= corr;
    for (int j = 0; j < n; j++) {
      const float p = expf(sc[j * kRows] - m_new);
      l += p;
#pragma unroll
      for (int d = 0; d < DMAX; d++)
        if (d < D) o[d] += p * vs[j * D + d];
    }
    m = m_new;
  }
  if (t >= T) return;
  const float inv = 1.0f / l;
#pragma unroll
  for (int d = 0; d < DMAX; d++)
    if (d < D) out[q_off + d] = __float2bfloat16(o[d] * inv);
  lse[(static_cast<int64_t>(b) * dm.H + h) * T + t] = m + logf(l);
}

// delta (B, H, T) = rowsum(dout * out): with P = softmax(S) it equals rowsum(P * dP), the term
// of dS = P * (dP - rowsum(P * dP)).
__global__ void attention_delta_kernel(float* delta, const __nv_bfloat16* dout, const __nv_bfloat16* out, int B,
                                       Dims dm) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;  // (b, t, h)
  if (row >= static_cast<int64_t>(B) * dm.T * dm.H) return;
  const int h = static_cast<int>(row % dm.H);
  const int64_t bt = row / dm.H;
  const int b = static_cast<int>(bt / dm.T), t = static_cast<int>(bt % dm.T);
  float s = 0.0f;
  for (int d = 0; d < dm.D; d++) s += __bfloat162float(dout[row * dm.D + d]) * __bfloat162float(out[row * dm.D + d]);
  delta[(static_cast<int64_t>(b) * dm.H + h) * dm.T + t] = s;
}

// Grid (T / kRows, KVH, B): thread j owns key row k0 + j of KV head kvh and sums the gradient over
// every query head of its group and every query t >= key, so dk and dv need no atomics.
// dv += P^T dO; dk += scale * dS^T q with P = exp(scale q k^T - lse), dS = P * (dO v^T - delta).
template <int DMAX>
__global__ void __launch_bounds__(kRows)
    attention_backward_kv_kernel(__nv_bfloat16* dk, __nv_bfloat16* dv, const __nv_bfloat16* dout,
                                 const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                                 const float* lse, const float* delta, Dims dm) {
  extern __shared__ float smem[];
  const int D = dm.D, T = dm.T, P = D + 1;
  float* k_own = smem;                  // (kRows, D) pitch D + 1
  float* v_own = k_own + kRows * P;     // (kRows, D) pitch D + 1
  float* qs = v_own + kRows * P;        // (kTile, D) pitch D
  float* dos = qs + kTile * D;          // (kTile, D) pitch D
  float* lses = dos + kTile * D;        // (kTile)
  float* deltas = lses + kTile;         // (kTile)
  const int b = blockIdx.z, kvh = blockIdx.y, k0 = blockIdx.x * kRows, j = k0 + threadIdx.x;
  const int group = dm.H / dm.KVH;
  const int64_t kv_base = static_cast<int64_t>(b) * T * dm.kv_row() + static_cast<int64_t>(kvh) * D;
  load_rows(k_own, P, k + kv_base, dm.kv_row(), k0, kRows, T, D);
  load_rows(v_own, P, v + kv_base, dm.kv_row(), k0, kRows, T, D);
  const float* kr = k_own + threadIdx.x * P;
  const float* vr = v_own + threadIdx.x * P;
  float dkr[DMAX], dvr[DMAX];
#pragma unroll
  for (int d = 0; d < DMAX; d++) dkr[d] = dvr[d] = 0.0f;
  for (int h = kvh * group; h < (kvh + 1) * group; h++) {
    const int64_t q_base = static_cast<int64_t>(b) * T * dm.q_row() + static_cast<int64_t>(h) * D;
    const int64_t stat_base = (static_cast<int64_t>(b) * dm.H + h) * T;
    for (int t0 = k0; t0 < T; t0 += kTile) {  // queries before k0 see none of these keys
      __syncthreads();
      load_rows(qs, D, q + q_base, dm.q_row(), t0, kTile, T, D);
      load_rows(dos, D, dout + q_base, dm.q_row(), t0, kTile, T, D);
      if (threadIdx.x < kTile) {
        const int t = t0 + threadIdx.x;
        lses[threadIdx.x] = t < T ? lse[stat_base + t] : 0.0f;
        deltas[threadIdx.x] = t < T ? delta[stat_base + t] : 0.0f;
      }
      __syncthreads();
      if (j >= T) continue;
      for (int i = 0; i < kTile && t0 + i < T; i++) {
        if (t0 + i < j) continue;  // causal: query t sees key j only when j <= t
        const float* qi = qs + i * D;
        const float* doi = dos + i * D;
        const float p = expf(dm.scale * dot_row<DMAX>(qi, kr, D) - lses[i]);
        const float ds = p * (dot_row<DMAX>(doi, vr, D) - deltas[i]);
#pragma unroll
        for (int d = 0; d < DMAX; d++)
          if (d < D) {
            dvr[d] += p * doi[d];
            dkr[d] += ds * qi[d];
          }
      }
    }
  }
  if (j >= T) return;
  const int64_t off = kv_base + static_cast<int64_t>(j) * dm.kv_row();
  add_row<DMAX>(dk + off, dkr, dm.scale, D);
  add_row<DMAX>(dv + off, dvr, 1.0f, D);
}

// Grid (T / kRows, H, B): thread t owns query row q0 + t; dq += scale * dS k over keys <= t.
template <int DMAX>
__global__ void __launch_bounds__(kRows)
    attention_backward_q_kernel(__nv_bfloat16* dq, const __nv_bfloat16* dout, const __nv_bfloat16* q,
                                const __nv_bfloat16* k, const __nv_bfloat16* v, const float* lse,
                                const float* delta, Dims dm) {
  extern __shared__ float smem[];
  const int D = dm.D, T = dm.T, P = D + 1;
  float* q_own = smem;               // (kRows, D) pitch D + 1
  float* do_own = q_own + kRows * P;  // (kRows, D) pitch D + 1
  float* ks = do_own + kRows * P;     // (kTile, D) pitch D
  float* vs = ks + kTile * D;         // (kTile, D) pitch D
  const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * kRows, t = q0 + threadIdx.x;
  const int kvh = h / (dm.H / dm.KVH);
  const int64_t q_base = static_cast<int64_t>(b) * T * dm.q_row() + static_cast<int64_t>(h) * D;
  const int64_t kv_base = static_cast<int64_t>(b) * T * dm.kv_row() + static_cast<int64_t>(kvh) * D;
  load_rows(q_own, P, q + q_base, dm.q_row(), q0, kRows, T, D);
  load_rows(do_own, P, dout + q_base, dm.q_row(), q0, kRows, T, D);
  const float* qr = q_own + threadIdx.x * P;
  const float* dor = do_own + threadIdx.x * P;
  const int64_t stat = (static_cast<int64_t>(b) * dm.H + h) * T + t;
  const float row_lse = t < T ? lse[stat] : 0.0f, row_delta = t < T ? delta[stat] : 0.0f;
  float dqr[DMAX];
#pragma unroll
  for (int d = 0; d < DMAX; d++) dqr[d] = 0.0f;
  const int key_end = min(T, q0 + kRows);
  for (int k0 = 0; k0 < key_end; k0 += kTile) {
    __syncthreads();
    load_rows(ks, D, k + kv_base, dm.kv_row(), k0, kTile, T, D);
    load_rows(vs, D, v + kv_base, dm.kv_row(), k0, kTile, T, D);
    __syncthreads();
    if (t >= T) continue;
    for (int jj = 0; jj < kTile && k0 + jj <= t; jj++) {
      const float* kj = ks + jj * D;
      const float p = expf(dm.scale * dot_row<DMAX>(qr, kj, D) - row_lse);
      const float ds = p * (dot_row<DMAX>(dor, vs + jj * D, D) - row_delta);
#pragma unroll
      for (int d = 0; d < DMAX; d++)
        if (d < D) dqr[d] += ds * kj[d];
    }
  }
  if (t >= T) return;
  add_row<DMAX>(dq + q_base + static_cast<int64_t>(t) * dm.q_row(), dqr, dm.scale, D);
}

Dims attention_dims(int T, int H, int KVH, int D) {
  CKF_CHECK(KVH > 0 && H % KVH == 0,
            "attention: " << H << " query heads are not a multiple of " << KVH << " key/value heads");
  CKF_CHECK(D >= 1 && D <= 128, "attention: head size " << D << " is outside [1, 128]");
  return {T, H, KVH, D, 1.0f / std::sqrt(static_cast<float>(D))};
}

// Launches a kernel that takes `smem` bytes of dynamic shared memory, opting in above the 48 KiB default.
template <class Kernel, class... Args>
void launch_dynamic(Kernel kernel, dim3 grid, size_t smem, cudaStream_t stream, Args... args) {
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  kernel<<<grid, kRows, smem, stream>>>(args...);
}

template <int DMAX>
void attention_backward_d(__nv_bfloat16* dq, __nv_bfloat16* dk, __nv_bfloat16* dv, const __nv_bfloat16* dout,
                          const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, const float* lse,
                          const float* delta, int B, Dims dm, cudaStream_t stream) {
  const unsigned tiles = static_cast<unsigned>((dm.T + kRows - 1) / kRows);
  const size_t smem = sizeof(float) * (2 * kRows * (dm.D + 1) + 2 * kTile * dm.D + 2 * kTile);
  launch_dynamic(attention_backward_kv_kernel<DMAX>, dim3(tiles, dm.KVH, B), smem, stream, dk, dv, dout, q, k, v, lse,
                 delta, dm);
  CUDA_CHECK_LAUNCH("attention_backward_kv_kernel");
  launch_dynamic(attention_backward_q_kernel<DMAX>, dim3(tiles, dm.H, B), smem, stream, dq, dout, q, k, v, lse, delta,
                 dm);
  CUDA_CHECK_LAUNCH("attention_backward_q_kernel");
}

}  // namespace

void attention_forward(__nv_bfloat16* out, float* lse, const __nv_bfloat16* q, const __nv_bfloat16* k,
                       const __nv_bfloat16* v, int B, int T, int H, int KVH, int D, cudaStream_t stream) {
  const Dims dm = attention_dims(T, H, KVH, D);
  if (B == 0 || T == 0) return;
  const dim3 grid((T + kRows - 1) / kRows, H, B);
  if (D <= 64)
    attention_forward_kernel<64><<<grid, kRows, 0, stream>>>(out, lse, q, k, v, dm);
  else
    attention_forward_kernel<128><<<grid, kRows, 0, stream>>>(out, lse, q, k, v, dm);
  CUDA_CHECK_LAUNCH("attention_forward_kernel");
}

void attention_backward(__nv_bfloat16* dq, __nv_bfloat16* dk, __nv_bfloat16* dv, float* delta,
                        const __nv_bfloat16* dout, const __nv_bfloat16* q, const __nv_bfloat16* k,
                        const __nv_bfloat16* v, const __nv_bfloat16* out, const float* lse, int B, int T, int H,
                        int KVH, int D, cudaStream_t stream) {
  const Dims dm = attention_dims(T, H, KVH, D);
  if (B == 0 || T == 0) return;
  const int64_t rows = static_cast<int64_t>(B) * T * H;
  attention_delta_kernel<<<static_cast<unsigned>((rows + 255) / 256), 256, 0, stream>>>(delta, dout, out, B, dm);
  CUDA_CHECK_LAUNCH("attention_delta_kernel");
  if (D <= 64)
    attention_backward_d<64>(dq, dk, dv, dout, q, k, v, lse, delta, B, dm, stream);
  else
    attention_backward_d<128>(dq, dk, dv, dout, q, k, v, lse, delta, B, dm, stream);
}

}  // namespace ckf::cuda
