// safetensors writer: round trip through io/safetensors.h (names, order, shapes incl. rank 0 and
// odd sizes, exact values, metadata, 8-byte aligned data section), and invalid input refused
// with the file and tensor named, leaving no file behind.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "core/rng.h"
#include "io/safetensors.h"
#include "io/safetensors_write.h"
#include "test_util.h"

namespace ckf {
namespace {

Tensor random_tensor(const Shape& shape, uint64_t stream) {
  Tensor t = Tensor::empty(shape);
  rng_fill_uniform(t.data<float>(), t.numel(), -3.0f, 3.0f, 11, stream);
  return t;
}

TEST(SafetensorsWrite, RoundTrip) {
  const std::string path = testing::TempDir() + "st_write_roundtrip.safetensors";
  const std::vector<SafetensorsEntry> in = {{"b.weight", random_tensor({3, 5}, 1)},
                                            {"a", random_tensor({7}, 2)},
                                            {"scalar", random_tensor({}, 3)},
                                            {"cube", random_tensor({2, 1, 3}, 4)}};
  safetensors_write(path, in, {{"format", "pt"}, {"note", "x\"y"}});
  const SafetensorsFile f(path);
  ASSERT_EQ(f.tensors().size(), in.size());
  for (size_t k = 0; k < in.size(); ++k) {
    EXPECT_EQ(f.tensors()[k].name, in[k].name);
    EXPECT_EQ(f.tensors()[k].dtype, "F32");
    const Tensor t = f.load(in[k].name);
    ASSERT_EQ(t.shape(), in[k].tensor.shape()) << in[k].name;
    EXPECT_EQ(std::memcmp(t.raw(), in[k].tensor.raw(), t.nbytes()), 0) << in[k].name;
  }
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("note"), "x\"y");
  std::ifstream raw(path, std::ios::binary);
  uint64_t n = 0;
  raw.read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ(n % 8, 0u);
}

void expect_refused(const std::vector<SafetensorsEntry>& in, const std::string& part) {
  const std::string path = testing::TempDir() + "st_write_bad.safetensors";
  std::filesystem::remove(path);
  const std::string msg = error_of([&] { safetensors_write(path, in); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find(part), std::string::npos) << "missing '" << part << "' in: " << msg;
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(SafetensorsWrite, RefusesInvalidInput) {
  Tensor nan = random_tensor({2, 3}, 5);
  nan.data<float>()[4] = std::nanf("");
  expect_refused({{"ok", random_tensor({2}, 6)}, {"bad", nan}}, "'bad'");
  expect_refused({{"x", random_tensor({2}, 7)}, {"x", random_tensor({3}, 8)}}, "'x' given twice");
  expect_refused({{"", random_tensor({2}, 9)}}, "empty name");
  expect_refused({{"__metadata__", random_tensor({2}, 10)}}, "reserved");
  expect_refused({{"ints", Tensor::zeros({2}, DType::i32)}}, "only f32");
}

}  // namespace
}  // namespace ckf
