// The CUDA runtime API of the emulator, minus memory (device_memory.cpp): one device, errors,
// streams and events (synchronous: work runs when it is enqueued), kernel attributes and launch
// validation. Definitions match the declarations of the real cuda_runtime_api.h.
#include <cuda_runtime.h>

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "tests/cuda_emu/runtime_state.h"

struct CUstream_st {
  unsigned flags;
};
struct CUevent_st {
  bool recorded = false;
  std::chrono::steady_clock::time_point when;
};

namespace ckf_emu {

namespace {

thread_local cudaError_t tl_last_error = cudaSuccess;
thread_local int tl_device = 0;

// Live streams and events, and the per-kernel dynamic shared memory opt-in.
struct Registry {
  std::mutex mu;
  std::set<const void*> streams, events;
  std::map<const void*, size_t> max_dynamic_shared;
};
Registry& registry() {
  static Registry r;
  return r;
}

bool stream_live(cudaStream_t s) {
  // The legacy default stream (0) and the two special handles always exist.
  if (s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread) return true;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.streams.count(s) > 0;
}

bool event_live(cudaEvent_t e) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.events.count(e) > 0;
}

}  // namespace

cudaError_t record_error(cudaError_t err) {
  if (err != cudaSuccess) tl_last_error = err;
  return err;
}

size_t shared_limit(const void* fn) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.max_dynamic_shared.find(fn);
  return it == r.max_dynamic_shared.end() ? kDefaultSharedBytes : std::max(kDefaultSharedBytes, it->second);
}

cudaError_t check_launch(dim3 grid, dim3 block, size_t dynamic_smem, size_t limit, cudaStream_t stream) {
  const unsigned g[3] = {grid.x, grid.y, grid.z}, b[3] = {block.x, block.y, block.z};
  for (int i = 0; i < 3; i++)
    if (g[i] == 0 || g[i] > kMaxGridDim[i] || b[i] == 0 || b[i] > kMaxBlockDim[i]) return cudaErrorInvalidConfiguration;
  if (static_cast<uint64_t>(block.x) * block.y * block.z > kMaxThreadsPerBlock) return cudaErrorInvalidConfiguration;
  if (dynamic_smem > limit) return cudaErrorInvalidValue;
  if (!stream_live(stream)) return cudaErrorInvalidResourceHandle;
  return cudaSuccess;
}

}  // namespace ckf_emu

using namespace ckf_emu;

cudaError_t cudaGetLastError() { return std::exchange(ckf_emu::tl_last_error, cudaSuccess); }
cudaError_t cudaPeekAtLastError() { return ckf_emu::tl_last_error; }

const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    default: return "cudaErrorUnknown";
  }
}

const char* cudaGetErrorString(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    default: return "unknown error (not emulated)";
  }
}

cudaError_t cudaRuntimeGetVersion(int* v) {
  if (!v) return record_error(cudaErrorInvalidValue);
  *v = CUDART_VERSION;
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* v) {
  if (!v) return record_error(cudaErrorInvalidValue);
  *v = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return record_error(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  if (device != 0) return record_error(cudaErrorInvalidDevice);
  tl_device = device;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  if (!device) return record_error(cudaErrorInvalidValue);
  *device = tl_device;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!prop) return record_error(cudaErrorInvalidValue);
  if (device != 0) return record_error(cudaErrorInvalidDevice);
  *prop = cudaDeviceProp{};
  std::strncpy(prop->name, kDeviceName, sizeof(prop->name) - 1);
  prop->totalGlobalMem = kTotalMemory;
  prop->sharedMemPerBlock = kDefaultSharedBytes;
  prop->sharedMemPerBlockOptin = kMaxOptinSharedBytes;
  prop->sharedMemPerMultiprocessor = 228 << 10;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = kMaxThreadsPerBlock;
  prop->maxThreadsPerMultiProcessor = 2048;
  for (int i = 0; i < 3; i++) {
    prop->maxThreadsDim[i] = static_cast<int>(kMaxBlockDim[i]);
    prop->maxGridSize[i] = static_cast<int>(kMaxGridDim[i]);
  }
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 132;
  prop->totalConstMem = 64 << 10;
  prop->l2CacheSize = 50 << 20;
  return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  if (!func) return record_error(cudaErrorInvalidDeviceFunction);
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaSuccess;  // others only tune
  if (value < 0 || static_cast<size_t>(value) > kMaxOptinSharedBytes) return record_error(cudaErrorInvalidValue);
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.max_dynamic_shared[func] = static_cast<size_t>(value);
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  if (!stream) return record_error(cudaErrorInvalidValue);
  *stream = new CUstream_st{flags};
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.streams.insert(*stream);
  return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (!r.streams.erase(stream)) return record_error(cudaErrorInvalidResourceHandle);
  delete stream;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  return stream_live(stream) ? cudaSuccess : record_error(cudaErrorInvalidResourceHandle);
}
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned) {
  if (!stream_live(stream) || !event_live(event)) return record_error(cudaErrorInvalidResourceHandle);
  return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned) {
  if (!event) return record_error(cudaErrorInvalidValue);
  *event = new CUevent_st;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.events.insert(*event);
  return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (!r.events.erase(event)) return record_error(cudaErrorInvalidResourceHandle);
  delete event;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event_live(event) || !stream_live(stream)) return record_error(cudaErrorInvalidResourceHandle);
  event->recorded = true;
  event->when = std::chrono::steady_clock::now();
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  return event_live(event) ? cudaSuccess : record_error(cudaErrorInvalidResourceHandle);
}
cudaError_t cudaEventQuery(cudaEvent_t event) {
  return event_live(event) ? cudaSuccess : record_error(cudaErrorInvalidResourceHandle);
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms) return record_error(cudaErrorInvalidValue);
  if (!event_live(start) || !event_live(end)) return record_error(cudaErrorInvalidResourceHandle);
  if (!start->recorded || !end->recorded) return record_error(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return cudaSuccess;
}
