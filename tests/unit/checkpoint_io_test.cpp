// Single-process pieces of the checkpoint layer: resharding over random uneven layouts against a
// global reference, FNV-1a and CRC32 against published check values, the sampled model hash
// against an independent reading of its documented rule, COMPLETE verification, manifest and
// shard-state round trips (including empty values) and the format-version refusal.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/check.h"
#include "io/checkpoint_dir.h"
#include "io/checkpoint_manifest.h"
#include "io/checkpoint_reshard.h"
#include "io/checkpoint_shard.h"
#include "io/model_identity.h"

namespace ckf {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("ckf_ckpt_unit_" + std::to_string(::getpid()) + "_" +
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

// Random cut points: a split of `n` into `parts` non-empty pieces, as (offset, length) pairs.
std::vector<std::pair<int64_t, int64_t>> random_cuts(int64_t n, int parts, std::mt19937& rng) {
  std::vector<int64_t> cuts{0, n};
  while (static_cast<int>(cuts.size()) < parts + 1) {
    int64_t c = std::uniform_int_distribution<int64_t>(1, n - 1)(rng);
    if (std::find(cuts.begin(), cuts.end(), c) == cuts.end()) cuts.push_back(c);
  }
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::pair<int64_t, int64_t>> out;
  for (size_t i = 0; i + 1 < cuts.size(); i++) out.push_back({cuts[i], cuts[i + 1] - cuts[i]});
  return out;
}

// Copy of the slice [off, off+len) along dim of a row-major global array.
std::vector<float> slice_of(const std::vector<float>& global, const Shape& g, int dim, int64_t off, int64_t len) {
  std::vector<float> out;
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < dim; d++) outer *= g[d];
  for (size_t d = dim + 1; d < g.size(); d++) inner *= g[d];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = off; i < off + len; i++)
      for (int64_t k = 0; k < inner; k++) out.push_back(global[(o * g[dim] + i) * inner + k]);
  return out;
}

TEST(Reshard, RandomUnevenLayoutsMatchTheGlobalTensor) {
  std::mt19937 rng(11);
  for (const Shape& g : {Shape{7}, Shape{5, 6}, Shape{4, 9, 3}}) {
    std::vector<float> global(static_cast<size_t>(shape_numel(g)));
    for (float& x : global) x = std::uniform_real_distribution<float>(-3, 3)(rng);
    for (int trial = 0; trial < 20; trial++) {
      const int nd = static_cast<int>(g.size());
      const int save_dim = std::uniform_int_distribution<int>(-1, nd - 1)(rng);
      const int load_dim = std::uniform_int_distribution<int>(-1, nd - 1)(rng);
      TensorEntry entry{"param", "t", g, {}};
      std::map<int, std::vector<float>> data;  // by shard index (as "rank")
      auto add_shard = [&](int dim, int64_t off, int64_t len) {
        Shape local = g;
        if (dim >= 0) local[dim] = len;
        const int rank = static_cast<int>(entry.shards.size());
        entry.shards.push_back({rank, dim, off, local});
        data[rank] = dim >= 0 ? slice_of(global, g, dim, off, len) : global;
      };
      for (int copy = 0; copy < 2; copy++) {  // two replicas, cut differently
        if (save_dim < 0) add_shard(-1, 0, 0);
        else
          for (auto [off, len] : random_cuts(g[save_dim], std::min<int>(3, static_cast<int>(g[save_dim])), rng))
            add_shard(save_dim, off, len);
      }
      std::vector<std::pair<int64_t, int64_t>> targets{{0, 0}};
      if (load_dim >= 0) targets = random_cuts(g[load_dim], std::min<int>(2, static_cast<int>(g[load_dim])), rng);
      for (auto [off, len] : targets) {
        Shape local = g;
        if (load_dim >= 0) local[load_dim] = len;
        Param p = Param::make("t", local);
        p.global_shape = g;
        p.split_dim = load_dim;
        p.split_offset = off;
        reshard_fill(p, entry, [&](const ShardRef& r) { return data.at(r.rank); });
        const auto want = load_dim >= 0 ? slice_of(global, g, load_dim, off, len) : global;
        EXPECT_EQ(std::vector<float>(p.value.data<float>(), p.value.data<float>() + p.value.numel()), want)
            << shape_str(g) << " saved on dim " << save_dim << ", loaded on dim " << load_dim << " at " << off;
      }
    }
  }
}

TEST(Reshard, GapsAndShapeMismatchesAreErrors) {
  TensorEntry entry{"param", "w", {6, 2}, {{0, 0, 0, {2, 2}}, {1, 0, 4, {2, 2}}}};  // rows 2..3 missing
  Param p = Param::make("w", {6, 2});
  auto load = [](const ShardRef& r) { return std::vector<float>(static_cast<size_t>(shape_numel(r.shape)), 1.0f); };
  try {
    reshard_fill(p, entry, load);
    ADD_FAILURE() << "a gap must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cover 8 of the 12 elements"), std::string::npos) << e.what();
  }
  Param q = Param::make("w", {6, 3});
  EXPECT_THROW(reshard_fill(q, entry, load), Error);
  TensorEntry outside{"param", "w", {6, 2}, {{0, 0, 5, {2, 2}}}};
  EXPECT_THROW(reshard_fill(p, outside, load), Error);
}

