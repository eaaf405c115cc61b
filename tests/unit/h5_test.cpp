// io/h5.h, the one HDF5 layer: round trips of every element type in both layouts (odd shapes,
// random values), the stored layout and types as the raw HDF5 C API sees them, the encodings
// earlier ckf builds wrote (null dataspaces, one-element integer attributes, ASCII and
// variable-length strings) written here with the C API and read back, and errors that name the
// file, the dataset or attribute and the HDF5 call.
#include "io/h5.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "test_util.h"

using namespace ckf;
namespace fs = std::filesystem;

namespace {

fs::path temp_file(const std::string& name) {
  fs::path dir = fs::path(testing::TempDir()) / ("ckf_h5_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

template <class T>
std::vector<T> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<T> v(n);
  for (T& x : v) {
    if constexpr (std::is_floating_point_v<T>) x = T(std::normal_distribution<double>(0.0, 3.0)(rng));
    else x = T(rng());
  }
  return v;
}

template <class T>
void round_trip(H5Layout layout, uint32_t seed) {
  for (std::vector<int64_t> dims : {std::vector<int64_t>{7}, {3, 5}, {2, 3, 11}, {1, 1}, {0}, {0, 4}}) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    const std::vector<T> v = random_values<T>(size_t(n), seed++);
    const fs::path p = temp_file("rt.h5");
    {
      H5File f = H5File::create(p);
      f.write("g/sub/x", v, dims, layout);
      f.close();
    }
    H5File f = H5File::open(p);
    EXPECT_EQ(f.shape("g/sub/x"), dims);
    EXPECT_EQ(f.read<T>("g/sub/x", int(dims.size())), v);
  }
}

// Layout of a dataset as HDF5 stores it, and whether deflate is among its filters.
std::pair<H5D_layout_t, bool> stored_layout(const fs::path& p, const char* name) {
  hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
  hid_t dcpl = H5Dget_create_plist(ds);
  H5D_layout_t layout = H5Pget_layout(dcpl);
  bool deflate = false;
  for (int k = 0; k < H5Pget_nfilters(dcpl); ++k) {
    unsigned flags = 0, cd[8];
    size_t n = 8;
    deflate |= H5Pget_filter2(dcpl, unsigned(k), &flags, &n, cd, 0, nullptr, nullptr) == H5Z_FILTER_DEFLATE;
  }
  H5Pclose(dcpl), H5Dclose(ds), H5Fclose(f);
  return {layout, deflate};
}

}  // namespace

TEST(H5File, RoundTripsEveryTypeInBothLayouts) {
  for (H5Layout layout : {H5Layout::chunked, H5Layout::contiguous}) {
    round_trip<int8_t>(layout, 1);
    round_trip<uint8_t>(layout, 2);
    round_trip<int32_t>(layout, 3);
    round_trip<int64_t>(layout, 4);
    round_trip<float>(layout, 5);
    round_trip<double>(layout, 6);
  }
}

TEST(H5File, ScalarsStringsAttributesAndGroups) {
  const fs::path p = temp_file("misc.h5");
  const std::vector<std::string> strings = {"", "Film 1 (1991)", "caf\xc3\xa9", std::string(300, 'x')};
  {
    H5File f = H5File::create(p);
    const float pi = 3.25f;
    f.write("param/scalar", std::span<const float>(&pi, 1), {}, H5Layout::contiguous);
    f.write_strings("items/title", strings);
    f.write("param/b", std::vector<int64_t>{4, -5});
    f.set_attr("name", std::string("caf\xc3\xa9"));
    f.set_attr("empty", std::string());
    f.set_attr("step", int64_t{-42});
    f.set_attr("global_shape", std::vector<int64_t>{32, 7, 5}, "param/b");
    f.set_attr("none", std::vector<int64_t>{}, "param/b");
    f.close();
  }
  H5File f = H5File::open(p);
  EXPECT_EQ(f.shape("param/scalar"), std::vector<int64_t>{});
  EXPECT_EQ(f.read<float>("param/scalar", 0), std::vector<float>{3.25f});
  EXPECT_EQ(f.read_strings("items/title"), strings);
  EXPECT_EQ(f.attr_string("name"), "caf\xc3\xa9");
  EXPECT_EQ(f.attr_string("empty"), "");
  EXPECT_EQ(f.attr_int("step"), -42);
  EXPECT_EQ(f.attr_ints("global_shape", "param/b"), (std::vector<int64_t>{32, 7, 5}));
  EXPECT_EQ(f.attr_ints("none", "param/b"), std::vector<int64_t>{});
  EXPECT_EQ(f.list("param"), (std::vector<std::string>{"b", "scalar"}));
  EXPECT_EQ(f.list("absent"), std::vector<std::string>{});
  EXPECT_TRUE(f.has("items/title/bytes"));
  EXPECT_FALSE(f.has("items/nothing/bytes"));
}

TEST(H5File, LayoutIsWhatTheCallerAsked) {
  const fs::path p = temp_file("layout.h5");
  {
    H5File f = H5File::create(p);
    f.write("chunked", random_values<int32_t>(1000, 7), {100, 10}, H5Layout::chunked);
    f.write("contiguous", random_values<float>(1000, 8), {100, 10}, H5Layout::contiguous);
    f.close();
  }
  EXPECT_EQ(stored_layout(p, "chunked"), std::make_pair(H5D_CHUNKED, true));
  EXPECT_EQ(stored_layout(p, "contiguous"), std::make_pair(H5D_CONTIGUOUS, false));
}

