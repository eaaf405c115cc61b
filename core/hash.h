// Stable hashes and bit mixers: the same value on every host and standard library (std::hash is
// not), so identities stored in files and random streams derived from seeds stay reproducible.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace ckf {

inline constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;  // FNV-1a 64 offset basis
inline constexpr uint64_t kFnvPrime = 0x100000001b3ull;

// FNV-1a 64 of n bytes, continuing from h.
inline uint64_t fnv1a64(const void* data, size_t n, uint64_t h = kFnvOffset) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * kFnvPrime;
  return h;
}

// FNV-1a over a sequence of fields: strings are length-prefixed (so concatenations cannot
// collide) and integers little-endian (so the hash is host-independent).
struct Fnv1a64Stream {
  uint64_t h = kFnvOffset;
  void bytes(std::string_view s) { h = fnv1a64(s.data(), s.size(), h); }
  void str(std::string_view s) {
    integer(static_cast<int64_t>(s.size()));
    bytes(s);
  }
  void integer(int64_t v) {
    for (int i = 0; i < 8; ++i) h = (h ^ static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i))) * kFnvPrime;
  }
};

inline std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// SplitMix64 output function (Steele, Lea, Flood 2014): a bijective 64-bit mix. constexpr so that
// CUDA kernels (built with --expt-relaxed-constexpr) draw the same dropout masks as the CPU.
constexpr uint64_t splitmix64_finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace ckf
