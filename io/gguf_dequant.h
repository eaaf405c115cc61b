// ggml tensor element types that occur in LLaMA-family GGUF files, and their dequantisation to
// f32. Quantised types store a row as consecutive blocks of `block_size` elements, each block
// `block_bytes` long; a row's length is always a whole number of blocks.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ckf {

// Numeric ids as written in GGUF tensor infos (ggml's enum ggml_type).
enum class GgmlType : uint32_t { f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 8, q4_k = 12, q6_k = 14, bf16 = 30 };

struct GgmlTypeInfo {
  const char* name;
  int64_t block_size;  // elements per block (1 for plain floats)
  size_t block_bytes;  // bytes per block
};

// Layout of a type id read from a file; null when the id is not one ckf can dequantise.
const GgmlTypeInfo* ggml_type_info(uint32_t type);

// ggml's name for any type id ("Q5_K", "IQ2_XS", ...), so errors about types ckf cannot
// dequantise say which one the file holds; "unknown" past the known ids.
const char* ggml_type_name(uint32_t type);

// Dequantises n_blocks consecutive blocks of `type` from src into dst (n_blocks * block_size floats).
void ggml_dequantize(GgmlType type, const uint8_t* src, float* dst, int64_t n_blocks);

}  // namespace ckf
