#include "io/h5.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/check.h"

namespace ckf {

namespace fs = std::filesystem;

namespace {

void silence_hdf5() {
  static bool done = [] { return H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0; }();
  (void)done;
}

// Closes an HDF5 object id at scope exit.
struct Hid {
  hid_t id;
  herr_t (*close)(hid_t);
  Hid(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  ~Hid() {
    if (id >= 0) close(id);
  }
};

template <class T>
hid_t mem_type() {
  if constexpr (std::is_same_v<T, int8_t>) return H5T_NATIVE_INT8;
  else if constexpr (std::is_same_v<T, uint8_t>) return H5T_NATIVE_UINT8;
  else if constexpr (std::is_same_v<T, int32_t>) return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<T, int64_t>) return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
  else if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
  else static_assert(sizeof(T) == 0, "unsupported HDF5 element type");
}

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, int8_t>) return "int8";
  else if constexpr (std::is_same_v<T, uint8_t>) return "uint8";
  else if constexpr (std::is_same_v<T, int32_t>) return "int32";
  else if constexpr (std::is_same_v<T, int64_t>) return "int64";
  else if constexpr (std::is_same_v<T, float>) return "float32";
  else return "float64";
}

// True when the stored type has the class, size and signedness of T (no silent conversions).
template <class T>
bool type_matches(hid_t stored) {
  H5T_class_t cls = H5Tget_class(stored);
  if (H5Tget_size(stored) != sizeof(T)) return false;
  if constexpr (std::is_floating_point_v<T>) return cls == H5T_FLOAT;
  else return cls == H5T_INTEGER && (H5Tget_sign(stored) == H5T_SGN_2) == std::is_signed_v<T>;
}

// "attribute 'key'" on the root, "attribute 'key' of 'obj'" elsewhere.
std::string attr_where(const std::string& key, const std::string& obj) {
  return "attribute '" + key + "'" + (obj == "/" ? "" : " of '" + obj + "'");
}

// Elements of a dataspace; a null dataspace holds none.
int64_t space_count(hid_t space) {
  if (H5Sget_simple_extent_type(space) == H5S_NULL) return 0;
  return int64_t(H5Sget_simple_extent_npoints(space));
}

}  // namespace

H5File H5File::create(const fs::path& path) {
  silence_hdf5();
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  CKF_CHECK(id >= 0, path.string() << ": H5Fcreate failed: cannot create HDF5 file (directory missing, read-only "
                                    "or disk full?)");
  return H5File(id, path);
}

H5File H5File::create(const fs::path& path, const std::string& schema, int64_t version) {
  H5File f = create(path);
  f.set_attr("ckf_schema", schema);
  f.set_attr("schema_version", version);
  return f;
}

H5File H5File::open(const fs::path& path) {
  silence_hdf5();
  CKF_CHECK(fs::is_regular_file(path), path.string() << ": no such file");
  CKF_CHECK(H5Fis_hdf5(path.c_str()) > 0,
            path.string() << ": not an HDF5 file (H5Fis_hdf5 finds no HDF5 signature: foreign, truncated or corrupt)");
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  CKF_CHECK(id >= 0, path.string() << ": not a readable HDF5 file (H5Fopen failed: truncated or corrupt?)");
  return H5File(id, path);
}

H5File H5File::open(const fs::path& path, const std::string& schema, int64_t max_version) {
  H5File f = open(path);
  CKF_CHECK(H5Aexists(f.id_, "ckf_schema") > 0 && H5Aexists(f.id_, "schema_version") > 0,
            path.string() << ": not a ckf " << schema << " file (no ckf_schema/schema_version attributes)");
  std::string got = f.attr_string("ckf_schema");
  CKF_CHECK(got == schema, path.string() << ": is a ckf '" << got << "' file, expected '" << schema << "'");
  int64_t version = f.attr_int("schema_version");
  CKF_CHECK(version <= max_version, path.string() << ": " << schema << " schema_version " << version
                                                  << " is newer than this build reads (" << max_version
                                                  << "); update ckf, or rewrite the file with this build");
  CKF_CHECK(version >= 1, path.string() << ": invalid " << schema << " schema_version " << version);
  return f;
}

