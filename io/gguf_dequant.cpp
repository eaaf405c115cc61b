#include "io/gguf_dequant.h"

#include <cstring>
#include <iterator>

#include "core/check.h"
#include "core/half.h"

namespace ckf {
namespace {

// Block layouts (ggml-common.h). Fields are read with memcpy: blocks are packed, unaligned bytes.
constexpr int64_t kQK = 32;    // elements per Q4_0 / Q4_1 / Q8_0 block
constexpr int64_t kQKK = 256;  // elements per K-quant super-block

float read_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// Q8_0: f16 scale d, 32 x int8 q; x = d * q.
void dequant_q8_0(const uint8_t* b, float* y) {
  float d = read_f16(b);
  const int8_t* q = reinterpret_cast<const int8_t*>(b + 2);
  for (int64_t j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(q[j]);
}

// Q4_0 / Q4_1: f16 d, (Q4_1: f16 min m), 16 bytes of nibbles; low nibbles are elements 0..15,
// high nibbles 16..31. Q4_0: x = d * (q - 8); Q4_1: x = d * q + m.
void dequant_q4(const uint8_t* qs, float d, float m, float offset, float* y) {
  for (int64_t j = 0; j < kQK / 2; ++j) {
    y[j] = d * (static_cast<float>(qs[j] & 0x0f) - offset) + m;
    y[j + kQK / 2] = d * (static_cast<float>(qs[j] >> 4) - offset) + m;
  }
}

// Q4_K scales: 12 bytes packing 8 six-bit (scale, min) pairs, one per 32-element sub-block.
// Pairs 0..3 sit in the low 6 bits of bytes 0..3 (scale) and 4..7 (min); pairs 4..7 take their low
// 4 bits from bytes 8..11 and their top 2 bits from the spare high bits of bytes 0..7.
void q4_k_scale_min(int j, const uint8_t* s, uint8_t* sc, uint8_t* mn) {
  if (j < 4) {
    *sc = s[j] & 63;
    *mn = s[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4));
    *mn = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// Q4_K super-block: f16 d, f16 dmin, 12 scale bytes, 128 nibble bytes. Each 64 elements use 32
// nibble bytes: low nibbles are the first 32, high nibbles the next 32; x = d*sc*q - dmin*min.
void dequant_q4_k(const uint8_t* b, float* y) {
  float d = read_f16(b), dmin = read_f16(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  for (int sub = 0; sub < 8; sub += 2) {
    uint8_t sc0, m0, sc1, m1;
    q4_k_scale_min(sub, scales, &sc0, &m0);
    q4_k_scale_min(sub + 1, scales, &sc1, &m1);
    float d0 = d * sc0, min0 = dmin * m0, d1 = d * sc1, min1 = dmin * m1;
    for (int l = 0; l < 32; ++l) y[l] = d0 * static_cast<float>(q[l] & 0x0f) - min0;
    for (int l = 0; l < 32; ++l) y[l + 32] = d1 * static_cast<float>(q[l] >> 4) - min1;
    q += 32;
    y += 64;
  }
}

// Q6_K super-block: 128 bytes low nibbles (ql), 64 bytes of 2-bit high parts (qh), 16 int8
// scales, f16 d. Each half of 128 elements uses 64 ql bytes, 32 qh bytes and 8 scales; the four
// 32-element quarters take ql low/high nibbles of bytes l and l+32 and bit pairs 0..3 of qh[l].
// x = d * scale[sub-block of 16] * (q - 32).
void dequant_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  float d = read_f16(b + 208);
  for (int half = 0; half < 2; ++half) {
    for (int l = 0; l < 32; ++l) {
      int is = l / 16;
      int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
      int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
      int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

}  // namespace

const GgmlTypeInfo* ggml_type_info(uint32_t type) {
  static const GgmlTypeInfo f32{"F32", 1, 4}, f16{"F16", 1, 2}, bf16{"BF16", 1, 2},
      q4_0{"Q4_0", kQK, 2 + kQK / 2}, q4_1{"Q4_1", kQK, 4 + kQK / 2}, q8_0{"Q8_0", kQK, 2 + kQK},
      q4_k{"Q4_K", kQKK, 4 + 12 + kQKK / 2}, q6_k{"Q6_K", kQKK, kQKK / 2 + kQKK / 4 + kQKK / 16 + 2};
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::f32: return &f32;
    case GgmlType::f16: return &f16;
    case GgmlType::bf16: return &bf16;
    case GgmlType::q4_0: return &q4_0;
    case GgmlType::q4_1: return &q4_1;
    case GgmlType::q8_0: return &q8_0;
    case GgmlType::q4_k: return &q4_k;
    case GgmlType::q6_k: return &q6_k;
  }
  return nullptr;
}

const char* ggml_type_name(uint32_t type) {
  // ggml's enum ggml_type in id order; ids 4 and 5 (Q4_2, Q4_3) were removed.
  static const char* names[] = {"F32",     "F16",     "Q4_0", "Q4_1", "(removed)", "(removed)", "Q5_0", "Q5_1",
                                "Q8_0",    "Q8_1",    "Q2_K", "Q3_K", "Q4_K",      "Q5_K",      "Q6_K", "Q8_K",
                                "IQ2_XXS", "IQ2_XS",  "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S",    "IQ2_S", "IQ4_XS",
                                "I8",      "I16",     "I32",  "I64",  "F64",       "IQ1_M",     "BF16"};
  return type < std::size(names) ? names[type] : "unknown";
}

void ggml_dequantize(GgmlType type, const uint8_t* src, float* dst, int64_t n_blocks) {
  const GgmlTypeInfo* info = ggml_type_info(static_cast<uint32_t>(type));
  CKF_CHECK(info != nullptr, "ggml_dequantize: unsupported type " << static_cast<uint32_t>(type));
  // Plain float types are converted in bulk; quantised types block by block.
  if (type == GgmlType::f32) {
    std::memcpy(dst, src, static_cast<size_t>(n_blocks) * 4);
    return;
  }
  if (type == GgmlType::f16 || type == GgmlType::bf16) {
    for (int64_t i = 0; i < n_blocks; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      dst[i] = type == GgmlType::f16 ? f16_to_f32(h) : bf16_to_f32(h);
    }
    return;
  }
  for (int64_t i = 0; i < n_blocks; ++i) {
    const uint8_t* b = src + i * static_cast<int64_t>(info->block_bytes);
    float* y = dst + i * info->block_size;
    switch (type) {
      case GgmlType::q8_0: dequant_q8_0(b, y); break;
      case GgmlType::q4_0: dequant_q4(b + 2, read_f16(b), 0.0f, 8.0f, y); break;
      case GgmlType::q4_1: dequant_q4(b + 4, read_f16(b), read_f16(b + 2), 0.0f, y); break;
      case GgmlType::q4_k: dequant_q4_k(b, y); break;
      case GgmlType::q6_k: dequant_q6_k(b, y); break;
      default: CKF_FAIL("ggml_dequantize: unhandled type " << info->name);
    }
  }
}

}  // namespace ckf
