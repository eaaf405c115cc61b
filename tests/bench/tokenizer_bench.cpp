// Encode throughput of the BPE tokenizer, line by line as `ckf prep` tokenizes prompts.
// Usage: tokenizer_bench TOKENIZER.json TEXT_FILE
// Prints MB/s and tokens/s for a cold pass (empty word cache) and a warm pass.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/check.h"
#include "io/tokenizer.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER.json TEXT_FILE\n", argv[0]);
    return 2;
  }
  try {
    ckf::Tokenizer tok = ckf::tokenizer_load_json(argv[1]);
    std::ifstream in(argv[2], std::ios::binary);
    CKF_CHECK(in, "cannot open " << argv[2]);
    std::vector<std::string> lines;
    size_t bytes = 0;
    for (std::string line; std::getline(in, line);) {
      lines.push_back(line + "\n");
      bytes += line.size() + 1;
    }
    std::printf("%-6s %10s %12s %10s %12s\n", "pass", "MB", "tokens", "MB/s", "Mtokens/s");
    for (const char* pass : {"cold", "warm"}) {
      auto t0 = std::chrono::steady_clock::now();
      size_t tokens = 0;
      for (const std::string& line : lines) tokens += tok.encode(line, false).size();
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%-6s %10.2f %12zu %10.2f %12.3f\n", pass, bytes / 1e6, tokens, bytes / 1e6 / s, tokens / 1e6 / s);
    }
  } catch (const ckf::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
