// Catalog build (dedup, k-core, dense ids, split, cold flags) against hand-worked fixtures and a
// naive one-vertex-at-a-time k-core; catalog.h5 round trip and every kind of bad file.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "core/check.h"
#include "io/catalog.h"
#include "io/h5.h"
#include "test_util.h"

using namespace ckf;
namespace fs = std::filesystem;

namespace {

const fs::path kRaw = fs::path(CKF_TEST_DATA_DIR) / "raw";

fs::path scratch(const std::string& name) {
  fs::path d = fs::path(testing::TempDir()) / ("catalog_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void add(RawDataset& d, const std::string& u, const std::string& i, float r, int64_t t) {
  d.user.push_back(d.users.intern(u));
  d.item.push_back(d.items.intern(i));
  d.rating.push_back(r);
  d.timestamp.push_back(t);
}

// (raw user, raw item) pairs of a catalog.
std::set<std::pair<std::string, std::string>> pairs(const Catalog& c) {
  std::set<std::pair<std::string, std::string>> out;
  for (size_t k = 0; k < c.size(); ++k) out.insert({c.user_raw[size_t(c.user[k])], c.item_raw[size_t(c.item[k])]});
  return out;
}

}  // namespace

TEST(CatalogBuild, MovieLensFixtureByHand) {
  CatalogOptions opt;
  opt.cold_max = 1;
  Catalog c = catalog_build(raw_read_movielens_latest(kRaw / "ml-latest-tiny"), opt);
  // Users 1, 2, 3, 10 -> 0..3 (numeric order, not string order); movie 30 was never rated.
  EXPECT_EQ(c.user_raw, (std::vector<std::string>{"1", "2", "3", "10"}));
  EXPECT_EQ(c.item_raw, (std::vector<std::string>{"1", "2", "3", "10", "20"}));
  EXPECT_EQ(c.title[4], "L\xC3\xA9on: The Professional (1994)");
  ASSERT_EQ(c.size(), 12u);
  EXPECT_EQ(c.user_offset, (std::vector<int64_t>{0, 4, 6, 10, 12}));
  // User 1 by time: movie 1 @100, 3 @150, 2 @200, 10 @300 -> dense 0, 2, 1, 3; last two held out.
  EXPECT_EQ(std::vector<int32_t>(c.item.begin(), c.item.begin() + 4), (std::vector<int32_t>{0, 2, 1, 3}));
  EXPECT_EQ(std::vector<int64_t>(c.timestamp.begin(), c.timestamp.begin() + 4), (std::vector<int64_t>{100, 150, 200, 300}));
  // User 10: movie 3 @400 before movie 1 @500.
  EXPECT_EQ(c.item[10], 2);
  EXPECT_EQ(c.item[11], 0);
  EXPECT_FLOAT_EQ(c.rating[10], 2.5f);
  std::vector<int8_t> want_split = {0, 0, 1, 2,  // user 1
                                    0, 0,        // user 2: two interactions, all train
                                    0, 0, 1, 2,  // user 3
                                    0, 0};       // user 10
  EXPECT_EQ(c.split, want_split);
  EXPECT_EQ(c.count(Split::Train), 8u);
  // Train counts 2, 2, 2, 2 > cold_max 1: nobody is cold; with cold_max 2 everybody is.
  EXPECT_EQ(c.user_cold, (std::vector<uint8_t>{0, 0, 0, 0}));
  opt.cold_max = 2;
  EXPECT_EQ(catalog_build(raw_read_movielens_latest(kRaw / "ml-latest-tiny"), opt).user_cold,
            (std::vector<uint8_t>{1, 1, 1, 1}));
}

TEST(CatalogBuild, AmazonDuplicateKeepsLatest) {
  Catalog c = catalog_build(raw_read_amazon(kRaw / "amazon-tiny" / "reviews.json", kRaw / "amazon-tiny" / "meta.json"), {});
  // 5 reviews, AZZZ reviewed B001 twice: the later (rating 4, "better on second try") stays.
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c.user_raw, (std::vector<std::string>{"A2SUAM1J3GNN3B", "AYYY", "AZZZ"}));
  EXPECT_EQ(c.user_offset, (std::vector<int64_t>{0, 2, 3, 4}));
  EXPECT_FLOAT_EQ(c.rating[3], 4.0f);
  EXPECT_EQ(c.review[3], "better on second try");
  EXPECT_EQ(c.summary[3], "fine");
  EXPECT_EQ(c.title[0], "Widget, \"Deluxe\" \xE2\x80\x93 Blue");
}

