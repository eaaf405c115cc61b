// Counter-based random numbers: every draw is a pure function of (seed, stream, index), so a
// dropout mask or an initialisation does not depend on the order in which rows are processed,
// and resuming from a checkpoint only needs the seed and the step.
#pragma once
#include <cstdint>

#include "core/hash.h"

namespace ckf {

// One SplitMix64 step: the golden-ratio increment, then the bijective finaliser.
constexpr uint64_t rng_mix(uint64_t x) { return splitmix64_finalize(x + 0x9E3779B97F4A7C15ull); }

// Uniform in [0, 1) with 24 random bits (exactly representable in float). constexpr (with rng_mix)
// so that CUDA kernels draw bit-identical values (kernels/cuda/lora_dropout.h).
constexpr float rng_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  uint64_t h = rng_mix(rng_mix(seed ^ rng_mix(stream)) + index);
  return static_cast<float>(h >> 40) * (1.0f / 16777216.0f);
}

// Fills x (n) uniformly in [lo, hi).
inline void rng_fill_uniform(float* x, int64_t n, float lo, float hi, uint64_t seed, uint64_t stream) {
  for (int64_t i = 0; i < n; ++i) x[i] = lo + (hi - lo) * rng_uniform(seed, stream, static_cast<uint64_t>(i));
}

}  // namespace ckf

namespace ckf {

// FNV-1a: a stable 64-bit hash of a name (std::hash differs between standard libraries), used to
// give each named adapter its own random stream.
inline uint64_t rng_hash_string(const char* s) { return fnv1a64(s, std::char_traits<char>::length(s)); }

}  // namespace ckf
