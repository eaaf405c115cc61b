// Options of one `ckf` command: Boost.Program_options over its arguments and, for a command that
// takes one, an INI file named by --config in which every option is also a key (a dotted option
// `--optim.lr` is `lr` under `[optim]`); the command line wins over the file. --help prints the
// options. A parse error (unknown option, malformed value, unreadable file) is a ckf::Error that
// names the flag or key, the file when it came from one, and `<command> --help` (the launcher
// prefixes the command name, launch/main.cpp).
#pragma once
#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

namespace ckf {

class CommandOptions {
 public:
  // `command` as typed ("ckf cf"), `caption` heads the --help text. Adds --help, and with
  // `ini_config` --config FILE. A command whose --config means something else (ckf eval: the
  // training configuration) passes false and declares it like any other option.
  CommandOptions(std::string command, const std::string& caption, bool ini_config);

  boost::program_options::options_description_easy_init add() { return desc_.add_options(); }

  // Parses args (without the program and command names) into the declared variables. Returns
  // false, after printing the options to help_out, when --help was given: nothing to run.
  bool parse(const std::vector<std::string>& args, std::ostream& help_out = std::cout);

  bool given(const std::string& name) const { return vm_.count(name) > 0; }
  const boost::program_options::variables_map& values() const { return vm_; }

 private:
  std::string command_;
  bool ini_config_;
  boost::program_options::options_description desc_;
  boost::program_options::variables_map vm_;
};

}  // namespace ckf
