// `ckf`: one binary, one subcommand per job. Errors from any subcommand end here: printed with
// the rank (when under MPI) and a non-zero exit.
#include <cstdlib>
#include <iostream>

#include "core/check.h"
#include "dist/run_collectively.h"
#include "launch/command.h"

namespace ckf {

std::map<std::string, Command>& command_registry() {
  static std::map<std::string, Command> registry;
  return registry;
}

static void print_usage() {
  std::cout << "usage: ckf <command> [options]   (ckf <command> --help for its options)\n\ncommands:\n";
  for (const auto& [name, cmd] : command_registry()) std::cout << "  " << name << "\n      " << cmd.summary << "\n";
  std::cout << "  --version\n      version and build features\n";
}

}  // namespace ckf

int main(int argc, char** argv) {
  using namespace ckf;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  std::string name = argv[1];
  if (name == "--version") name = "version";
  auto it = command_registry().find(name);
  if (it == command_registry().end()) {
    std::cerr << "ckf: unknown command '" << argv[1] << "' (ckf --help lists them)\n";
    return 2;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  // Prints the error with the rank; under MPI it aborts the whole job so no peer waits forever.
  return run_collectively("ckf " + name, [&] { return it->second.run(args); });
}
