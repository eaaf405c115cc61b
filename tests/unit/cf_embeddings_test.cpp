// CF embeddings file: round trip of values and attributes, and clear errors for a missing file,
// a truncated file, a foreign schema, a future schema version and inconsistent shapes. The bad
// files are made by editing a good one with the HDF5 C API directly.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/cf_embeddings.h"

using namespace ckf;
namespace fs = std::filesystem;

namespace {

fs::path temp_file(const std::string& name) {
  fs::path dir = fs::path(testing::TempDir()) / ("ckf_cf_emb_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

CfEmbeddings random_embeddings(int64_t users, int64_t items, int64_t dim) {
  std::mt19937 rng(int(users * 31 + dim));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  CfEmbeddings e{"lightgcn", users, items, dim, std::vector<float>(users * dim), std::vector<float>(items * dim)};
  for (float& x : e.user_emb) x = nd(rng);
  for (float& x : e.item_emb) x = nd(rng);
  return e;
}

// Replaces a root attribute by an int64 or a string.
void set_attr(const fs::path& path, const char* name, int64_t v) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  H5Adelete(f, name);
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(f, name, H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_INT64, &v);
  H5Aclose(a), H5Sclose(s), H5Fclose(f);
}

void set_attr(const fs::path& path, const char* name, const std::string& v) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  H5Adelete(f, name);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, v.size());
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(f, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, t, v.c_str());
  H5Aclose(a), H5Sclose(s), H5Tclose(t), H5Fclose(f);
}

void expect_error_containing(const fs::path& path, const std::string& needle) {
  try {
    cf_embeddings_read(path);
    ADD_FAILURE() << "reading " << path << " did not fail (expected '" << needle << "')";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(CfEmbeddingsFile, RoundTrip) {
  for (auto [users, items, dim] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {7, 13, 5}, {100, 33, 64}}) {
    CfEmbeddings e = random_embeddings(users, items, dim);
    fs::path p = temp_file("rt.h5");
    cf_embeddings_write(p, e, "synthetic(seed=3)");
    CfEmbeddingsFile r = cf_embeddings_read(p);
    EXPECT_EQ(r.schema_version, 1);
    EXPECT_EQ(r.dataset, "synthetic(seed=3)");
    EXPECT_EQ(r.emb.model, "lightgcn");
    EXPECT_EQ(r.emb.n_users, users);
    EXPECT_EQ(r.emb.n_items, items);
    EXPECT_EQ(r.emb.dim, dim);
    EXPECT_EQ(r.emb.user_emb, e.user_emb);
    EXPECT_EQ(r.emb.item_emb, e.item_emb);
    EXPECT_FALSE(fs::exists(atomic_temp_path(p)));
  }
}

TEST(CfEmbeddingsFile, BadFilesAreClearErrors) {
  CfEmbeddings e = random_embeddings(20, 30, 8);
  fs::path good = temp_file("good.h5");
  cf_embeddings_write(good, e, "d");

  expect_error_containing(temp_file("missing.h5"), "no such file");

  fs::path trunc = temp_file("trunc.h5");
  {
    std::ifstream in(good, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream out(trunc, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size() / 2));
  }
  expect_error_containing(trunc, "trunc.h5: not a readable HDF5 file");

  fs::path text = temp_file("text.h5");
  std::ofstream(text) << "user,item\n1,2\n";
  expect_error_containing(text, "text.h5: not an HDF5 file");

  fs::path p = temp_file("edit.h5");
  fs::copy_file(good, p, fs::copy_options::overwrite_existing);
  set_attr(p, "ckf_schema", std::string("checkpoint"));
  expect_error_containing(p, "is a ckf 'checkpoint' file, expected 'cf_embeddings'");

  fs::copy_file(good, p, fs::copy_options::overwrite_existing);
  set_attr(p, "schema_version", int64_t(2));
  expect_error_containing(p, "schema_version 2 is newer");

  fs::copy_file(good, p, fs::copy_options::overwrite_existing);
  set_attr(p, "dim", int64_t(9));
  expect_error_containing(p, "dataset user_emb has shape (20, 8), attributes say (20, 9)");

  fs::copy_file(good, p, fs::copy_options::overwrite_existing);
  set_attr(p, "n_items", int64_t(31));
  expect_error_containing(p, "item_emb has shape (30, 8)");
}

TEST(CfEmbeddingsFile, InconsistentInputIsNotWritten) {
  CfEmbeddings e = random_embeddings(4, 5, 3);
  e.item_emb.pop_back();
  fs::path p = temp_file("never.h5");
  EXPECT_THROW(cf_embeddings_write(p, e, "d"), Error);
  EXPECT_FALSE(fs::exists(p));
}
