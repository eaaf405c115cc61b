#include "io/cf_embeddings.h"

#include <hdf5.h>

#include <cmath>
#include <vector>

#include "core/check.h"
#include "io/atomic_file.h"

namespace ckf {

namespace {

// Owns one HDF5 identifier and closes it with the matching function.
class H5Id {
 public:
  H5Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  ~H5Id() {
    if (id_ >= 0) close_(id_);
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// HDF5 prints its own error stack to stderr by default; errors here are reported as ckf::Error.
class H5Quiet {
 public:
  H5Quiet() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~H5Quiet() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

void write_attr_string(hid_t file, const char* name, const std::string& value, const std::filesystem::path& path) {
  H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(value.size(), 1));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
  H5Id attr(H5Acreate2(file, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  CKF_CHECK(attr.ok() && H5Awrite(attr.get(), type.get(), value.c_str()) >= 0,
            path << ": cannot write attribute " << name);
}

void write_attr_int(hid_t file, const char* name, int64_t value, const std::filesystem::path& path) {
  H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
  H5Id attr(H5Acreate2(file, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  CKF_CHECK(attr.ok() && H5Awrite(attr.get(), H5T_NATIVE_INT64, &value) >= 0,
            path << ": cannot write attribute " << name);
}

void write_matrix(hid_t file, const char* name, const std::vector<float>& data, int64_t rows, int64_t cols,
                  const std::filesystem::path& path) {
  hsize_t dims[2] = {hsize_t(rows), hsize_t(cols)};
  H5Id space(H5Screate_simple(2, dims, nullptr), H5Sclose);
  H5Id set(H5Dcreate2(file, name, H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  CKF_CHECK(set.ok() && H5Dwrite(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) >= 0,
            path << ": cannot write dataset " << name);
}

H5Id open_attr(hid_t file, const char* name, const std::filesystem::path& path) {
  CKF_CHECK(H5Aexists(file, name) > 0, path << ": attribute " << name << " missing");
  return H5Id(H5Aopen(file, name, H5P_DEFAULT), H5Aclose);
}

std::string read_attr_string(hid_t file, const char* name, const std::filesystem::path& path) {
  H5Id attr = open_attr(file, name, path);
  H5Id type(H5Aget_type(attr.get()), H5Tclose);
  CKF_CHECK(H5Tget_class(type.get()) == H5T_STRING, path << ": attribute " << name << " is not a string");
  if (H5Tis_variable_str(type.get()) > 0) {
    char* s = nullptr;
    H5Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    CKF_CHECK(H5Aread(attr.get(), mem.get(), &s) >= 0, path << ": cannot read attribute " << name);
    std::string out = s ? s : "";
    H5free_memory(s);
    return out;
  }
  std::string out(H5Tget_size(type.get()), '\0');
  CKF_CHECK(H5Aread(attr.get(), type.get(), out.data()) >= 0, path << ": cannot read attribute " << name);
  out.resize(out.find('\0') == std::string::npos ? out.size() : out.find('\0'));
  return out;
}

int64_t read_attr_int(hid_t file, const char* name, const std::filesystem::path& path) {
  H5Id attr = open_attr(file, name, path);
  H5Id type(H5Aget_type(attr.get()), H5Tclose);
  CKF_CHECK(H5Tget_class(type.get()) == H5T_INTEGER, path << ": attribute " << name << " is not an integer");
  int64_t v = 0;
  CKF_CHECK(H5Aread(attr.get(), H5T_NATIVE_INT64, &v) >= 0, path << ": cannot read attribute " << name);
  return v;
}

std::vector<float> read_matrix(hid_t file, const char* name, int64_t rows, int64_t cols,
                               const std::filesystem::path& path) {
  CKF_CHECK(H5Lexists(file, name, H5P_DEFAULT) > 0, path << ": dataset " << name << " missing");
  H5Id set(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  CKF_CHECK(set.ok(), path << ": cannot open dataset " << name);
  H5Id type(H5Dget_type(set.get()), H5Tclose);
  CKF_CHECK(H5Tget_class(type.get()) == H5T_FLOAT && H5Tget_size(type.get()) == 4,
            path << ": dataset " << name << " is not f32");
  H5Id space(H5Dget_space(set.get()), H5Sclose);
  hsize_t dims[2] = {0, 0};
  int nd = H5Sget_simple_extent_ndims(space.get());
  CKF_CHECK(nd == 2 && H5Sget_simple_extent_dims(space.get(), dims, nullptr) == 2 && dims[0] == hsize_t(rows) &&
                dims[1] == hsize_t(cols),
            path << ": dataset " << name << " has shape (" << (nd >= 1 ? dims[0] : 0) << ", "
                 << (nd >= 2 ? dims[1] : 0) << "), attributes say (" << rows << ", " << cols << ")");
  std::vector<float> data(size_t(rows * cols));
  CKF_CHECK(H5Dread(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) >= 0,
            path << ": cannot read dataset " << name << " (truncated or corrupt file?)");
  for (size_t x = 0; x < data.size(); ++x)
    CKF_CHECK(std::isfinite(data[x]), path << ": dataset " << name << " row " << x / cols << " holds " << data[x]);
  return data;
}

}  // namespace

void cf_embeddings_write(const std::filesystem::path& path, const CfEmbeddings& emb, const std::string& dataset) {
  CKF_CHECK(emb.dim > 0 && emb.n_users > 0 && emb.n_items > 0 &&
                emb.user_emb.size() == size_t(emb.n_users * emb.dim) &&
                emb.item_emb.size() == size_t(emb.n_items * emb.dim),
            path << ": embeddings to write have inconsistent shapes (users " << emb.n_users << ", items "
                 << emb.n_items << ", dim " << emb.dim << ")");
  H5Quiet quiet;
  atomic_write(path, [&](const std::filesystem::path& tmp) {
    H5Id file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    CKF_CHECK(file.ok(), tmp << ": cannot create HDF5 file");
    write_attr_string(file.get(), "ckf_schema", "cf_embeddings", path);
    write_attr_int(file.get(), "schema_version", kCfEmbeddingsSchemaVersion, path);
    write_attr_string(file.get(), "model", emb.model, path);
    write_attr_int(file.get(), "dim", emb.dim, path);
    write_attr_int(file.get(), "n_users", emb.n_users, path);
    write_attr_int(file.get(), "n_items", emb.n_items, path);
    write_attr_string(file.get(), "dataset", dataset, path);
    write_matrix(file.get(), "user_emb", emb.user_emb, emb.n_users, emb.dim, path);
    write_matrix(file.get(), "item_emb", emb.item_emb, emb.n_items, emb.dim, path);
    CKF_CHECK(H5Fflush(file.get(), H5F_SCOPE_GLOBAL) >= 0, tmp << ": cannot flush HDF5 file");
  });
}

CfEmbeddingsFile cf_embeddings_read(const std::filesystem::path& path) {
  CKF_CHECK(std::filesystem::is_regular_file(path), path << ": no such file");
  H5Quiet quiet;
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  CKF_CHECK(file.ok(), path << ": not a readable HDF5 file (truncated or corrupt?)");
  CKF_CHECK(H5Aexists(file.get(), "ckf_schema") > 0, path << ": not a ckf file (no ckf_schema attribute)");
  std::string schema = read_attr_string(file.get(), "ckf_schema", path);
  CKF_CHECK(schema == "cf_embeddings", path << ": ckf_schema is '" << schema << "', expected 'cf_embeddings'");
  CfEmbeddingsFile out;
  out.schema_version = read_attr_int(file.get(), "schema_version", path);
  CKF_CHECK(out.schema_version <= kCfEmbeddingsSchemaVersion,
            path << ": schema_version " << out.schema_version << " is newer than this ckf reads ("
                 << kCfEmbeddingsSchemaVersion << "); upgrade ckf");
  CKF_CHECK(out.schema_version >= 1, path << ": invalid schema_version " << out.schema_version);
  CfEmbeddings& e = out.emb;
  e.model = read_attr_string(file.get(), "model", path);
  e.dim = read_attr_int(file.get(), "dim", path);
  e.n_users = read_attr_int(file.get(), "n_users", path);
  e.n_items = read_attr_int(file.get(), "n_items", path);
  CKF_CHECK(e.dim > 0 && e.n_users > 0 && e.n_items > 0,
            path << ": attributes dim " << e.dim << ", n_users " << e.n_users << ", n_items " << e.n_items
                 << " must be > 0");
  out.dataset = read_attr_string(file.get(), "dataset", path);
  e.user_emb = read_matrix(file.get(), "user_emb", e.n_users, e.dim, path);
  e.item_emb = read_matrix(file.get(), "item_emb", e.n_items, e.dim, path);
  return out;
}

}  // namespace ckf
