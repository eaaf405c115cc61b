#include "io/h5_file.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"

namespace ckf {

namespace fs = std::filesystem;

namespace {

// Owns one HDF5 identifier; `close` is the matching H5?close.
struct Hid {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Hid() {
    if (id >= 0) close(id);
  }
};

void silence_hdf5() {
  static bool done = [] { return H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0; }();
  (void)done;
}

std::string obj_name(const std::string& obj) { return obj.empty() ? "/" : obj; }

Hid dataspace_for(const Shape& shape, bool empty_vector) {
  if (empty_vector) return {H5Screate(H5S_NULL), H5Sclose};
  if (shape.empty()) return {H5Screate(H5S_SCALAR), H5Sclose};
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  return {H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose};
}

int64_t dataspace_count(hid_t space) {
  if (H5Sget_simple_extent_type(space) == H5S_NULL) return 0;
  return static_cast<int64_t>(H5Sget_simple_extent_npoints(space));
}

}  // namespace

H5Store H5Store::create(const fs::path& path) {
  silence_hdf5();
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  CKF_CHECK(id >= 0, "cannot create HDF5 file " << path << " (directory missing, read-only or disk full?)");
  return H5Store(id, path);
}

H5Store H5Store::open_read(const fs::path& path) {
  silence_hdf5();
  CKF_CHECK(fs::is_regular_file(path), "HDF5 file " << path << " does not exist");
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  CKF_CHECK(id >= 0, "cannot open " << path << " as HDF5 (truncated or not an HDF5 file)");
  return H5Store(id, path);
}

H5Store::~H5Store() {
  if (id_ >= 0) H5Fclose(id_);
}

void H5Store::close() {
  CKF_CHECK(id_ >= 0, path_ << ": already closed");
  herr_t rc = H5Fclose(id_);
  id_ = -1;
  CKF_CHECK(rc >= 0, "closing HDF5 file " << path_ << " failed (disk full?)");
}

void H5Store::write_raw(const std::string& name, hid_t type, const void* data, const Shape& shape) {
  const bool empty_vector = !shape.empty() && shape_numel(shape) == 0;
  Hid space = dataspace_for(shape, empty_vector);
  Hid lcpl{H5Pcreate(H5P_LINK_CREATE), H5Pclose};
  H5Pset_create_intermediate_group(lcpl.id, 1);
  Hid ds{H5Dcreate2(id_, name.c_str(), type, space.id, lcpl.id, H5P_DEFAULT, H5P_DEFAULT), H5Dclose};
  CKF_CHECK(ds.id >= 0, path_ << ": cannot create dataset '" << name << "'");
  if (!empty_vector)
    CKF_CHECK(H5Dwrite(ds.id, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0,
              path_ << ": writing dataset '" << name << "' failed (disk full?)");
}

void H5Store::write_f32(const std::string& name, const float* data, const Shape& shape) {
  write_raw(name, H5T_NATIVE_FLOAT, data, shape);
}
void H5Store::write_bytes(const std::string& name, const std::vector<uint8_t>& v) {
  write_raw(name, H5T_NATIVE_UINT8, v.data(), {static_cast<int64_t>(v.size())});
}
void H5Store::write_i64(const std::string& name, const std::vector<int64_t>& v) {
  write_raw(name, H5T_NATIVE_INT64, v.data(), {static_cast<int64_t>(v.size())});
}
void H5Store::write_f64(const std::string& name, const std::vector<double>& v) {
  write_raw(name, H5T_NATIVE_DOUBLE, v.data(), {static_cast<int64_t>(v.size())});
}

Shape H5Store::shape_of(const std::string& name) const {
  Hid ds{H5Dopen2(id_, name.c_str(), H5P_DEFAULT), H5Dclose};
  CKF_CHECK(ds.id >= 0, path_ << ": missing dataset '" << name << "'");
  Hid space{H5Dget_space(ds.id), H5Sclose};
  int nd = H5Sget_simple_extent_ndims(space.id);
  CKF_CHECK(nd >= 0, path_ << ": bad dataspace of '" << name << "'");
  std::vector<hsize_t> dims(nd);
  H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
  return Shape(dims.begin(), dims.end());
}

std::vector<char> H5Store::read_raw(const std::string& name, hid_t type, size_t elem, int64_t* count) const {
  Hid ds{H5Dopen2(id_, name.c_str(), H5P_DEFAULT), H5Dclose};
  CKF_CHECK(ds.id >= 0, path_ << ": missing dataset '" << name << "'");
  Hid space{H5Dget_space(ds.id), H5Sclose};
  *count = dataspace_count(space.id);
  std::vector<char> buf(static_cast<size_t>(*count) * elem);
  if (*count > 0)
    CKF_CHECK(H5Dread(ds.id, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) >= 0,
              path_ << ": reading dataset '" << name << "' failed (corrupt file?)");
  return buf;
}

void H5Store::read_f32(const std::string& name, float* out, int64_t n) const {
  int64_t count = 0;
  std::vector<char> buf = read_raw(name, H5T_NATIVE_FLOAT, sizeof(float), &count);
  CKF_CHECK(count == n, path_ << ": dataset '" << name << "' has " << count << " elements, expected " << n);
  std::memcpy(out, buf.data(), buf.size());
}

template <class T> static std::vector<T> to_vector(const std::vector<char>& buf) {
  std::vector<T> v(buf.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), buf.data(), buf.size());
  return v;
}

std::vector<uint8_t> H5Store::read_bytes(const std::string& name) const {
  int64_t n = 0;
  return to_vector<uint8_t>(read_raw(name, H5T_NATIVE_UINT8, sizeof(uint8_t), &n));
}
std::vector<int64_t> H5Store::read_i64(const std::string& name) const {
  int64_t n = 0;
  return to_vector<int64_t>(read_raw(name, H5T_NATIVE_INT64, sizeof(int64_t), &n));
}
std::vector<double> H5Store::read_f64(const std::string& name) const {
  int64_t n = 0;
  return to_vector<double>(read_raw(name, H5T_NATIVE_DOUBLE, sizeof(double), &n));
}

// Strings are fixed-length, null-padded, at least one byte (HDF5 has no zero-size string type).
void H5Store::set_attr(const std::string& obj, const std::string& attr, const std::string& value) {
  Hid type{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(type.id, std::max<size_t>(1, value.size()));
  H5Tset_strpad(type.id, H5T_STR_NULLPAD);
  Hid space{H5Screate(H5S_SCALAR), H5Sclose};
  Hid a{H5Acreate_by_name(id_, obj_name(obj).c_str(), attr.c_str(), type.id, space.id, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT),
        H5Aclose};
  CKF_CHECK(a.id >= 0, path_ << ": cannot create attribute '" << attr << "' on '" << obj_name(obj) << "'");
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  CKF_CHECK(H5Awrite(a.id, type.id, padded.data()) >= 0, path_ << ": writing attribute '" << attr << "' failed");
}

void H5Store::set_attr(const std::string& obj, const std::string& attr, const std::vector<int64_t>& value) {
  Hid space = dataspace_for({static_cast<int64_t>(value.size())}, value.empty());
  Hid a{H5Acreate_by_name(id_, obj_name(obj).c_str(), attr.c_str(), H5T_NATIVE_INT64, space.id, H5P_DEFAULT,
                          H5P_DEFAULT, H5P_DEFAULT),
        H5Aclose};
  CKF_CHECK(a.id >= 0, path_ << ": cannot create attribute '" << attr << "' on '" << obj_name(obj) << "'");
  if (!value.empty())
    CKF_CHECK(H5Awrite(a.id, H5T_NATIVE_INT64, value.data()) >= 0, path_ << ": writing attribute '" << attr << "' failed");
}

void H5Store::set_attr(const std::string& obj, const std::string& attr, int64_t value) {
  set_attr(obj, attr, std::vector<int64_t>{value});
}

std::string H5Store::attr_str(const std::string& obj, const std::string& attr) const {
  Hid a{H5Aopen_by_name(id_, obj_name(obj).c_str(), attr.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  CKF_CHECK(a.id >= 0, path_ << ": missing attribute '" << attr << "' on '" << obj_name(obj) << "'");
  Hid type{H5Aget_type(a.id), H5Tclose};
  CKF_CHECK(H5Tget_class(type.id) == H5T_STRING && !H5Tis_variable_str(type.id),
            path_ << ": attribute '" << attr << "' on '" << obj_name(obj) << "' is not a fixed-length string");
  std::string s(H5Tget_size(type.id), '\0');
  CKF_CHECK(H5Aread(a.id, type.id, s.data()) >= 0, path_ << ": reading attribute '" << attr << "' failed");
  s.resize(std::strlen(s.c_str()));
  return s;
}

std::vector<int64_t> H5Store::attr_i64s(const std::string& obj, const std::string& attr) const {
  Hid a{H5Aopen_by_name(id_, obj_name(obj).c_str(), attr.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  CKF_CHECK(a.id >= 0, path_ << ": missing attribute '" << attr << "' on '" << obj_name(obj) << "'");
  Hid space{H5Aget_space(a.id), H5Sclose};
  std::vector<int64_t> v(static_cast<size_t>(dataspace_count(space.id)));
  if (!v.empty())
    CKF_CHECK(H5Aread(a.id, H5T_NATIVE_INT64, v.data()) >= 0, path_ << ": reading attribute '" << attr << "' failed");
  return v;
}

int64_t H5Store::attr_i64(const std::string& obj, const std::string& attr) const {
  std::vector<int64_t> v = attr_i64s(obj, attr);
  CKF_CHECK(v.size() == 1, path_ << ": attribute '" << attr << "' on '" << obj_name(obj) << "' has " << v.size()
                                 << " values, expected 1");
  return v[0];
}

bool H5Store::exists(const std::string& name) const {
  // H5Lexists fails on a missing intermediate group, so walk the path.
  size_t pos = 0;
  while (true) {
    pos = name.find('/', pos + 1);
    std::string prefix = name.substr(0, pos);
    if (H5Lexists(id_, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (pos == std::string::npos) return true;
  }
}

std::vector<std::string> H5Store::list(const std::string& group) const {
  std::vector<std::string> names;
  if (!exists(group)) return names;
  Hid g{H5Gopen2(id_, group.c_str(), H5P_DEFAULT), H5Gclose};
  CKF_CHECK(g.id >= 0, path_ << ": '" << group << "' is not a group");
  H5G_info_t info;
  CKF_CHECK(H5Gget_info(g.id, &info) >= 0, path_ << ": cannot list '" << group << "'");
  for (hsize_t i = 0; i < info.nlinks; i++) {
    ssize_t len = H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    CKF_CHECK(len >= 0, path_ << ": cannot list '" << group << "'");
    std::string s(static_cast<size_t>(len) + 1, '\0');
    H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, s.data(), s.size(), H5P_DEFAULT);
    s.resize(static_cast<size_t>(len));
    names.push_back(s);
  }
  return names;
}

}  // namespace ckf
