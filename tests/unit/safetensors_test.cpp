// safetensors reader: hand-built files with known values (F32/F16/BF16, exact conversions) and
// malformed headers, each failing with an error naming the file and the field.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/check.h"
#include "core/half.h"
#include "io/safetensors.h"

namespace ckf {
namespace {

// Writes u64 header length, the header JSON and `data` to a temp file; returns its path.
std::string write_st(const std::string& name, const std::string& header, const std::string& data) {
  std::string path = testing::TempDir() + name;
  std::ofstream out(path, std::ios::binary);
  uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
  return path;
}

template <class T> std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

void expect_error(const std::string& path, std::vector<std::string> parts) {
  try {
    SafetensorsFile f(path);
    ADD_FAILURE() << path << ": opened without error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
  }
}

// a: F32 (3, 5) at [0, 60); b: F16 (2, 3) at [60, 72); c: BF16 (4) at [72, 80).
struct Fixture {
  std::vector<float> a, b, c;  // the values as f32 (b, c exactly representable)
  std::string path;
};

Fixture make_fixture() {
  Fixture fx;
  std::vector<uint16_t> b16, c16;
  for (int i = 0; i < 15; ++i) fx.a.push_back(0.37f * i - 2.1f + 1e-3f * i * i);
  for (int i = 0; i < 6; ++i) { b16.push_back(f32_to_f16(0.75f * i - 1.9f)); fx.b.push_back(f16_to_f32(b16.back())); }
  for (int i = 0; i < 4; ++i) { c16.push_back(f32_to_bf16(3.3f * i - 4.7f)); fx.c.push_back(bf16_to_f32(c16.back())); }
  std::string header = R"({"__metadata__":{"format":"pt"},)"
                       R"("a":{"dtype":"F32","shape":[3,5],"data_offsets":[0,60]},)"
                       R"("b":{"dtype":"F16","shape":[2,3],"data_offsets":[60,72]},)"
                       R"("c":{"dtype":"BF16","shape":[4],"data_offsets":[72,80]}})";
  fx.path = write_st("ok.safetensors", header, bytes_of(fx.a) + bytes_of(b16) + bytes_of(c16));
  return fx;
}

TEST(Safetensors, LoadsF32F16BF16AndSlices) {
  Fixture fx = make_fixture();
  SafetensorsFile f(fx.path);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  ASSERT_EQ(f.tensors().size(), 3u);
  Tensor a = f.load("a"), b = f.load("b"), c = f.load("c");
  EXPECT_EQ(a.shape(), (Shape{3, 5}));
  EXPECT_EQ(c.shape(), (Shape{4}));
  for (int i = 0; i < 15; ++i) EXPECT_EQ(a.data<float>()[i], fx.a[i]);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(b.data<float>()[i], fx.b[i]);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(c.data<float>()[i], fx.c[i]);
  Tensor rows = f.load_rows("a", 1, 3);
  ASSERT_EQ(rows.shape(), (Shape{2, 5}));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(rows.data<float>()[i], fx.a[5 + i]);
  Tensor cols = f.load_cols("b", 1, 3);
  ASSERT_EQ(cols.shape(), (Shape{2, 2}));
  EXPECT_EQ(cols.data<float>()[0], fx.b[1]);
  EXPECT_EQ(cols.data<float>()[3], fx.b[5]);
  EXPECT_THROW(f.load_rows("a", 2, 4), Error);
  EXPECT_THROW(f.load_cols("c", 0, 1), Error);
  EXPECT_THROW(f.load("zz"), Error);
}

TEST(SafetensorsMalformed, TooShortAndHeaderLengthPastEnd) {
  std::string path = testing::TempDir() + "short.safetensors";
  std::ofstream(path, std::ios::binary) << "abc";
  expect_error(path, {"header length"});
  std::string p2 = testing::TempDir() + "hlen.safetensors";
  {
    std::ofstream out(p2, std::ios::binary);
    uint64_t n = uint64_t(1) << 62;
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << "{}";
  }
  expect_error(p2, {"header length 4611686018427387904 past end of file"});
}

TEST(SafetensorsMalformed, TruncatedData) {
  Fixture fx = make_fixture();
  std::ifstream in(fx.path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  std::string path = testing::TempDir() + "trunc.safetensors";
  std::ofstream(path, std::ios::binary) << all.substr(0, all.size() - 3);
  expect_error(path, {"tensor 'c'", "data_offsets [72, 80)"});
}

TEST(SafetensorsMalformed, BadJson) {
  expect_error(write_st("json.safetensors", R"({"a":{"dtype":"F32",)", ""), {"header", "JSON"});
  expect_error(write_st("notobj.safetensors", "[1,2]", ""), {"not a JSON object"});
}

TEST(SafetensorsMalformed, EntryFields) {
  std::string data(16, '\0');
  expect_error(write_st("past.safetensors", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})", data),
               {"tensor 'a'", "data_offsets [8, 24)"});
  expect_error(write_st("span.safetensors", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", data),
               {"tensor 'a'", "needs 12 bytes", "span 16"});
  expect_error(write_st("overlap.safetensors",
                        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[4],"data_offsets":[4,12]}})", data),
               {"tensor 'b'", "overlap"});
  expect_error(write_st("dtype.safetensors", R"({"a":{"dtype":"F33","shape":[4],"data_offsets":[0,16]}})", data),
               {"tensor 'a'", "unknown dtype 'F33'"});
  expect_error(write_st("dims.safetensors",
                        R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}})", data),
               {"tensor 'a'", "larger than the file"});
  expect_error(write_st("neg.safetensors", R"({"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", data),
               {"tensor 'a' shape"});
  expect_error(write_st("noff.safetensors", R"({"a":{"dtype":"F32","shape":[4]}})", data), {"tensor 'a'", "data_offsets"});
  std::string i64 = write_st("i64.safetensors", R"({"a":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})", data);
  SafetensorsFile f(i64);
  EXPECT_THROW(f.load("a"), Error);
}

}  // namespace
}  // namespace ckf
