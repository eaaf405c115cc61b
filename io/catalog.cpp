// catalog.h5 reading and writing; the layout is documented in the README ("Dataset files").
#include "io/catalog.h"

#include <algorithm>

#include "core/check.h"
#include "io/h5.h"

namespace ckf {

const char* split_name(Split s) {
  static const char* names[] = {"train", "valid", "test"};
  return names[int(s)];
}

Split split_parse(const std::string& name) {
  for (Split s : {Split::Train, Split::Valid, Split::Test})
    if (name == split_name(s)) return s;
  CKF_FAIL("unknown split '" << name << "' (train, valid or test)");
}

size_t Catalog::count(Split s) const { return size_t(std::count(split.begin(), split.end(), int8_t(s))); }

void catalog_write(const Catalog& c, const std::filesystem::path& file) {
  H5File f = H5File::create(file, "catalog", kCatalogSchemaVersion);
  f.set_attr("source", c.source);
  f.set_attr("split_kind", c.split_kind);
  f.set_attr("cold_max", c.cold_max);
  f.set_attr("num_users", int64_t(c.num_users()));
  f.set_attr("num_items", int64_t(c.num_items()));
  f.set_attr("num_interactions", int64_t(c.size()));
  f.write_strings("users/raw_id", c.user_raw);
  f.write("users/cold", c.user_cold);
  f.write("users/offset", c.user_offset);
  f.write_strings("items/raw_id", c.item_raw);
  f.write_strings("items/title", c.title);
  f.write("interactions/user", c.user);
  f.write("interactions/item", c.item);
  f.write("interactions/rating", c.rating);
  f.write("interactions/timestamp", c.timestamp);
  f.write("interactions/split", c.split);
  if (!c.review.empty()) {
    f.write_strings("interactions/review", c.review);
    f.write_strings("interactions/summary", c.summary);
  }
  f.close();
}

Catalog catalog_read(const std::filesystem::path& file) {
  H5File f = H5File::open(file, "catalog", kCatalogSchemaVersion);
  const std::string name = file.string();
  Catalog c;
  c.source = f.attr_string("source");
  c.split_kind = f.attr_string("split_kind");
  c.cold_max = f.attr_int("cold_max");
  c.user_raw = f.read_strings("users/raw_id");
  c.user_cold = f.read<uint8_t>("users/cold");
  c.user_offset = f.read<int64_t>("users/offset");
  c.item_raw = f.read_strings("items/raw_id");
  c.title = f.read_strings("items/title");
  c.user = f.read<int32_t>("interactions/user");
  c.item = f.read<int32_t>("interactions/item");
  c.rating = f.read<float>("interactions/rating");
  c.timestamp = f.read<int64_t>("interactions/timestamp");
  c.split = f.read<int8_t>("interactions/split");
  if (f.has("interactions/review")) {
    c.review = f.read_strings("interactions/review");
    c.summary = f.read_strings("interactions/summary");
  }

  size_t U = c.user_raw.size(), I = c.item_raw.size(), N = c.user.size();
  CKF_CHECK(int64_t(U) == f.attr_int("num_users") && int64_t(I) == f.attr_int("num_items") &&
                int64_t(N) == f.attr_int("num_interactions"),
            name << ": dataset sizes disagree with the num_users/num_items/num_interactions attributes");
  CKF_CHECK(c.user_cold.size() == U && c.user_offset.size() == U + 1 && c.title.size() == I,
            name << ": users/ or items/ datasets have inconsistent lengths");
  CKF_CHECK(c.item.size() == N && c.rating.size() == N && c.timestamp.size() == N && c.split.size() == N &&
                (c.review.empty() || (c.review.size() == N && c.summary.size() == N)),
            name << ": interactions/ datasets have inconsistent lengths");
  CKF_CHECK(c.user_offset[0] == 0 && c.user_offset[U] == int64_t(N), name << ": users/offset does not span the interactions");
  for (size_t u = 0; u < U; ++u) {
    CKF_CHECK(c.user_offset[u] <= c.user_offset[u + 1], name << ": users/offset decreases at user " << u);
    for (int64_t k = c.user_offset[u]; k < c.user_offset[u + 1]; ++k)
      CKF_CHECK(c.user[size_t(k)] == int32_t(u), name << ": interaction " << k << " is not in its user's range");
  }
  for (size_t k = 0; k < N; ++k) {
    CKF_CHECK(c.item[k] >= 0 && size_t(c.item[k]) < I, name << ": interactions/item[" << k << "] = " << c.item[k]
                                                             << " outside [0, " << I << ")");
    CKF_CHECK(c.split[k] >= 0 && c.split[k] <= 2, name << ": interactions/split[" << k << "] = " << int(c.split[k]));
  }
  return c;
}

}  // namespace ckf
