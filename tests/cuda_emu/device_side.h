// Force-included (-include) into every CUDA source translated by translate.py: the device side of
// the CUDA language for g++. The real CUDA headers come first (their host-compiler mode turns
// __global__, __device__, __launch_bounds__ ... into nothing); this header adds the builtins
// (threadIdx, blockIdx, blockDim, gridDim, warpSize), barriers, warp shuffles, atomics, the device
// math functions the kernels use, and the launcher that translated `<<<...>>>` launches call.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "tests/cuda_emu/block_exec.h"

#ifndef __launch_bounds__
#define __launch_bounds__(...)
#endif

#define threadIdx (::ckf_emu::tl_coords.thread_idx)
#define blockIdx (::ckf_emu::tl_coords.block_idx)
#define blockDim (::ckf_emu::tl_coords.block_dim)
#define gridDim (::ckf_emu::tl_coords.grid_dim)
#define warpSize 32

inline void __syncthreads() { ::ckf_emu::block_barrier(); }

namespace ckf_emu {

inline int lane_id() {
  const ThreadCoords& c = tl_coords;
  const unsigned linear = c.thread_idx.x + c.block_dim.x * (c.thread_idx.y + c.block_dim.y * c.thread_idx.z);
  return static_cast<int>(linear % 32);
}

// A shuffle among segments of `width` lanes; src is the lane within the segment.
template <class T>
T shuffle(const char* kind, unsigned mask, T var, int src_in_segment, int width) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffle of a type wider than 8 bytes");
  const int lane = lane_id(), base = lane - lane % width;
  uint64_t bits = 0;
  std::memcpy(&bits, &var, sizeof(T));
  bits = warp_exchange(kind, mask, bits, base + src_in_segment);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

}  // namespace ckf_emu

template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = 32) {
  return ::ckf_emu::shuffle("__shfl_sync", mask, var, ((src_lane % width) + width) % width, width);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32) {
  const int lane = ::ckf_emu::lane_id() % width, src = lane ^ lane_mask;
  return ::ckf_emu::shuffle("__shfl_xor_sync", mask, var, src < width ? src : lane, width);
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  const int lane = ::ckf_emu::lane_id() % width, src = lane + static_cast<int>(delta);
  return ::ckf_emu::shuffle("__shfl_down_sync", mask, var, src < width ? src : lane, width);
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  const int lane = ::ckf_emu::lane_id() % width, src = lane - static_cast<int>(delta);
  return ::ckf_emu::shuffle("__shfl_up_sync", mask, var, src >= 0 ? src : lane, width);
}
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::ckf_emu::warp_exchange("__syncwarp", mask, 0, ::ckf_emu::lane_id());
}

// Blocks run one at a time and their threads only switch at barriers, so a read-modify-write is
// atomic as it stands.
template <class T>
T atomicAdd(T* address, T val) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int> ||
                    std::is_same_v<T, unsigned> || std::is_same_v<T, unsigned long long>,
                "atomicAdd: a type CUDA has no atomicAdd for");
  const T old = *address;
  *address = old + val;
  return old;
}
template <class T>
T atomicMax(T* address, T val) {
  const T old = *address;
  *address = old < val ? val : old;
  return old;
}
template <class T>
T atomicMin(T* address, T val) {
  const T old = *address;
  *address = val < old ? val : old;
  return old;
}
template <class T>
T atomicSub(T* address, T val) {
  const T old = *address;
  *address = old - val;
  return old;
}
template <class T>
T atomicExch(T* address, T val) {
  const T old = *address;
  *address = val;
  return old;
}
template <class T>
T atomicCAS(T* address, T compare, T val) {
  const T old = *address;
  if (old == compare) *address = val;
  return old;
}
template <class T>
T __ldg(const T* p) {
  return *p;
}
// Memory fences order nothing here: a block's threads switch only at barriers.
inline void __threadfence() {}
inline void __threadfence_block() {}

// Device math that is not in the C library: the intrinsics as their exact counterparts.
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.0f / x; }
template <class A, class B>
std::common_type_t<A, B> min(A a, B b) {
  return b < a ? b : a;
}
template <class A, class B>
std::common_type_t<A, B> max(A a, B b) {
  return a < b ? b : a;
}

// The runtime's C++ overload for kernels (cuda_runtime.h defines it for nvcc only).
template <class... P>
cudaError_t cudaFuncSetAttribute(void (*kernel)(P...), cudaFuncAttribute attr, int value) {
  return ::cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel), attr, value);
}

namespace ckf_emu {

// `kernel<<<grid, block, smem, stream>>>(args)` becomes `make_launch(kernel, "kernel", grid, block,
// smem, stream)(args)`: the arguments are converted to the kernel's parameter types once, and every
// CUDA thread calls the kernel with its own copy (kernels may modify their by-value parameters).
template <class... P>
struct Launch {
  void (*fn)(P...);
  const char* name;
  dim3 grid, block;
  size_t smem;
  cudaStream_t stream;

  template <class... A>
  void operator()(A&&... args) const {
    using Params = std::tuple<std::decay_t<P>...>;
    Params params(std::forward<A>(args)...);
    struct Ctx {
      void (*fn)(P...);
      const Params* params;
    } ctx{fn, &params};
    auto body = [](void* c) {
      const Ctx& x = *static_cast<const Ctx*>(c);
      Params own = *x.params;
      std::apply(x.fn, own);
    };
    launch_kernel(reinterpret_cast<const void*>(fn), name, grid, block, smem, stream, body, &ctx);
  }
};

template <class... P>
Launch<P...> make_launch(void (*fn)(P...), const char* name, dim3 grid, dim3 block, size_t smem = 0,
                         cudaStream_t stream = nullptr) {
  return {fn, name, grid, block, smem, stream};
}

}  // namespace ckf_emu