TEST(CatalogBuild, KCoreIteratesToFixpoint) {
  // a:{x,y} b:{x,y} c:{y,z} d:{z}. 2-core: d goes, then z (1 left), then c (1 left).
  RawDataset d;
  for (auto [u, i] : std::vector<std::pair<const char*, const char*>>{
           {"a", "x"}, {"a", "y"}, {"b", "x"}, {"b", "y"}, {"c", "y"}, {"c", "z"}, {"d", "z"}})
    add(d, u, i, 3.0f, 1);
  CatalogOptions opt;
  opt.min_user = 2;
  opt.min_item = 2;
  Catalog c = catalog_build(d, opt);
  EXPECT_EQ(c.user_raw, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.item_raw, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(c.size(), 4u);
  opt.min_user = 3;
  EXPECT_NE(error_of([&] { catalog_build(d, opt); }).find("no interactions left"), std::string::npos);
}

TEST(CatalogBuild, KCoreMatchesNaiveReference) {
  std::mt19937 gen(42);
  for (int trial = 0; trial < 5; ++trial) {
    RawDataset d;
    std::set<std::pair<int, int>> edges;
    for (int k = 0; k < 700; ++k) edges.insert({int(gen() % 83), int(gen() % 61)});
    for (auto [u, i] : edges) add(d, "u" + std::to_string(u), "i" + std::to_string(i), 1.0f + float(gen() % 5), int64_t(gen() % 1000));
    int64_t ku = 3 + trial, ki = 4 + trial % 3;
    // Reference: remove one violating user or item at a time until none violates.
    std::set<std::pair<int, int>> alive = edges;
    for (bool changed = true; changed;) {
      changed = false;
      std::map<int, int> du, di;
      for (auto [u, i] : alive) ++du[u], ++di[i];
      for (auto [u, n] : du)
        if (n < ku) {
          std::erase_if(alive, [&](auto e) { return e.first == u; });
          changed = true;
          break;
        }
      if (changed) continue;
      for (auto [i, n] : di)
        if (n < ki) {
          std::erase_if(alive, [&](auto e) { return e.second == i; });
          changed = true;
          break;
        }
    }
    std::set<std::pair<std::string, std::string>> want;
    for (auto [u, i] : alive) want.insert({"u" + std::to_string(u), "i" + std::to_string(i)});
    ASSERT_FALSE(want.empty()) << "trial " << trial << ": pick a denser graph";
    CatalogOptions opt;
    opt.min_user = ku;
    opt.min_item = ki;
    EXPECT_EQ(pairs(catalog_build(d, opt)), want) << "trial " << trial;
  }
}

TEST(CatalogBuild, TemporalSplitCutsByTime) {
  RawDataset d;
  // Times 1..10 over two users; 20% test -> times >= 9, the 20% before -> times 7, 8.
  for (int t = 1; t <= 10; ++t) add(d, t % 2 ? "p" : "q", "i" + std::to_string(t), 4.0f, t);
  CatalogOptions opt;
  opt.split = SplitKind::Temporal;
  opt.valid_frac = 0.2;
  opt.test_frac = 0.2;
  Catalog c = catalog_build(d, opt);
  for (size_t k = 0; k < c.size(); ++k) {
    int8_t want = c.timestamp[k] >= 9 ? 2 : c.timestamp[k] >= 7 ? 1 : 0;
    EXPECT_EQ(c.split[k], want) << "time " << c.timestamp[k];
  }
  EXPECT_EQ(c.split_kind, "temporal");
  // Equal times never straddle a cut: make 8 and 9 the same time.
  d.timestamp[8] = 8;
  c = catalog_build(d, opt);
  for (size_t k = 0; k < c.size(); ++k)
    if (c.timestamp[k] == 8) EXPECT_EQ(c.split[k], 2);
  opt.valid_frac = 0.6;
  opt.test_frac = 0.5;
  EXPECT_NE(error_of([&] { catalog_build(d, opt); }).find("--valid-frac"), std::string::npos);
}

TEST(CatalogFile, RoundTripChunkedCompressed) {
  fs::path dir = scratch("roundtrip");
  Catalog c = catalog_build(raw_read_amazon(kRaw / "amazon-tiny" / "reviews.json.gz", kRaw / "amazon-tiny" / "meta.json"), {});
  catalog_write(c, dir / "catalog.h5");
  Catalog r = catalog_read(dir / "catalog.h5");
  EXPECT_EQ(r.source, c.source);
  EXPECT_EQ(r.split_kind, "loo");
  EXPECT_EQ(r.user_raw, c.user_raw);
  EXPECT_EQ(r.item_raw, c.item_raw);
  EXPECT_EQ(r.title, c.title);
  EXPECT_EQ(r.user_cold, c.user_cold);
  EXPECT_EQ(r.user_offset, c.user_offset);
  EXPECT_EQ(r.user, c.user);
  EXPECT_EQ(r.item, c.item);
  EXPECT_EQ(r.rating, c.rating);
  EXPECT_EQ(r.timestamp, c.timestamp);
  EXPECT_EQ(r.split, c.split);
  EXPECT_EQ(r.review, c.review);
  EXPECT_EQ(r.summary, c.summary);

  hid_t f = H5Fopen((dir / "catalog.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  hid_t ds = H5Dopen2(f, "interactions/timestamp", H5P_DEFAULT);
  hid_t dcpl = H5Dget_create_plist(ds);
  EXPECT_EQ(H5Pget_layout(dcpl), H5D_CHUNKED);
  bool deflate = false;
  for (int k = 0; k < H5Pget_nfilters(dcpl); ++k) {
    unsigned flags = 0, cd[8];
    size_t n = 8;
    deflate |= H5Pget_filter2(dcpl, unsigned(k), &flags, &n, cd, 0, nullptr, nullptr) == H5Z_FILTER_DEFLATE;
  }
  EXPECT_TRUE(deflate);
  H5Pclose(dcpl);
  H5Dclose(ds);
  H5Fclose(f);
}

TEST(CatalogFile, BadFilesGiveClearErrors) {
  fs::path dir = scratch("bad");
  Catalog c = catalog_build(raw_read_movielens_latest(kRaw / "ml-latest-tiny"), {});
  fs::path good = dir / "catalog.h5";
  catalog_write(c, good);
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  fs::path text = dir / "text.h5";
  std::ofstream(text) << "not hdf5 at all\n";
  EXPECT_NE(error_of([&] { catalog_read(text); }).find("not an HDF5 file"), std::string::npos);

  fs::path cut = dir / "truncated.h5";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  std::string e = error_of([&] { catalog_read(cut); });
  EXPECT_NE(e.find(cut.string()), std::string::npos) << e;

  fs::path foreign = dir / "foreign.h5";
  H5Fclose(H5Fcreate(foreign.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  EXPECT_NE(error_of([&] { catalog_read(foreign); }).find("not a ckf catalog file"), std::string::npos);

  EXPECT_NE(error_of([&] { catalog_read(dir / "absent.h5"); }).find("no such file"), std::string::npos);

  // A catalog from the future: same file, schema_version 2.
  fs::path future = dir / "future.h5";
  fs::copy_file(good, future);
  hid_t f = H5Fopen(future.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
  int64_t two = 2;
  H5Awrite(a, H5T_NATIVE_INT64, &two);
  H5Aclose(a);
  H5Fclose(f);
  e = error_of([&] { catalog_read(future); });
  EXPECT_NE(e.find("schema_version 2 is newer than this build reads (1)"), std::string::npos) << e;

  // An item id outside the catalog.
  fs::path bad_id = dir / "bad_id.h5";
  fs::copy_file(good, bad_id);
  f = H5Fopen(bad_id.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t ds = H5Dopen2(f, "interactions/item", H5P_DEFAULT);
  std::vector<int32_t> item = c.item;
  item[5] = 99;
  H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, item.data());
  H5Dclose(ds);
  H5Fclose(f);
  e = error_of([&] { catalog_read(bad_id); });
  EXPECT_NE(e.find("interactions/item[5] = 99"), std::string::npos) << e;
}