TEST(CheckpointHashes, PublishedCheckValues) {
  EXPECT_EQ(fnv1a64("", 0), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar", 6), 0x85944171f73967e8ull);
  TempDir t;
  std::ofstream(t.path / "check") << "123456789";
  EXPECT_EQ(file_crc32(t.path / "check"), 0xcbf43926u);
}

TEST(CheckpointHashes, ModelIdentityFollowsItsSamplingRule) {
  TempDir t;
  const fs::path f = t.path / "model.bin";
  const int64_t size = 3 * (1 << 20) + 12345;
  std::vector<char> bytes(static_cast<size_t>(size));
  std::mt19937 rng(5);
  for (char& c : bytes) c = static_cast<char>(rng());
  std::ofstream(f, std::ios::binary).write(bytes.data(), size);
  // Independent reading of the rule: 16 blocks of 64 KiB at k * (size - 64 KiB) / 15, after the size.
  uint64_t h = fnv1a64(&size, sizeof size);
  const int64_t block = 64 << 10;
  for (int64_t k = 0; k < 16; k++) h = fnv1a64(bytes.data() + k * (size - block) / 15, block, h);
  const ModelIdentity id = model_identity_of(f);
  EXPECT_EQ(id.size, size);
  EXPECT_EQ(id.hash, "fnv1a64-sampled:" + hex64(h));
  // A change inside the last sampled block changes the hash.
  bytes[static_cast<size_t>(size - 10)] ^= 1;
  std::ofstream(f, std::ios::binary).write(bytes.data(), size);
  EXPECT_NE(model_identity_of(f).hash, id.hash);
}

TEST(CheckpointDir, CompleteMarkerDetectsSizeAndContentChanges) {
  TempDir t;
  std::ofstream(t.path / "a.h5") << "alpha";
  std::ofstream(t.path / "b.h5") << "bravo!";
  EXPECT_THROW(complete_verify(t.path), Error);
  complete_write(t.path, {"a.h5", "b.h5"});
  EXPECT_EQ(complete_verify(t.path), (std::vector<std::string>{"a.h5", "b.h5"}));
  std::ofstream(t.path / "b.h5") << "bravo?";
  try {
    complete_verify(t.path);
    ADD_FAILURE() << "changed content must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("b.h5: CRC32"), std::string::npos) << e.what();
  }
  std::ofstream(t.path / "a.h5") << "alph";
  EXPECT_THROW(complete_verify(t.path), Error);
  EXPECT_EQ(checkpoint_dir_name(42), "step-0000042");
  EXPECT_EQ(checkpoint_tmp_name(42), ".step-0000042.tmp");
}

TEST(CheckpointFiles, ManifestAndStateRoundTripWithEmptyValues) {
  TempDir t;
  Manifest m;
  m.step = 9;
  m.world = 2;
  m.meta = CheckpointMeta{2, 1, "", "", ModelIdentity{"", 0, ""}};
  m.config_hash = config_hash_of("");
  m.files = {shard_file_name(0), shard_file_name(1)};
  m.tensors.push_back({"param", "x.y", {4, 3}, {{0, 0, 0, {2, 3}}, {1, 0, 2, {2, 3}}}});
  manifest_write(t.path / "manifest.h5", m);
  Manifest r = manifest_read(t.path / "manifest.h5");
  EXPECT_EQ(r.step, 9);
  EXPECT_EQ(r.files, m.files);
  EXPECT_EQ(r.meta.placement, "");
  ASSERT_EQ(r.tensors.size(), 1u);
  EXPECT_EQ(r.tensors[0].global_shape, (Shape{4, 3}));
  EXPECT_EQ(r.tensors[0].shards[1].split_offset, 2);
  EXPECT_EQ(r.tensors[0].shards[1].shape, (Shape{2, 3}));

  m.format_version = kCheckpointFormatVersion + 1;
  manifest_write(t.path / "future.h5", m);
  EXPECT_THROW(manifest_read(t.path / "future.h5"), CheckpointVersionError);
  std::ofstream(t.path / "junk.h5") << "not hdf5";
  EXPECT_THROW(manifest_read(t.path / "junk.h5"), Error);

  TrainState s;
  s.step = 3;
  s.extra_string["empty"] = "";
  s.extra_double["x"] = -0.1;
  shard_write(t.path / "rank.h5", 0, 1, {}, s);
  EXPECT_EQ(shard_read_state(t.path / "rank.h5"), s);
  EXPECT_THROW(shard_read_state(t.path / "manifest.h5"), Error);
}

}  // namespace
}  // namespace ckf
