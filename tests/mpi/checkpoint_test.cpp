// io/checkpoint on 1, 2 and 4 ranks: bit-identical round trip, resharding to other TP x DP grids
// (each real rank checks its share of the virtual ranks of every target grid), retention, and the
// failure cases (corrupt or missing shard, other base model, newer format, a rank failing to write).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/check.h"
#include "dist/mpi_communicator.h"
#include "tests/mpi/checkpoint_model.h"

namespace ckf {
namespace {

namespace fs = std::filesystem;
using namespace ckf::test;

// A fresh directory shared by all ranks (same node), removed at the end.
class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world = MpiCommunicator::world();
    int64_t pid = ::getpid();
    world->broadcast(std::span<int64_t>(&pid, 1), 0);
    dir = fs::temp_directory_path() / ("ckf_ckpt_test_" + std::to_string(pid) + "_" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    world->barrier();
  }
  void TearDown() override {
    world->barrier();
    if (world->rank() == 0) fs::remove_all(dir);
  }

  // Saves step `step` with grid (tp, world/tp); every rank holds the pattern of `step`.
  fs::path save(int64_t step, int tp, int keep_last = 0) {
    const int dp = world->size() / tp;
    GridPos pos{tp, dp, world->rank() % tp, world->rank() / tp};
    std::vector<Param> ps = model_params(pos);
    auto opt = make_optimizer(ps);
    fill_all(ps, *opt, step);
    return checkpoint_save(*world, dir, keep_last, test_meta(tp, dp), refs_of(ps), opt.get(),
                           pattern_state(step, world->rank()));
  }

  // Rank 0 changes files while the others wait.
  template <class Fn> void on_rank0(Fn fn) {
    world->barrier();
    if (world->rank() == 0) fn();
    world->barrier();
  }

  std::unique_ptr<Communicator> world;
  fs::path dir;
};

TEST_F(CheckpointTest, RoundTripIsBitIdentical) {
  const int tp = world->size() >= 2 ? 2 : 1;
  save(5, tp);
  std::ostringstream log;
  auto found = checkpoint_find_latest(dir, log);
  ASSERT_TRUE(found) << log.str();
  EXPECT_EQ(found->manifest.step, 5);
  EXPECT_EQ(found->manifest.world, world->size());
  EXPECT_EQ(found->manifest.meta.tp, tp);
  EXPECT_EQ(found->manifest.meta.placement, test_placement(world->size() / tp).str());
  EXPECT_EQ(found->manifest.config_hash, config_hash_of(test_meta(1, 1).config_text));
  EXPECT_EQ(found->manifest.meta.model.hash, test_model().hash);

  GridPos pos{tp, world->size() / tp, world->rank() % tp, world->rank() / tp};
  std::vector<Param> ps = model_params(pos);
  auto opt = make_optimizer(ps);
  TrainState state;
  checkpoint_load(*found, test_model(), refs_of(ps), opt.get(), &state, world->rank());
  EXPECT_EQ(count_all_mismatches(ps, *opt, 5), 0);
  EXPECT_EQ(opt->step_count(), 5 * 3 + 1);
  EXPECT_EQ(state, pattern_state(5, world->rank()));
}

// Saves with every tp that divides the world, then loads into every virtual grid with
// tp in {1, 2, 4} and dp in {1, 2, 3}: TP 2->1->2, 4->2, DP 4->2, ... at the global level.
TEST_F(CheckpointTest, ReshardsToAnyGrid) {
  for (int tp_save : {1, 2, 4}) {
    if (world->size() % tp_save) continue;
    save(10 + tp_save, tp_save);
    auto found = checkpoint_find_latest(dir);
    ASSERT_TRUE(found);
    ASSERT_EQ(found->manifest.step, 10 + tp_save);
    int checked = 0;
    for (int tp : {1, 2, 4})
      for (int dp : {1, 2, 3})
        for (int v = 0; v < tp * dp; v++) {
          if (v % world->size() != world->rank()) continue;
          GridPos pos{tp, dp, v % tp, v / tp};
          std::vector<Param> ps = model_params(pos);
          auto opt = make_optimizer(ps);
          checkpoint_load(*found, test_model(), refs_of(ps), opt.get(), nullptr, 0);
          EXPECT_EQ(count_all_mismatches(ps, *opt, 10 + tp_save), 0)
              << "saved tp " << tp_save << " dp " << world->size() / tp_save << ", loaded as rank " << v << " of tp "
              << tp << " dp " << dp;
          checked++;
        }
    EXPECT_GT(checked, 0);
  }
}

TEST_F(CheckpointTest, KeepLastCountsOnlyCompleteOnes) {
  on_rank0([&] {
    fs::create_directories(dir / "step-0000002");           // incomplete leftover, older
    fs::create_directories(dir / ".step-0000001.tmp");      // temporary leftover, older
    fs::create_directories(dir / "step-0000009");           // incomplete, newer than all
  });
  for (int64_t step = 1; step <= 5; step++) {
    if (step == 2) continue;
    save(step, 1, 2);
  }
  on_rank0([&] {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"step-0000004", "step-0000005", "step-0000009"}));
  });
  std::ostringstream log;
  auto found = checkpoint_find_latest(dir, log);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->manifest.step, 5);
  EXPECT_NE(log.str().find("step-0000009"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("no COMPLETE marker"), std::string::npos) << log.str();
}

