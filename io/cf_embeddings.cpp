#include "io/cf_embeddings.h"

#include <cmath>
#include <vector>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/h5.h"

namespace ckf {

namespace {

// A (rows, cols) f32 matrix whose shape the attributes give; every value must be finite.
std::vector<float> read_matrix(const H5File& f, const char* name, int64_t rows, int64_t cols) {
  const std::vector<int64_t> dims = f.shape(name);
  CKF_CHECK(dims == (std::vector<int64_t>{rows, cols}),
            f.path() << ": dataset " << name << " has shape (" << (dims.size() >= 1 ? dims[0] : 0) << ", "
                     << (dims.size() >= 2 ? dims[1] : 0) << "), attributes say (" << rows << ", " << cols << ")");
  std::vector<float> data = f.read<float>(name, 2);
  for (size_t x = 0; x < data.size(); ++x)
    CKF_CHECK(std::isfinite(data[x]), f.path() << ": dataset " << name << " row " << x / cols << " holds " << data[x]);
  return data;
}

}  // namespace

void cf_embeddings_write(const std::filesystem::path& path, const CfEmbeddings& emb, const std::string& dataset) {
  CKF_CHECK(emb.dim > 0 && emb.n_users > 0 && emb.n_items > 0 &&
                emb.user_emb.size() == size_t(emb.n_users * emb.dim) &&
                emb.item_emb.size() == size_t(emb.n_items * emb.dim),
            path << ": embeddings to write have inconsistent shapes (users " << emb.n_users << ", items "
                 << emb.n_items << ", dim " << emb.dim << ")");
  atomic_write(path, [&](const std::filesystem::path& tmp) {
    H5File f = H5File::create(tmp, "cf_embeddings", kCfEmbeddingsSchemaVersion);
    f.set_attr("model", emb.model);
    f.set_attr("dim", emb.dim);
    f.set_attr("n_users", emb.n_users);
    f.set_attr("n_items", emb.n_items);
    f.set_attr("dataset", dataset);
    f.write("user_emb", emb.user_emb, {emb.n_users, emb.dim}, H5Layout::contiguous);
    f.write("item_emb", emb.item_emb, {emb.n_items, emb.dim}, H5Layout::contiguous);
    f.close();
  });
}

CfEmbeddingsFile cf_embeddings_read(const std::filesystem::path& path) {
  H5File f = H5File::open(path, "cf_embeddings", kCfEmbeddingsSchemaVersion);
  CfEmbeddingsFile out;
  out.schema_version = f.attr_int("schema_version");
  CfEmbeddings& e = out.emb;
  e.model = f.attr_string("model");
  e.dim = f.attr_int("dim");
  e.n_users = f.attr_int("n_users");
  e.n_items = f.attr_int("n_items");
  CKF_CHECK(e.dim > 0 && e.n_users > 0 && e.n_items > 0,
            path << ": attributes dim " << e.dim << ", n_users " << e.n_users << ", n_items " << e.n_items
                 << " must be > 0");
  out.dataset = f.attr_string("dataset");
  e.user_emb = read_matrix(f, "user_emb", e.n_users, e.dim);
  e.item_emb = read_matrix(f, "item_emb", e.n_items, e.dim);
  return out;
}

}  // namespace ckf
