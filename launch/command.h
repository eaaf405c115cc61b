// Subcommands of `ckf`. Each lives in its own launch/cmd_*.cpp and registers itself with
// CKF_COMMAND, so adding one touches no shared file.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ckf {

struct Command {
  std::string summary;
  // argv without the program and subcommand names; returns the process exit status.
  std::function<int(const std::vector<std::string>& args)> run;
};

std::map<std::string, Command>& command_registry();

struct CommandRegistration {
  CommandRegistration(const std::string& name, const std::string& summary,
                      std::function<int(const std::vector<std::string>&)> run) {
    command_registry()[name] = Command{summary, std::move(run)};
  }
};

}  // namespace ckf

#define CKF_COMMAND_CONCAT2(a, b) a##b
#define CKF_COMMAND_CONCAT(a, b) CKF_COMMAND_CONCAT2(a, b)
#define CKF_COMMAND(name, summary, fn) \
  static ::ckf::CommandRegistration CKF_COMMAND_CONCAT(ckf_command_, __LINE__)(name, summary, fn)