TEST_F(CheckpointTest, CorruptOrMissingShardFallsBackToOlder) {
  save(1, 1);
  save(2, 1);
  const std::string victim = shard_file_name(world->size() - 1);
  on_rank0([&] {
    std::fstream f(dir / "step-0000002" / victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(fs::file_size(dir / "step-0000002" / victim) / 2));
    char c = 0;
    f.read(&c, 1);
    c ^= 0x20;
    f.seekp(static_cast<std::streamoff>(fs::file_size(dir / "step-0000002" / victim) / 2));
    f.write(&c, 1);
  });
  std::ostringstream log;
  auto found = checkpoint_find_latest(dir, log);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->manifest.step, 1);
  EXPECT_NE(log.str().find("step-0000002"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find(victim + ": CRC32"), std::string::npos) << log.str();

  save(3, 1);
  on_rank0([&] { fs::remove(dir / "step-0000003" / victim); });
  std::ostringstream log3;
  found = checkpoint_find_latest(dir, log3);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->manifest.step, 1);
  EXPECT_NE(log3.str().find(victim + ": listed in COMPLETE but missing"), std::string::npos) << log3.str();
}

TEST_F(CheckpointTest, RefusesAnotherBaseModel) {
  save(4, 1);
  auto found = checkpoint_find_latest(dir);
  ASSERT_TRUE(found);
  std::vector<Param> ps = model_params({1, world->size(), 0, world->rank()});
  ModelIdentity other = test_model();
  other.hash = "fnv1a64-sampled:00000000000000bb";
  try {
    checkpoint_load(*found, other, refs_of(ps), nullptr, nullptr, 0);
    ADD_FAILURE() << "loading a checkpoint of another base model must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("was trained on base model"), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointTest, RefusesANewerFormatVersion) {
  save(1, 1);
  save(2, 1);
  on_rank0([&] {
    const fs::path step2 = dir / "step-0000002";
    Manifest m = manifest_read(step2 / "manifest.h5");
    m.format_version = kCheckpointFormatVersion + 1;
    manifest_write(step2 / "manifest.h5", m);
    std::vector<std::string> files{"manifest.h5"};
    files.insert(files.end(), m.files.begin(), m.files.end());
    complete_write(step2, files);
  });
  try {
    checkpoint_find_latest(dir);
    ADD_FAILURE() << "a newer format version must not be skipped silently";
  } catch (const CheckpointVersionError& e) {
    EXPECT_NE(std::string(e.what()).find("format_version 2 is newer"), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointTest, AFailingRankFailsEveryRankAndKeepsOlderCheckpoints) {
  save(1, 1);
  std::vector<Param> ps = model_params({1, world->size(), 0, world->rank()});
  if (world->rank() == world->size() - 1) ps[0].name = "bad/name";  // HDF5 path separator: shard write fails
  try {
    checkpoint_save(*world, dir, 1, test_meta(1, world->size()), refs_of(ps), nullptr, pattern_state(2, world->rank()));
    ADD_FAILURE() << "save must fail on every rank";
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (world->rank() == world->size() - 1) EXPECT_NE(msg.find("'bad/name'"), std::string::npos) << msg;
    else EXPECT_NE(msg.find("failed on another rank"), std::string::npos) << msg;
  }
  on_rank0([&] {
    EXPECT_FALSE(fs::exists(dir / checkpoint_tmp_name(2)));
    EXPECT_FALSE(fs::exists(dir / "step-0000002"));
  });
  auto found = checkpoint_find_latest(dir);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->manifest.step, 1);
}

TEST_F(CheckpointTest, UnwritableDirectoryGivesAClearError) {
  const fs::path file = dir.string() + ".file";
  on_rank0([&] { std::ofstream(file) << "not a directory"; });
  std::vector<Param> ps = model_params({1, world->size(), 0, world->rank()});
  try {
    checkpoint_save(*world, file, 1, test_meta(1, world->size()), refs_of(ps), nullptr, pattern_state(1, world->rank()));
    ADD_FAILURE() << "saving under a regular file must fail";
  } catch (const Error& e) {
    if (world->rank() == 0) EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
  }
  on_rank0([&] { fs::remove(file); });
}

// A full disk (a 512 KiB tmpfs, when this process may mount one) fails the save on every rank with
// a clear error and leaves the older checkpoint loadable.
TEST_F(CheckpointTest, DiskFullFailsCleanlyAndKeepsOlderCheckpoint) {
  int64_t mounted = 0;
  if (world->rank() == 0) {
    fs::create_directories(dir);
    mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=512k") == 0;
  }
  world->broadcast(std::span<int64_t>(&mounted, 1), 0);
  if (!mounted) GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)";
  save(1, 1);
  on_rank0([&] {
    std::ofstream filler(dir / "filler", std::ios::binary);
    std::vector<char> block(4096, 'x');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size())) && filler.flush()) {
    }
  });
  try {
    save(2, 1);
    ADD_FAILURE() << "saving onto a full disk must fail";
  } catch (const Error& e) {
    if (world->rank() == 0) EXPECT_NE(std::string(e.what()).find("disk full"), std::string::npos) << e.what();
  }
  on_rank0([&] {
    EXPECT_FALSE(fs::exists(dir / checkpoint_tmp_name(2)));
    fs::remove(dir / "filler");
  });
  std::ostringstream log;
  auto found = checkpoint_find_latest(dir, log);
  ASSERT_TRUE(found) << log.str();
  EXPECT_EQ(found->manifest.step, 1);
  std::vector<Param> ps = model_params({1, world->size(), 0, world->rank()});
  auto opt = make_optimizer(ps);
  checkpoint_load(*found, test_model(), refs_of(ps), opt.get(), nullptr, 0);
  EXPECT_EQ(count_all_mismatches(ps, *opt, 1), 0);
  on_rank0([&] { EXPECT_EQ(::umount(dir.c_str()), 0); });
}

}  // namespace
}  // namespace ckf
