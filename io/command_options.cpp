#include "io/command_options.h"

#include <filesystem>
#include <fstream>

#include "core/check.h"

namespace ckf {

namespace po = boost::program_options;

CommandOptions::CommandOptions(std::string command, const std::string& caption, bool ini_config)
    : command_(std::move(command)), ini_config_(ini_config), desc_(caption) {
  desc_.add_options()("help", "this help");
  if (ini_config_)
    desc_.add_options()("config", po::value<std::string>(), "INI file with any of these options (command line wins)");
}

bool CommandOptions::parse(const std::vector<std::string>& args, std::ostream& help_out) {
  const std::string see = " (" + command_ + " --help lists the options)";
  try {
    po::store(po::command_line_parser(args).options(desc_).run(), vm_);
  } catch (const po::error& e) {
    CKF_FAIL(e.what() << see);
  }
  if (vm_.count("help")) {
    help_out << desc_ << "\n";
    return false;
  }
  if (ini_config_ && vm_.count("config")) {
    // Stored after the command line: Boost keeps the first value stored, so the command line wins.
    const std::string file = vm_["config"].as<std::string>();
    std::ifstream in(file);
    CKF_CHECK(std::filesystem::is_regular_file(file) && in, "--config " << file << ": cannot open");
    try {
      po::store(po::parse_config_file(in, desc_), vm_);
    } catch (const po::error& e) {
      CKF_FAIL("--config " << file << ": " << e.what() << see);
    }
  }
  try {
    po::notify(vm_);
  } catch (const po::error& e) {
    CKF_FAIL(e.what() << see);
  }
  return true;
}

}  // namespace ckf