// Files of earlier ckf builds: checkpoints stored empty vectors with a null dataspace, single
// integers as one-element arrays and strings as ASCII; h5py writes variable-length strings.
TEST(H5File, ReadsTheEncodingsOfEarlierFiles) {
  const fs::path p = temp_file("old.h5");
  hid_t f = H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t null_space = H5Screate(H5S_NULL);
  hid_t ds = H5Dcreate2(f, "data_cursor", H5T_NATIVE_INT64, null_space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose(ds);
  const hsize_t one = 1;
  hid_t one_space = H5Screate_simple(1, &one, nullptr);
  const int64_t step = 1234567890123;
  hid_t a = H5Acreate2(f, "step", H5T_NATIVE_INT64, one_space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_INT64, &step);
  H5Aclose(a);
  hid_t scalar = H5Screate(H5S_SCALAR);
  hid_t ascii = H5Tcopy(H5T_C_S1);
  H5Tset_size(ascii, 5);
  H5Tset_strpad(ascii, H5T_STR_NULLPAD);
  a = H5Acreate2(f, "kind", ascii, scalar, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, ascii, "shard");
  H5Aclose(a);
  hid_t vlen = H5Tcopy(H5T_C_S1);
  H5Tset_size(vlen, H5T_VARIABLE);
  H5Tset_cset(vlen, H5T_CSET_UTF8);
  const char* text = "lightgcn \xe2\x9c\x93";
  a = H5Acreate2(f, "model", vlen, scalar, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, vlen, &text);
  H5Aclose(a);
  H5Tclose(vlen), H5Tclose(ascii), H5Sclose(scalar), H5Sclose(one_space), H5Sclose(null_space), H5Fclose(f);

  H5File r = H5File::open(p);
  EXPECT_EQ(r.shape("data_cursor"), std::vector<int64_t>{0});
  EXPECT_EQ(r.read<int64_t>("data_cursor"), std::vector<int64_t>{});
  EXPECT_EQ(r.attr_int("step"), step);
  EXPECT_EQ(r.attr_string("kind"), "shard");
  EXPECT_EQ(r.attr_string("model"), text);
}

TEST(H5File, ErrorsNameTheFileTheObjectAndTheCall) {
  const fs::path p = temp_file("err.h5");
  {
    H5File f = H5File::create(p);
    f.write("x", std::vector<int32_t>{1, 2, 3});
    f.set_attr("ckf_schema", std::string("catalog"));
    f.set_attr("schema_version", int64_t{3});
    f.set_attr("pair", std::vector<int64_t>{1, 2});
    std::string e = error_of([&] { f.write("x", std::vector<int32_t>{4}); });
    EXPECT_NE(e.find(p.string() + ": H5Dcreate2 of dataset 'x' failed"), std::string::npos) << e;
    e = error_of([&] { f.write("y", std::vector<int32_t>{4, 5, 6}, {2, 2}); });
    EXPECT_NE(e.find("dataset 'y': 2-d shape does not hold 3 values"), std::string::npos) << e;
    f.close();
  }
  H5File f = H5File::open(p);
  std::string e = error_of([&] { f.read<float>("x"); });
  EXPECT_NE(e.find(p.string() + ": dataset 'x' is not float32"), std::string::npos) << e;
  e = error_of([&] { f.read<int32_t>("x", 2); });
  EXPECT_NE(e.find("dataset 'x' has rank 1, expected 2"), std::string::npos) << e;
  e = error_of([&] { f.read<int32_t>("g/missing"); });
  EXPECT_NE(e.find(p.string() + ": missing dataset 'g/missing'"), std::string::npos) << e;
  e = error_of([&] { f.attr_int("nope", "x"); });
  EXPECT_NE(e.find("missing attribute 'nope' of 'x'"), std::string::npos) << e;
  e = error_of([&] { f.attr_int("ckf_schema"); });
  EXPECT_NE(e.find("attribute 'ckf_schema' is not an integer"), std::string::npos) << e;
  e = error_of([&] { f.attr_int("pair"); });
  EXPECT_NE(e.find("attribute 'pair' has 2 values, expected 1"), std::string::npos) << e;

  e = error_of([&] { H5File::open(p, "shard", 2); });
  EXPECT_NE(e.find("is a ckf 'catalog' file, expected 'shard'"), std::string::npos) << e;
  e = error_of([&] { H5File::open(p, "catalog", 2); });
  EXPECT_NE(e.find("catalog schema_version 3 is newer than this build reads (2)"), std::string::npos) << e;
  e = error_of([&] { H5File::open(temp_file("absent.h5")); });
  EXPECT_NE(e.find("absent.h5: no such file"), std::string::npos) << e;
  const fs::path text = temp_file("text.h5");
  std::ofstream(text) << "user,item\n";
  e = error_of([&] { H5File::open(text); });
  EXPECT_NE(e.find("text.h5: not an HDF5 file (H5Fis_hdf5"), std::string::npos) << e;
  e = error_of([&] { H5File::create(temp_file("no/such/dir.h5")); });
  EXPECT_NE(e.find("dir.h5: H5Fcreate failed"), std::string::npos) << e;
}
