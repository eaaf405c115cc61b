// Inference on the base model (adapters at their initial zero delta): `ckf generate` (greedy, KV
// cache), `ckf score` (per-token log-probs as JSON) and `ckf perplexity` (sliding windows).
// All three share the model options and the thread setting: --threads, else OPENBLAS_NUM_THREADS,
// else every core, is handed to OpenBLAS, which does the model's matrix work.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "core/check.h"
#include "core/llama_generate.h"
#include "core/llama_score.h"
#include "io/command_options.h"
#include "io/model_load.h"
#include "io/prompt_templates.h"
#include "io/tokenizer.h"
#include "kernels/cpu/matmul.h"
#include "launch/command.h"

namespace ckf {

namespace po = boost::program_options;

namespace {

// The adapter set the commands run through; its B is zero, so outputs are the base model's.
const char* const kTask = "base";

struct ModelArgs {
  std::string model;
  int threads = 0;  // 0: OPENBLAS_NUM_THREADS or all cores
};

void add_model_options(CommandOptions& opts, ModelArgs& a) {
  opts.add()("model", po::value(&a.model), "model: a .gguf file or a Hugging Face model directory")(
      "threads", po::value(&a.threads)->default_value(0), "BLAS threads (0: $OPENBLAS_NUM_THREADS, else all cores)");
}

// Parses args into the options' variables; false when --help was asked (the help is printed).
bool parse(const std::vector<std::string>& args, CommandOptions& opts, const ModelArgs& a, const char* name) {
  if (!opts.parse(args)) return false;
  CKF_CHECK(!a.model.empty(), "--model is required (ckf " << name << " --help)");
  CKF_CHECK(a.threads >= 0, "--threads " << a.threads << " must be >= 0");
  return true;
}

void set_threads(int threads) {
  if (threads == 0) {
    const char* env = std::getenv("OPENBLAS_NUM_THREADS");
    threads = env ? std::atoi(env) : int(std::thread::hardware_concurrency());
  }
  cpu::blas_set_threads(std::max(threads, 1));
}

LlamaModel load(const ModelArgs& a) {
  set_threads(a.threads);
  return llama_model_load(a.model, lora_spec_shared_default(), lora_spec_task_default(), {kTask}, 0);
}

// JSON string literal: quotes, backslash and control bytes escaped; other bytes (UTF-8) verbatim.
std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

int generate_run(const std::vector<std::string>& args) {
  ModelArgs a;
  std::string prompt;
  int max_new = 32;
  bool chat = false;
  CommandOptions opts("ckf generate", "ckf generate --model PATH --prompt TEXT [--max-new N] [--chat]", true);
  add_model_options(opts, a);
  opts.add()("prompt", po::value(&prompt), "text to continue")(
      "max-new", po::value(&max_new)->default_value(32), "most tokens to generate (stops early at end-of-sequence)")(
      "chat", po::bool_switch(&chat), "wrap the prompt in one ChatML user turn (instruction-tuned models)");
  if (!parse(args, opts, a, "generate")) return 0;
  CKF_CHECK(!prompt.empty(), "--prompt is required and must not be empty (ckf generate --help)");
  CKF_CHECK(max_new >= 0, "--max-new " << max_new << " must be >= 0");
  Tokenizer tok = tokenizer_load(a.model);
  LlamaModel model = load(a);
  const std::string text = chat ? std::string(kChatUserOpen) + prompt + kChatUserClose : prompt;
  std::vector<int32_t> ids = llama_generate_greedy(model, kTask, tok.encode(text, true), max_new, tok.eos_id());
  std::cout << tok.decode(ids, true) << "\n";
  return 0;
}

int score_run(const std::vector<std::string>& args) {
  ModelArgs a;
  std::string text;
  CommandOptions opts("ckf score", "ckf score --model PATH --text TEXT", true);
  add_model_options(opts, a);
  opts.add()("text", po::value(&text), "text whose tokens are scored");
  if (!parse(args, opts, a, "score")) return 0;
  Tokenizer tok = tokenizer_load(a.model);
  std::vector<int32_t> ids = tok.encode(text, true);
  CKF_CHECK(ids.size() >= 2, "--text must encode to at least 2 tokens, got " << ids.size());
  LlamaModel model = load(a);
  std::vector<float> lp = llama_token_logprobs(model, kTask, ids);
  // The first token has no prefix to be predicted from: its logprob is null.
  std::cout << "[\n";
  for (size_t i = 0; i < ids.size(); ++i) {
    std::ostringstream logprob;
    logprob.precision(9);
    if (i == 0) logprob << "null";
    else logprob << lp[i - 1];
    std::cout << "  {\"id\": " << ids[i] << ", \"token\": " << json_quote(tok.decode({ids[i]}))
              << ", \"logprob\": " << logprob.str() << "}" << (i + 1 < ids.size() ? "," : "") << "\n";
  }
  std::cout << "]\n";
  return 0;
}

int perplexity_run(const std::vector<std::string>& args) {
  ModelArgs a;
  std::string file;
  int ctx = 0, stride = 0;
  CommandOptions opts("ckf perplexity", "ckf perplexity --model PATH --file F [--ctx N] [--stride S]", true);
  add_model_options(opts, a);
  opts.add()("file", po::value(&file), "UTF-8 text file")(
      "ctx", po::value(&ctx)->default_value(0),
      "window in tokens (0: the model's context, at most 1024 to bound CPU memory)")(
      "stride", po::value(&stride)->default_value(0), "window advance in tokens, < ctx (0: ctx / 2)");
  if (!parse(args, opts, a, "perplexity")) return 0;
  CKF_CHECK(!file.empty(), "--file is required (ckf perplexity --help)");
  std::ifstream in(file, std::ios::binary);
  CKF_CHECK(in, "--file " << file << ": cannot open");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Tokenizer tok = tokenizer_load(a.model);
  std::vector<int32_t> ids = tok.encode(text, true);
  CKF_CHECK(ids.size() >= 2, "--file " << file << " must encode to at least 2 tokens, got " << ids.size());
  LlamaModel model = load(a);
  if (ctx == 0) ctx = std::min(model.config.max_seq, 1024);
  if (stride == 0) stride = std::max(ctx / 2, 1);
  Perplexity p = llama_perplexity(model, kTask, ids, ctx, stride);
  std::printf("perplexity %.6f over %lld tokens (mean nll %.6f, ctx %d, stride %d)\n", p.ppl(),
              static_cast<long long>(p.scored), p.nll / double(p.scored), ctx, stride);
  return 0;
}

}  // namespace

CKF_COMMAND("generate", "greedy continuation of a prompt by the base model", generate_run);
CKF_COMMAND("score", "per-token log-probabilities of a text under the base model, as JSON", score_run);
CKF_COMMAND("perplexity", "perplexity of a text file under the base model (sliding windows)", perplexity_run);

}  // namespace ckf
