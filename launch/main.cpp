// `ckf`: one binary, one subcommand per job. Errors from any subcommand end here: printed with
// the rank (when under MPI) and a non-zero exit.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "core/check.h"
#include "dist/run_collectively.h"
#include "kernels/cpu/blas_env.h"
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

// Restarts this process once with OPENBLAS_CORETYPE set when OpenBLAS chose generic kernels on a
// CPU that has better ones (see kernels/cpu/blas_env.h). An explicit OPENBLAS_CORETYPE is respected.
static void blas_reexec_if_generic(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;
  std::string better = ckf::cpu::blas_better_coretype();
  if (better.empty()) return;
  setenv("OPENBLAS_CORETYPE", better.c_str(), 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run on with the generic kernels
}

int main(int argc, char** argv) {
  using namespace ckf;
  blas_reexec_if_generic(argv);
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
