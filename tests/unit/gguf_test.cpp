// GGUF reader: metadata of every value type and dequantisation of every supported tensor type
// against golden values from the Python gguf package (tests/golden/make_gguf_golden.py), row and
// column slices against the full tensor, the real SmolLM2 file when present, and malformed files
// (each a mutated copy of the fixture) failing with an error naming the file and the field.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/check.h"
#include "io/gguf_file.h"
#include "model_path.h"

namespace ckf {
namespace {

const std::string kDir = std::string(CKF_TEST_DATA_DIR) + "/gguf/";

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

std::vector<float> read_f32(const std::string& path) {
  std::vector<char> b = read_bytes(path);
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

std::string write_temp(const std::string& name, const std::vector<char>& bytes) {
  std::string path = testing::TempDir() + name;
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// Byte position just past the first occurrence of `s` in `b`.
size_t after(const std::vector<char>& b, const std::string& s) {
  auto it = std::search(b.begin(), b.end(), s.begin(), s.end());
  EXPECT_NE(it, b.end()) << s;
  return static_cast<size_t>(it - b.begin()) + s.size();
}

template <class T> void poke(std::vector<char>& b, size_t pos, T v) { std::memcpy(b.data() + pos, &v, sizeof(T)); }

// Expects opening `bytes` (as a file named `name`) to fail with a message containing each of `parts`.
void expect_error(const std::string& name, const std::vector<char>& bytes, std::vector<std::string> parts) {
  std::string path = write_temp(name, bytes);
  try {
    GgufFile f(path);
    ADD_FAILURE() << name << ": opened without error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
  }
}

TEST(Gguf, MetadataOfEveryType) {
  GgufFile f(kDir + "types.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.get_int("test.u8"), 200);
  EXPECT_EQ(f.get_int("test.i8"), -100);
  EXPECT_EQ(f.get_int("test.u16"), 60000);
  EXPECT_EQ(f.get_int("test.i16"), -30000);
  EXPECT_EQ(f.get_int("test.u32"), 4000000000LL);
  EXPECT_EQ(f.get_int("test.i32"), -2000000000LL);
  EXPECT_EQ(f.get_float("test.f32"), 0.15625);
  EXPECT_EQ(f.find("test.bool")->kind, GgufValue::Kind::boolean);
  EXPECT_EQ(f.find("test.bool")->u, 1u);
  EXPECT_EQ(f.get_string("test.string"), "h\xc3\xa9llo gguf");
  EXPECT_EQ(f.find("test.u64")->u, 18000000000000000000ULL);
  EXPECT_EQ(f.get_int("test.i64"), -9000000000000000000LL);
  EXPECT_EQ(f.get_float("test.f64"), -2.718281828459045);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");

  const GgufValue& ai = *f.find("test.array_i32");
  ASSERT_EQ(ai.elem_kind, GgufValue::Kind::i32);
  ASSERT_EQ(ai.elems.size(), 3u);
  EXPECT_EQ(ai.elems[1].i, -2);
  const GgufValue& as = *f.find("test.array_str");
  ASSERT_EQ(as.elems.size(), 3u);
  EXPECT_EQ(as.elems[0].str, "a");
  EXPECT_EQ(as.elems[1].str, "");
  EXPECT_EQ(as.elems[2].str, "xyz");
  const GgufValue& an = *f.find("test.array_nested");
  ASSERT_EQ(an.elem_kind, GgufValue::Kind::array);
  ASSERT_EQ(an.elems.size(), 2u);
  ASSERT_EQ(an.elems[1].elems.size(), 3u);
  EXPECT_EQ(an.elems[1].elems[2].i, 5);

  EXPECT_THROW(f.get_int("test.string"), Error);
  EXPECT_THROW(f.get_string("no.such.key"), Error);
}

// Dequantised values equal gguf.quants.dequantize exactly up to f32 rounding (the same f16 scale
// times a small integer); tolerance 1e-6 relative.
TEST(Gguf, DequantiseEveryTypeMatchesPythonGguf) {
  GgufFile f(kDir + "types.gguf");
  std::vector<float> expected = read_f32(kDir + "types.expected.f32");
  const char* names[] = {"w.f32", "w.f16", "w.bf16", "w.q8_0", "w.q4_0", "w.q4_1", "w.q4_k", "w.q6_k", "w.vec"};
  ASSERT_EQ(f.tensors().size(), std::size(names));
  size_t at = 0;
  for (size_t k = 0; k < std::size(names); ++k) {
    const GgufTensorInfo& info = f.tensors()[k];
    EXPECT_EQ(info.name, names[k]);
    Tensor t = f.load(info.name);
    EXPECT_EQ(t.shape(), info.shape());
    ASSERT_LE(at + t.numel(), expected.size());
    const float* y = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i)
      ASSERT_NEAR(y[i], expected[at + i], 1e-6 * (1 + std::fabs(expected[at + i]))) << info.name << " element " << i;
    at += t.numel();
  }
  EXPECT_EQ(at, expected.size());
  EXPECT_EQ(f.tensor("w.q4_k").shape(), (Shape{3, 512}));
  EXPECT_EQ(f.tensor("w.vec").shape(), (Shape{11}));
}

// Row and column slices equal the same region of the full tensor, including column ranges that
// start and end inside a quantisation block.
TEST(Gguf, RowAndColumnSlicesMatchFullTensor) {
  GgufFile f(kDir + "types.gguf");
  for (const char* name : {"w.f16", "w.q4_0", "w.q4_k", "w.q6_k"}) {
    Tensor full = f.load(name);
    int64_t rows = full.dim(0), cols = full.dim(1);
    Tensor r = f.load_rows(name, 1, rows - 1);
    ASSERT_EQ(r.shape(), (Shape{rows - 2, cols}));
    for (int64_t i = 0; i < r.numel(); ++i) ASSERT_EQ(r.data<float>()[i], full.data<float>()[cols + i]) << name;
    for (auto [b, e] : {std::pair<int64_t, int64_t>{0, cols}, {3, cols - 2}, {cols / 2, cols / 2 + 1}}) {
      Tensor c = f.load_cols(name, b, e);
      ASSERT_EQ(c.shape(), (Shape{rows, e - b}));
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = b; j < e; ++j) ASSERT_EQ(c.data<float>()[i * (e - b) + j - b], full.data<float>()[i * cols + j]) << name;
    }
  }
  EXPECT_THROW(f.load_rows("w.q4_0", 2, 6), Error);
  EXPECT_THROW(f.load_cols("w.q4_0", 5, 4), Error);
  EXPECT_THROW(f.load("w.missing"), Error);
}

TEST(Gguf, Version2IsRead) {
  std::vector<char> b = read_bytes(kDir + "types.gguf");
  poke<uint32_t>(b, 4, 2);
  GgufFile f(write_temp("v2.gguf", b));
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.tensors().size(), 9u);
}

TEST(GgufMalformed, WrongMagic) {
  std::vector<char> b = read_bytes(kDir + "types.gguf");
  b[0] = 'X';
  expect_error("magic.gguf", b, {"magic"});
}

TEST(GgufMalformed, FutureVersion) {
  std::vector<char> b = read_bytes(kDir + "types.gguf");
  poke<uint32_t>(b, 4, 4);
  expect_error("version.gguf", b, {"version", "4"});
}

TEST(GgufMalformed, Truncated) {
  std::vector<char> b = read_bytes(kDir + "types.gguf");
  for (size_t n : {size_t(0), size_t(3), size_t(20), size_t(300), b.size() / 2}) {
    std::vector<char> cut(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
    std::string path = write_temp("trunc.gguf", cut);
    EXPECT_THROW(GgufFile{path}, Error) << n << " bytes";
  }
  // The file ends with w.vec's 44 data bytes and 20 bytes of padding to the 64-byte alignment.
  std::vector<char> cut(b.begin(), b.end() - 21);
  expect_error("trunc_data.gguf", cut, {"tensor 'w.vec'", "past end of file"});
}

TEST(GgufMalformed, AbsurdCounts) {
  std::vector<char> b = read_bytes(kDir + "types.gguf");
  std::vector<char> kv = b;
  poke<uint64_t>(kv, 16, uint64_t(1) << 60);
  expect_error("kv_count.gguf", kv, {"kv_count"});
  std::vector<char> tc = b;
  poke<uint64_t>(tc, 8, uint64_t(1) << 60);
  expect_error("tensor_count.gguf", tc, {"tensor_count"});
  // test.array_str: key, u32 type 9, u32 element type 8, u64 count.
  std::vector<char> arr = b;
  poke<uint64_t>(arr, after(arr, "test.array_str") + 8, uint64_t(1) << 60);
  expect_error("array.gguf", arr, {"test.array_str", "count"});
  std::vector<char> str = b;
  poke<uint64_t>(str, after(str, "test.string") + 4, uint64_t(1) << 62);
  expect_error("string.gguf", str, {"test.string"});
}

// Tensor info: name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset.
TEST(GgufMalformed, TensorInfoFields) {
  std::vector<char> b = read_bytes(kDir + "types.gguf");
  std::vector<char> off = b;
  poke<uint64_t>(off, after(off, "w.vec") + 4 + 8 + 4, 1 << 20);
  expect_error("offset.gguf", off, {"tensor 'w.vec'", "data offset 1048576", "past end of file"});
  std::vector<char> dims = b;
  poke<uint64_t>(dims, after(dims, "w.q4_k") + 4 + 8, uint64_t(1) << 62);
  expect_error("dims.gguf", dims, {"tensor 'w.q4_k'"});
  std::vector<char> ndims = b;
  poke<uint32_t>(ndims, after(ndims, "w.f32"), 9);
  expect_error("ndims.gguf", ndims, {"tensor 'w.f32'", "n_dims 9"});
  std::vector<char> type = b;
  poke<uint32_t>(type, after(type, "w.f32") + 4 + 16, 99);
  expect_error("type.gguf", type, {"tensor 'w.f32'", "ggml type 99 (unknown)"});
  poke<uint32_t>(type, after(type, "w.f32") + 4 + 16, 13);
  expect_error("q5k.gguf", type, {"tensor 'w.f32'", "ggml type 13 (Q5_K) is not supported"});
  std::vector<char> block = b;  // Q8_0 row length 64 -> 48, not a multiple of 32
  poke<uint64_t>(block, after(block, "w.q8_0") + 4, 48);
  expect_error("block.gguf", block, {"tensor 'w.q8_0'", "block size"});
}

TEST(GgufMalformed, UnknownValueTypeAndBadBool) {
  std::vector<char> b = read_bytes(kDir + "types.gguf");
  std::vector<char> kind = b;
  poke<uint32_t>(kind, after(kind, "test.u8"), 77);
  expect_error("kind.gguf", kind, {"test.u8", "unknown metadata value type 77"});
  std::vector<char> boolean = b;
  boolean[after(boolean, "test.bool") + 4] = 7;
  expect_error("bool.gguf", boolean, {"test.bool"});
}

// Hand-built headers: arrays nested deeper than the reader allows, and a string array whose count
// claims 2^60 elements, fail cleanly instead of overflowing the stack or allocating.
template <class T> void append(std::vector<char>& b, T v) {
  const char* p = reinterpret_cast<const char*>(&v);
  b.insert(b.end(), p, p + sizeof(T));
}

// Header of a version-3 file with no tensors and one metadata key "key", up to its value.
std::vector<char> one_key_header() {
  std::vector<char> b = {'G', 'G', 'U', 'F'};
  append(b, uint32_t(3)), append(b, uint64_t(0)), append(b, uint64_t(1)), append(b, uint64_t(3));
  b.insert(b.end(), {'k', 'e', 'y'});
  return b;
}

TEST(GgufMalformed, NestedArraysAndHugeCountsInTinyFiles) {
  std::vector<char> deep = one_key_header();
  append(deep, uint32_t(9));  // the value: an array of one array of one array ...
  for (int d = 0; d < 1000; ++d) append(deep, uint32_t(9)), append(deep, uint64_t(1));
  append(deep, uint32_t(4)), append(deep, uint64_t(1)), append(deep, uint32_t(7));
  expect_error("deep.gguf", deep, {"metadata 'key'", "nested deeper"});

  std::vector<char> huge = one_key_header();
  append(huge, uint32_t(9)), append(huge, uint32_t(8)), append(huge, uint64_t(1) << 60);
  for (int i = 0; i < 64; ++i) append(huge, uint64_t(0));  // a few empty strings follow
  expect_error("huge.gguf", huge, {"metadata 'key'", "array count 1152921504606846976 of string"});
}

// The embedded SmolLM2-135M model (Q4_1 with a Q8_0 embedding): metadata and dequantised rows
// against gguf's Python dequantize (golden smollm2_rows.f32; rows as in make_gguf_golden.py).
TEST(GgufModel, SmolLM2MetadataAndRows) {
  std::string path = test_model_gguf_path();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "model file " << path << " not present (cluster/setup-model.sh fetches it)";
  GgufFile f(path);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_int("llama.block_count"), 30);
  EXPECT_EQ(f.get_int("llama.embedding_length"), 576);
  EXPECT_EQ(f.get_int("llama.attention.head_count_kv"), 3);
  EXPECT_FLOAT_EQ(static_cast<float>(f.get_float("llama.rope.freq_base")), 100000.0f);
  EXPECT_EQ(f.find("tokenizer.ggml.tokens")->elems.size(), 49152u);
  EXPECT_EQ(f.tensors().size(), 272u);

  std::vector<float> expected = read_f32(kDir + "smollm2_rows.f32");
  const std::vector<std::pair<std::string, std::vector<int64_t>>> rows = {
      {"token_embd.weight", {0, 1, 49151}}, {"blk.0.attn_q.weight", {0, 575}},
      {"blk.29.ffn_down.weight", {3}}, {"output_norm.weight", {0}}};
  size_t at = 0;
  for (const auto& [name, idx] : rows) {
    for (int64_t r : idx) {
      Tensor t = f.load_rows(name, r, r + 1);
      ASSERT_LE(at + t.numel(), expected.size());
      for (int64_t i = 0; i < t.numel(); ++i)
        ASSERT_NEAR(t.data<float>()[i], expected[at + i], 1e-6 * (1 + std::fabs(expected[at + i]))) << name << " row " << r;
      at += t.numel();
    }
  }
  EXPECT_EQ(at, expected.size());
}

}  // namespace
}  // namespace ckf
