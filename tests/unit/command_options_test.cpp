// io/command_options.h, the option parser of every ckf command: flags and INI keys (sections for
// dotted names), the command line winning over the file, defaults, --help, and errors that name
// the flag or key, the file and the command's --help.
#include "io/command_options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_util.h"

using namespace ckf;
namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace {

struct Values {
  int dim = 16;
  double lr = 0.5;
  std::string name;
  bool on = false;
};

// A command with an int, a dotted double, a string and a switch.
struct Command {
  Values v;
  CommandOptions opts;
  explicit Command(bool ini) : opts("ckf demo", "ckf demo: options test", ini) {
    opts.add()("dim", po::value(&v.dim)->default_value(v.dim), "an int")(
        "optim.lr", po::value(&v.lr)->default_value(v.lr), "a double in [optim]")(
        "name", po::value(&v.name), "a string")("on", po::bool_switch(&v.on), "a switch");
  }
};

fs::path ini_file(const std::string& name, const std::string& text) {
  fs::path p = fs::path(testing::TempDir()) / ("ckf_opts_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p) << text;
  return p;
}

}  // namespace

TEST(CommandOptions, FlagsDefaultsAndIniFileCommandLineWins) {
  Command c(true);
  const fs::path ini = ini_file("a.ini", "dim = 7\nname = from-file\n[optim]\nlr = 0.125\n");
  ASSERT_TRUE(c.opts.parse({"--config", ini.string(), "--dim", "9", "--on"}));
  EXPECT_EQ(c.v.dim, 9);  // the command line wins over the file
  EXPECT_EQ(c.v.lr, 0.125);
  EXPECT_EQ(c.v.name, "from-file");
  EXPECT_TRUE(c.v.on);
  EXPECT_TRUE(c.opts.given("name"));
  EXPECT_FALSE(c.opts.given("help"));

  Command d(true);
  ASSERT_TRUE(d.opts.parse({}));
  EXPECT_EQ(d.v.dim, 16);
  EXPECT_EQ(d.v.lr, 0.5);
  EXPECT_FALSE(d.opts.given("name"));
  EXPECT_FALSE(d.v.on);
}

TEST(CommandOptions, HelpPrintsTheOptionsAndRunsNothing) {
  Command c(true);
  std::ostringstream help;
  EXPECT_FALSE(c.opts.parse({"--help", "--dim", "3"}, help));
  EXPECT_NE(help.str().find("ckf demo: options test"), std::string::npos) << help.str();
  EXPECT_NE(help.str().find("--optim.lr"), std::string::npos) << help.str();
  EXPECT_NE(help.str().find("--config"), std::string::npos) << help.str();
}

TEST(CommandOptions, ConfigIsAnOrdinaryOptionWithoutIni) {
  Command c(false);
  std::string config;
  c.opts.add()("config", po::value(&config), "the training configuration");
  const fs::path ini = ini_file("b.ini", "[model]\nrandom = tiny\n");  // not this command's keys
  ASSERT_TRUE(c.opts.parse({"--config", ini.string()}));
  EXPECT_EQ(config, ini.string());
  EXPECT_EQ(c.v.dim, 16);
}

TEST(CommandOptions, ErrorsNameTheCommandTheFlagAndTheFile) {
  std::string e = error_of([] { Command(true).opts.parse({"--bogus", "1"}); });
  EXPECT_NE(e.find("unrecognised option '--bogus' (ckf demo --help lists the options)"), std::string::npos) << e;
  e = error_of([] { Command(true).opts.parse({"--dim", "many"}); });
  EXPECT_NE(e.find("--dim"), std::string::npos) << e;
  EXPECT_NE(e.find("many"), std::string::npos) << e;

  const fs::path bad = ini_file("c.ini", "[optim]\nlr = fast\n");
  e = error_of([&] { Command(true).opts.parse({"--config", bad.string()}); });
  EXPECT_NE(e.find("--config " + bad.string() + ": "), std::string::npos) << e;
  EXPECT_NE(e.find("optim.lr"), std::string::npos) << e;
  const fs::path unknown = ini_file("d.ini", "colour = red\n");
  e = error_of([&] { Command(true).opts.parse({"--config", unknown.string()}); });
  EXPECT_NE(e.find("colour"), std::string::npos) << e;
  e = error_of([] { Command(true).opts.parse({"--config", "/nonexistent/x.ini"}); });
  EXPECT_NE(e.find("--config /nonexistent/x.ini: cannot open"), std::string::npos) << e;
  EXPECT_EQ(error_of([] { Command(true).opts.parse({"--dim", "3"}); }), "");
}