H5File::~H5File() {
  if (id_ >= 0) H5Fclose(id_);
}

void H5File::close() {
  if (id_ < 0) return;
  herr_t rc = H5Fclose(id_);
  id_ = -1;
  CKF_CHECK(rc >= 0, path_.string() << ": H5Fclose failed (disk full?)");
}

bool H5File::has(const std::string& name) const {
  // H5Lexists needs every parent to exist, so walk the path one component at a time.
  size_t at = 0;
  while (at != std::string::npos) {
    at = name.find('/', at + 1);
    if (H5Lexists(id_, name.substr(0, at).c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

std::vector<std::string> H5File::list(const std::string& group) const {
  std::vector<std::string> names;
  if (!has(group)) return names;
  Hid g{H5Gopen2(id_, group.c_str(), H5P_DEFAULT), H5Gclose};
  CKF_CHECK(g.id >= 0, path_.string() << ": H5Gopen2 failed: '" << group << "' is not a group");
  H5G_info_t info;
  CKF_CHECK(H5Gget_info(g.id, &info) >= 0, path_.string() << ": H5Gget_info of group '" << group << "' failed");
  for (hsize_t i = 0; i < info.nlinks; i++) {
    ssize_t len = H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    CKF_CHECK(len >= 0, path_.string() << ": H5Lget_name_by_idx in group '" << group << "' failed");
    std::string s(size_t(len) + 1, '\0');
    H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, s.data(), s.size(), H5P_DEFAULT);
    s.resize(size_t(len));
    names.push_back(s);
  }
  return names;
}

std::vector<int64_t> H5File::shape(const std::string& name) const {
  CKF_CHECK(has(name), path_.string() << ": missing dataset '" << name << "'");
  Hid ds{H5Dopen2(id_, name.c_str(), H5P_DEFAULT), H5Dclose};
  CKF_CHECK(ds.id >= 0, path_.string() << ": H5Dopen2 of dataset '" << name << "' failed");
  Hid space{H5Dget_space(ds.id), H5Sclose};
  if (H5Sget_simple_extent_type(space.id) == H5S_NULL) return {0};
  int rank = H5Sget_simple_extent_ndims(space.id);
  CKF_CHECK(rank >= 0, path_.string() << ": H5Sget_simple_extent_ndims of dataset '" << name << "' failed");
  std::vector<hsize_t> dims(size_t(rank), 0);
  H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

template <class T>
void H5File::write(const std::string& name, std::span<const T> data, const std::vector<int64_t>& dims,
                   H5Layout layout) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  CKF_CHECK(count >= 0 && size_t(count) == data.size(), path_.string() << ": dataset '" << name << "': "
                                                                        << dims.size() << "-d shape does not hold "
                                                                        << data.size() << " values");
  std::vector<hsize_t> hd(dims.begin(), dims.end());
  Hid space{hd.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(hd.size()), hd.data(), nullptr), H5Sclose};
  Hid lcpl{H5Pcreate(H5P_LINK_CREATE), H5Pclose};
  H5Pset_create_intermediate_group(lcpl.id, 1);
  Hid dcpl{H5Pcreate(H5P_DATASET_CREATE), H5Pclose};
  if (layout == H5Layout::chunked && count > 0 && !hd.empty()) {
    // About 1 MiB per chunk, whole rows: readers stream shards row range by row range.
    size_t row_bytes = sizeof(T) * size_t(count / dims[0]);
    std::vector<hsize_t> chunk = hd;
    chunk[0] = std::clamp<hsize_t>((1u << 20) / std::max<size_t>(row_bytes, 1), 1, hd[0]);
    H5Pset_chunk(dcpl.id, int(chunk.size()), chunk.data());
    H5Pset_shuffle(dcpl.id);
    H5Pset_deflate(dcpl.id, 4);
  }
  Hid ds{H5Dcreate2(id_, name.c_str(), mem_type<T>(), space.id, lcpl.id, dcpl.id, H5P_DEFAULT), H5Dclose};
  CKF_CHECK(ds.id >= 0, path_.string() << ": H5Dcreate2 of dataset '" << name << "' failed (exists already?)");
  if (count > 0)
    CKF_CHECK(H5Dwrite(ds.id, mem_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) >= 0,
              path_.string() << ": H5Dwrite of dataset '" << name << "' failed (disk full?)");
}

template <class T>
std::vector<T> H5File::read(const std::string& name, int rank) const {
  std::vector<int64_t> dims = shape(name);
  CKF_CHECK(int(dims.size()) == rank,
            path_.string() << ": dataset '" << name << "' has rank " << dims.size() << ", expected " << rank);
  Hid ds{H5Dopen2(id_, name.c_str(), H5P_DEFAULT), H5Dclose};
  Hid type{H5Dget_type(ds.id), H5Tclose};
  CKF_CHECK(type_matches<T>(type.id), path_.string() << ": dataset '" << name << "' is not " << type_name<T>());
  size_t count = 1;
  for (int64_t d : dims) count *= size_t(d);
  std::vector<T> out(count);
  if (count > 0)
    CKF_CHECK(H5Dread(ds.id, mem_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) >= 0,
              path_.string() << ": H5Dread of dataset '" << name << "' failed (truncated or corrupt file?)");
  return out;
}

#define CKF_H5_INSTANTIATE(T)                                                                                \
  template void H5File::write<T>(const std::string&, std::span<const T>, const std::vector<int64_t>&, H5Layout); \
  template std::vector<T> H5File::read<T>(const std::string&, int) const;
CKF_H5_INSTANTIATE(int8_t)
CKF_H5_INSTANTIATE(uint8_t)
CKF_H5_INSTANTIATE(int32_t)
CKF_H5_INSTANTIATE(int64_t)
CKF_H5_INSTANTIATE(float)
CKF_H5_INSTANTIATE(double)

void H5File::write_strings(const std::string& name, const std::vector<std::string>& strings) {
  std::vector<int64_t> offsets(strings.size() + 1, 0);  // (n+1)
  for (size_t i = 0; i < strings.size(); ++i) offsets[i + 1] = offsets[i] + int64_t(strings[i].size());
  std::vector<uint8_t> bytes(size_t(offsets.back()));  // (total)
  for (size_t i = 0; i < strings.size(); ++i)
    std::copy(strings[i].begin(), strings[i].end(), bytes.begin() + offsets[i]);
  write(name + "/bytes", bytes);
  write(name + "/offsets", offsets);
}

std::vector<std::string> H5File::read_strings(const std::string& name) const {
  std::vector<uint8_t> bytes = read<uint8_t>(name + "/bytes");
  std::vector<int64_t> offsets = read<int64_t>(name + "/offsets");
  CKF_CHECK(!offsets.empty() && offsets[0] == 0 && offsets.back() == int64_t(bytes.size()),
            path_.string() << ": '" << name << "/offsets' does not span '" << name << "/bytes'");
  std::vector<std::string> out(offsets.size() - 1);
  for (size_t i = 0; i + 1 < offsets.size(); ++i) {
    CKF_CHECK(offsets[i] <= offsets[i + 1], path_.string() << ": '" << name << "/offsets' not increasing");
    out[i].assign(bytes.begin() + offsets[i], bytes.begin() + offsets[i + 1]);
  }
  return out;
}

// Strings: fixed length, at least one byte (HDF5 has no zero-size string type), null-padded.
void H5File::set_attr(const std::string& key, const std::string& value, const std::string& obj) {
  Hid type{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(type.id, std::max<size_t>(value.size(), 1));
  H5Tset_strpad(type.id, H5T_STR_NULLPAD);
  H5Tset_cset(type.id, H5T_CSET_UTF8);
  Hid space{H5Screate(H5S_SCALAR), H5Sclose};
  Hid a{H5Acreate_by_name(id_, obj.c_str(), key.c_str(), type.id, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        H5Aclose};
  CKF_CHECK(a.id >= 0, path_.string() << ": H5Acreate_by_name of " << attr_where(key, obj) << " failed");
  CKF_CHECK(H5Awrite(a.id, type.id, value.c_str()) >= 0,
            path_.string() << ": H5Awrite of " << attr_where(key, obj) << " failed");
}

void H5File::set_attr(const std::string& key, int64_t value, const std::string& obj) {
  Hid space{H5Screate(H5S_SCALAR), H5Sclose};
  Hid a{H5Acreate_by_name(id_, obj.c_str(), key.c_str(), H5T_STD_I64LE, space.id, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT),
        H5Aclose};
  CKF_CHECK(a.id >= 0, path_.string() << ": H5Acreate_by_name of " << attr_where(key, obj) << " failed");
  CKF_CHECK(H5Awrite(a.id, H5T_NATIVE_INT64, &value) >= 0,
            path_.string() << ": H5Awrite of " << attr_where(key, obj) << " failed");
}

void H5File::set_attr(const std::string& key, const std::vector<int64_t>& values, const std::string& obj) {
  const hsize_t n = values.size();
  Hid space{n == 0 ? H5Screate(H5S_NULL) : H5Screate_simple(1, &n, nullptr), H5Sclose};
  Hid a{H5Acreate_by_name(id_, obj.c_str(), key.c_str(), H5T_STD_I64LE, space.id, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT),
        H5Aclose};
  CKF_CHECK(a.id >= 0, path_.string() << ": H5Acreate_by_name of " << attr_where(key, obj) << " failed");
  if (n > 0)
    CKF_CHECK(H5Awrite(a.id, H5T_NATIVE_INT64, values.data()) >= 0,
              path_.string() << ": H5Awrite of " << attr_where(key, obj) << " failed");
}

hid_t H5File::attr_open(const std::string& key, const std::string& obj) const {
  CKF_CHECK(H5Aexists_by_name(id_, obj.c_str(), key.c_str(), H5P_DEFAULT) > 0,
            path_.string() << ": missing " << attr_where(key, obj));
  hid_t a = H5Aopen_by_name(id_, obj.c_str(), key.c_str(), H5P_DEFAULT, H5P_DEFAULT);
  CKF_CHECK(a >= 0, path_.string() << ": H5Aopen_by_name of " << attr_where(key, obj) << " failed");
  return a;
}

std::string H5File::attr_string(const std::string& key, const std::string& obj) const {
  Hid a{attr_open(key, obj), H5Aclose};
  Hid type{H5Aget_type(a.id), H5Tclose};
  CKF_CHECK(H5Tget_class(type.id) == H5T_STRING, path_.string() << ": " << attr_where(key, obj) << " is not a string");
  if (H5Tis_variable_str(type.id) > 0) {  // as h5py writes str attributes
    Hid mem{H5Tcopy(H5T_C_S1), H5Tclose};
    H5Tset_size(mem.id, H5T_VARIABLE);
    H5Tset_cset(mem.id, H5Tget_cset(type.id));
    char* s = nullptr;
    CKF_CHECK(H5Aread(a.id, mem.id, &s) >= 0, path_.string() << ": H5Aread of " << attr_where(key, obj) << " failed");
    std::string v = s ? s : "";
    H5free_memory(s);
    return v;
  }
  std::string v(H5Tget_size(type.id), '\0');
  CKF_CHECK(H5Aread(a.id, type.id, v.data()) >= 0, path_.string() << ": H5Aread of " << attr_where(key, obj) << " failed");
  v.resize(std::strlen(v.c_str()));
  return v;
}

std::vector<int64_t> H5File::attr_ints(const std::string& key, const std::string& obj) const {
  Hid a{attr_open(key, obj), H5Aclose};
  Hid type{H5Aget_type(a.id), H5Tclose};
  CKF_CHECK(H5Tget_class(type.id) == H5T_INTEGER, path_.string() << ": " << attr_where(key, obj) << " is not an integer");
  Hid space{H5Aget_space(a.id), H5Sclose};
  std::vector<int64_t> v(size_t(space_count(space.id)));
  if (!v.empty())
    CKF_CHECK(H5Aread(a.id, H5T_NATIVE_INT64, v.data()) >= 0,
              path_.string() << ": H5Aread of " << attr_where(key, obj) << " failed");
  return v;
}

int64_t H5File::attr_int(const std::string& key, const std::string& obj) const {
  std::vector<int64_t> v = attr_ints(key, obj);
  CKF_CHECK(v.size() == 1, path_.string() << ": " << attr_where(key, obj) << " has " << v.size() << " values, expected 1");
  return v[0];
}

}  // namespace ckf
