// ckf train configuration: flags and INI keys, every error naming the flag, and the curriculum
// schedule against its closed form sigmoid((step / total - center) * sharpness) computed here.
#include "core/train/train_config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/check.h"

using namespace ckf;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> base_args() {
  return {"--model.random", "tiny", "--model.vocab", "300",      "--data.dir",   "d",
          "--data.cf",      "c.h5", "--data.tasks",  "ctr,topk", "--data.batch", "3,2"};
}

std::string error_of(std::vector<std::string> args) {
  TrainConfig cfg;
  std::ostringstream help;
  try {
    train_config_parse(args, cfg, help);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> with(std::vector<std::string> a, std::initializer_list<std::string> more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

}  // namespace

TEST(TrainConfig, FlagsAndIniFileCommandLineWins) {
  const fs::path ini = fs::path(testing::TempDir()) / "train_config_test.ini";
  {
    std::ofstream out(ini);
    out << "steps = 40\nseed = 9\n[optim]\nlr = 0.01\nschedule = linear\n[lora]\nshared-r = 4\n[data]\nbatch = 5,6\n";
  }
  TrainConfig cfg;
  std::ostringstream help;
  ASSERT_TRUE(train_config_parse(with(base_args(), {"--config", ini.string(), "--steps", "30"}), cfg, help));
  EXPECT_EQ(cfg.steps, 30);  // command line wins over the file
  EXPECT_EQ(cfg.max_steps, 30);
  EXPECT_EQ(cfg.seed, 9u);
  EXPECT_FLOAT_EQ(cfg.optim.schedule.peak_lr, 0.01f);
  EXPECT_EQ(cfg.optim.schedule.decay, LrDecay::linear);
  EXPECT_EQ(cfg.optim.schedule.total_steps, 30);
  EXPECT_EQ(cfg.shared_spec.r, 4);
  EXPECT_EQ(cfg.tasks, (std::vector<std::string>{"ctr", "topk"}));
  EXPECT_EQ(cfg.batch, (std::vector<int64_t>{3, 2}));            // the flag, not the file's 5,6
  EXPECT_EQ(cfg.loss_weights, (std::vector<double>{1.0, 1.0}));  // default
  EXPECT_NE(cfg.config_text.find("optim.lr = 0.01"), std::string::npos) << cfg.config_text;
}

TEST(TrainConfig, SingleLoraPutsOneSharedSetOnQkvo) {
  TrainConfig cfg;
  std::ostringstream help;
  ASSERT_TRUE(train_config_parse(with(base_args(), {"--lora.single"}), cfg, help));
  EXPECT_EQ(cfg.shared_spec.targets,
            (std::vector<LoraTarget>{LoraTarget::q, LoraTarget::k, LoraTarget::v, LoraTarget::o}));
  EXPECT_TRUE(cfg.task_spec.targets.empty());
}

TEST(TrainConfig, ErrorsNameTheFlag) {
  EXPECT_NE(error_of(with(base_args(), {"--no-such-option", "1"})).find("no-such-option"), std::string::npos);
  EXPECT_NE(error_of(with(base_args(), {"--optim.lr", "fast"})).find("optim.lr"), std::string::npos);
  EXPECT_NE(error_of(with(base_args(), {"--data.batch", "3"})).find("--data.batch"), std::string::npos);
  EXPECT_NE(error_of(with(base_args(), {"--data.batch", "3,x"})).find("--data.batch"), std::string::npos);
  EXPECT_NE(error_of(with(base_args(), {"--data.loss-weights", "1,-2"})).find("--data.loss-weights"),
            std::string::npos);
  EXPECT_NE(error_of(with(base_args(), {"--data.loss-weights", "1"})).find("--data.loss-weights"), std::string::npos);
  EXPECT_NE(error_of(with(base_args(), {"--mapper.kind", "mlp"})).find("--mapper.kind"), std::string::npos);
  EXPECT_NE(error_of(with(base_args(), {"--lora.shared-targets", "q,zz"})).find("--lora.shared-targets"),
            std::string::npos);
  EXPECT_NE(error_of(with(base_args(), {"--optim.schedule", "step"})).find("--optim.schedule"), std::string::npos);
  EXPECT_NE(error_of(with(base_args(), {"--resume", "auto"})).find("--ckpt-dir"), std::string::npos);
  EXPECT_NE(error_of(with(base_args(), {"--max-steps", "500"})).find("--max-steps"), std::string::npos);
  EXPECT_NE(error_of({"--model.random", "tiny", "--model.vocab", "300"}).find("--data.dir"), std::string::npos);
  EXPECT_NE(error_of(with(base_args(), {"--device", "gpu"})).find("--device gpu"), std::string::npos);
  EXPECT_NE(error_of(with(base_args(), {"--device", "cuda", "--tp", "2"})).find("--tp"), std::string::npos);
#ifndef CKF_WITH_CUDA
  EXPECT_NE(error_of(with(base_args(), {"--device", "cuda"})).find("no CUDA backend"), std::string::npos);
#endif
  // A bad key inside the INI file names the key too.
  const fs::path ini = fs::path(testing::TempDir()) / "train_config_bad.ini";
  {
    std::ofstream out(ini);
    out << "[optim]\nwarmup = soon\n";
  }
  EXPECT_NE(error_of(with(base_args(), {"--config", ini.string()})).find("optim.warmup"), std::string::npos);
  EXPECT_EQ(error_of(base_args()), "");
}

TEST(TrainConfig, EvalOptionsFromIniAndTheirErrors) {
  TrainConfig off;
  std::ostringstream help;
  ASSERT_TRUE(train_config_parse(base_args(), off, help));
  EXPECT_EQ(off.eval_every, 0);  // off by default
  const fs::path ini = fs::path(testing::TempDir()) / "train_config_eval.ini";
  {
    std::ofstream out(ini);
    out << "eval-every = 20\neval-samples = 7\neval-tokenizer = tok.json\n";
  }
  TrainConfig cfg;
  ASSERT_TRUE(train_config_parse(with(base_args(), {"--config", ini.string()}), cfg, help));
  EXPECT_EQ(cfg.eval_every, 20);
  EXPECT_EQ(cfg.eval_samples, 7);
  EXPECT_EQ(cfg.eval_tokenizer, "tok.json");
  EXPECT_NE(error_of(with(base_args(), {"--eval-every", "-1"})).find("--eval-every"), std::string::npos);
  EXPECT_NE(error_of(with(base_args(), {"--eval-samples", "0"})).find("--eval-samples"), std::string::npos);
  // A random model has no tokenizer to find the answer tokens with.
  EXPECT_NE(error_of(with(base_args(), {"--eval-every", "5"})).find("--eval-tokenizer"), std::string::npos);
}

TEST(Curriculum, ProbabilityIsTheClosedFormSigmoid) {
  CurriculumConfig c;
  c.on = true;
  for (auto [center, sharp] : {std::pair{0.5, 10.0}, std::pair{0.3, 4.0}, std::pair{0.8, 25.0}}) {
    c.center = center;
    c.sharpness = sharp;
    for (int64_t step : {0, 1, 7, 50, 99, 137}) {
      const double x = (double(step) / 137.0 - center) * sharp;
      EXPECT_NEAR(curriculum_p_soft(c, step, 137), 1.0 / (1.0 + std::exp(-x)), 1e-12);
    }
  }
  c.on = false;
  EXPECT_EQ(curriculum_p_soft(c, 3, 10), 1.0);
}

TEST(Curriculum, ChoiceIsAPureFunctionWithTheScheduledFrequency) {
  CurriculumConfig c;
  c.on = true;
  c.center = 0.4;
  c.sharpness = 6.0;
  for (int64_t step : {5, 40, 77}) {
    const double p = curriculum_p_soft(c, step, 100);
    int soft = 0, changed = 0;
    const int n = 20000;
    for (int64_t pos = 0; pos < n; ++pos) {
      const bool a = curriculum_use_soft(c, 11, step, 100, 2, pos);
      EXPECT_EQ(a, curriculum_use_soft(c, 11, step, 100, 2, pos));
      soft += a;
      changed += a != curriculum_use_soft(c, 12, step, 100, 2, pos);
    }
    // Binomial standard deviation is at most 0.0036 for n = 20000: 0.02 is > 5 sigma.
    EXPECT_NEAR(double(soft) / n, p, 0.02) << "step " << step;
    EXPECT_GT(changed, 0) << "the seed must matter";
  }
}
