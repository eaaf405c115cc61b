// Byte-level BPE tokenizer against Hugging Face `tokenizers` (goldens from
// tests/golden/make_tokenizer_golden.py): pre-tokenizer pieces, lossy UTF-8 decoding, encode/decode
// of three hand-made tokenizer.json fixtures, SmolLM2-135M-Instruct ids, and loader errors.
#include "io/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/check.h"
#include "io/json.h"
#include "model_path.h"
#include "io/pretokenize.h"
#include "io/unicode.h"

using namespace ckf;

namespace {

const std::filesystem::path kDataDir = std::filesystem::path(CKF_TEST_DATA_DIR) / "tokenizer";

std::vector<int32_t> json_ids(const Json& array) {
  std::vector<int32_t> ids;
  for (const Json& v : array.as_array()) ids.push_back((int32_t)v.as_int64());
  return ids;
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += (char)std::stoi(hex.substr(i, 2), nullptr, 16);
  return out;
}

// Checks every golden case (encode with and without BOS/EOS, decode with and without special
// tokens) and the decode-only cases of one tokenizer.
void expect_golden(const Tokenizer& tok, const Json& golden) {
  const Json::Array& cases = golden.at("cases").as_array();
  ASSERT_FALSE(cases.empty());
  for (const Json& c : cases) {
    const std::string& text = c.at("text").as_string();
    std::vector<int32_t> ids = json_ids(c.at("ids"));
    EXPECT_EQ(tok.encode(text, false), ids) << "text: " << text;
    EXPECT_EQ(tok.encode(text, true), json_ids(c.at("ids_add_special"))) << "text: " << text;
    EXPECT_EQ(tok.decode(ids), c.at("decoded").as_string()) << "text: " << text;
    EXPECT_EQ(tok.decode(ids, true), c.at("decoded_skip_special").as_string()) << "text: " << text;
  }
  for (const Json& c : golden.at("decode_cases").as_array())
    EXPECT_EQ(tok.decode(json_ids(c.at("ids"))), c.at("decoded").as_string());
}

// Writes `text` to a file in the test's scratch directory and returns its path.
std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  std::filesystem::path dir = std::filesystem::path(CKF_BINARY_DIR) / "tokenizer_test_tmp";
  std::filesystem::create_directories(dir);
  std::filesystem::path path = dir / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Expects loading `text` as tokenizer.json to fail with a message containing the file name and
// every string in `needles`.
void expect_load_error(const std::string& name, const std::string& text, const std::vector<std::string>& needles) {
  std::filesystem::path path = write_temp(name, text);
  try {
    tokenizer_load_json(path);
    ADD_FAILURE() << name << ": loaded without error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(name), std::string::npos) << msg;
    for (const std::string& n : needles)
      EXPECT_NE(msg.find(n), std::string::npos) << "missing '" << n << "' in: " << msg;
  }
}

void replace_once(std::string& s, const std::string& from, const std::string& to) {
  size_t pos = s.find(from);
  ASSERT_NE(pos, std::string::npos) << from;
  s.replace(pos, from.size(), to);
}

}  // namespace

TEST(Pretokenize, MatchesHuggingFacePieces) {
  Json golden = json_parse_file(kDataDir / "pretokenize_golden.json");
  for (auto [kind, name] : {std::pair{PreTokenizer::gpt2, "gpt2"}, std::pair{PreTokenizer::digits_gpt2, "digits_gpt2"},
                            std::pair{PreTokenizer::llama3, "llama3"}}) {
    const Json::Array& cases = golden.at(name).as_array();
    ASSERT_GT(cases.size(), 400u);
    for (const Json& c : cases) {
      const std::string& text = c.at("text").as_string();
      std::vector<std::string_view> pieces;
      pretokenize(text, kind, pieces);
      std::vector<std::string> want;
      for (const Json& p : c.at("pieces").as_array()) want.push_back(p.as_string());
      EXPECT_EQ(std::vector<std::string>(pieces.begin(), pieces.end()), want) << name << " text: " << text;
    }
  }
}

TEST(Pretokenize, RejectsInvalidUtf8) {
  std::vector<std::string_view> pieces;
  EXPECT_THROW(pretokenize("ok \xC3(", PreTokenizer::gpt2, pieces), Error);
}

TEST(Utf8, LossyMatchesPythonReplace) {
  Json golden = json_parse_file(kDataDir / "utf8_lossy_golden.json");
  ASSERT_GT(golden.as_array().size(), 300u);
  for (const Json& c : golden.as_array())
    EXPECT_EQ(utf8_lossy(from_hex(c.at("hex").as_string())), c.at("decoded").as_string()) << c.at("hex").as_string();
}

TEST(TokenizerJson, TinyFixturesMatchHuggingFace) {
  Json golden = json_parse_file(kDataDir / "tiny_golden.json");
  for (const char* name : {"tiny_tokenizer.json", "tiny_tokenizer_legacy.json", "tiny_tokenizer_llama3.json"}) {
    SCOPED_TRACE(name);
    Tokenizer tok = tokenizer_load_json(kDataDir / name);
    expect_golden(tok, golden.at(name));
  }
}

TEST(TokenizerJson, TokenLookups) {
  Tokenizer tok = tokenizer_load_json(kDataDir / "tiny_tokenizer.json");
  Json fixture = json_parse_file(kDataDir / "tiny_tokenizer.json");
  // Every vocab entry and added token round-trips through both lookups.
  for (const auto& [token, id] : fixture.at("model").at("vocab").as_object()) {
    EXPECT_EQ(tok.token_to_id(token), id.as_int64()) << token;
    EXPECT_EQ(tok.id_to_token((int32_t)id.as_int64()), token);
  }
  for (const Json& t : fixture.at("added_tokens").as_array()) {
    EXPECT_EQ(tok.token_to_id(t.at("content").as_string()), t.at("id").as_int64());
    EXPECT_EQ(tok.id_to_token((int32_t)t.at("id").as_int64()), t.at("content").as_string());
  }
  EXPECT_EQ(tok.token_to_id("not a token"), -1);
  int64_t max_id = 0;  // the fixture's ids are dense, so vocab_size is the largest id + 1
  for (const Json& t : fixture.at("added_tokens").as_array()) max_id = std::max(max_id, t.at("id").as_int64());
  EXPECT_EQ(tok.vocab_size(), max_id + 1);
  EXPECT_EQ(tok.bos_id(), 0);
  EXPECT_EQ(tok.eos_id(), 1);
  EXPECT_THROW(tok.id_to_token(tok.vocab_size()), Error);
  EXPECT_THROW(tok.id_to_token(-1), Error);
  EXPECT_THROW(tok.decode({3, tok.vocab_size()}), Error);
}

TEST(TokenizerJson, IdentityTracksContent) {
  std::string text = read_file(kDataDir / "tiny_tokenizer.json");
  Tokenizer a = tokenizer_load_json(kDataDir / "tiny_tokenizer.json");
  Tokenizer b = tokenizer_load_json(write_temp("copy.json", text));
  EXPECT_EQ(a.identity(), b.identity());
  EXPECT_EQ(a.identity().rfind("bpe-fnv1a64:", 0), 0u);
  EXPECT_NE(a.identity(), tokenizer_load_json(kDataDir / "tiny_tokenizer_legacy.json").identity());
  std::string swapped = text;  // two merges swapped: same tokens, different ranks
  replace_once(swapped, "[\n    \"h\",\n    \"e\"\n   ],\n   [\n    \"\xC4\xA0t\",\n    \"he\"\n   ]",
               "[\n    \"\xC4\xA0t\",\n    \"he\"\n   ],\n   [\n    \"h\",\n    \"e\"\n   ]");
  EXPECT_NE(a.identity(), tokenizer_load_json(write_temp("swapped.json", swapped)).identity());
}

TEST(TokenizerJson, MalformedFilesNameFileAndField) {
  std::string good = read_file(kDataDir / "tiny_tokenizer.json");
  expect_load_error("bad_json.json", good.substr(0, good.size() / 2), {"JSON"});
  expect_load_error("not_object.json", "[1, 2]", {"must be object"});
  std::string no_model = good;
  replace_once(no_model, "\"model\":", "\"modl\":");
  expect_load_error("no_model.json", no_model, {"missing field tokenizer.model"});
  std::string bad_merge = good;
  replace_once(bad_merge, "[\n    \"i\",\n    \"n\"\n   ]", "[\n    \"i\",\n    \"zz\"\n   ]");
  expect_load_error("bad_merge.json", bad_merge, {"merges[", "'zz'", "not in the vocab"});
  std::string no_merges = good;
  replace_once(no_merges, "\"merges\":", "\"merge\":");
  expect_load_error("no_merges.json", no_merges, {"missing field tokenizer.model.merges"});
  std::string bad_type = good;
  replace_once(bad_type, "\"type\": \"BPE\"", "\"type\": \"WordPiece\"");
  expect_load_error("bad_type.json", bad_type, {"tokenizer.model.type", "WordPiece"});
  std::string bad_id = good;
  replace_once(bad_id, "\"!\": 3", "\"!\": -3");
  expect_load_error("bad_id.json", bad_id, {"tokenizer.model.vocab[\"!\"]"});
  std::string huge_id = good;
  replace_once(huge_id, "\"!\": 3", "\"!\": 2000000000");
  expect_load_error("huge_id.json", huge_id, {"2000000000", "dense"});
  std::string pre_string = good;
  replace_once(pre_string, "\"pre_tokenizer\": {", "\"pre_tokenizer\": \"ByteLevel\", \"unused\": {");
  expect_load_error("pre_string.json", pre_string, {"field tokenizer.pre_tokenizer must be object"});
  std::string lstrip = good;
  replace_once(lstrip, "\"lstrip\": false", "\"lstrip\": true");
  expect_load_error("lstrip.json", lstrip, {"tokenizer.added_tokens[0].lstrip = true"});
  std::string normalizer = good;
  replace_once(normalizer, "\"normalizer\": null", "\"normalizer\": {\"type\": \"NFC\"}");
  expect_load_error("normalizer.json", normalizer, {"tokenizer.normalizer"});
  expect_load_error("missing_file.json", "", {"JSON"});
}

TEST(TokenizerGguf, BuildsFromMetadataAndChecksIt) {
  // The tiny fixture's table, as a GGUF would list it: ids 0..2 control tokens.
  Json fixture = json_parse_file(kDataDir / "tiny_tokenizer.json");
  const Json::Object& vocab = fixture.at("model").at("vocab").as_object();
  std::vector<std::string> tokens(vocab.size());
  for (const auto& [token, id] : vocab) tokens[(size_t)id.as_int64()] = token;
  std::vector<int32_t> types(tokens.size(), 1);
  types[0] = types[1] = types[2] = 3;
  std::vector<std::string> merges;
  for (const Json& m : fixture.at("model").at("merges").as_array())
    merges.push_back(m.as_array()[0].as_string() + " " + m.as_array()[1].as_string());
  Tokenizer tok = tokenizer_from_gguf_metadata(tokens, types, merges, "gpt2", "smollm", 0, 1, true, true, "tiny.gguf");
  Json golden = json_parse_file(kDataDir / "tiny_golden.json");
  // Same ids as HF on texts without the added tokens past the model vocab, which this table lacks.
  std::vector<std::string> extra_added;
  for (const Json& t : fixture.at("added_tokens").as_array())
    if (t.at("id").as_int64() >= (int64_t)tokens.size()) extra_added.push_back(t.at("content").as_string());
  ASSERT_FALSE(extra_added.empty());
  int checked = 0;
  for (const Json& c : golden.at("tiny_tokenizer.json").at("cases").as_array()) {
    const std::string& text = c.at("text").as_string();
    if (std::any_of(extra_added.begin(), extra_added.end(),
                    [&](const std::string& a) { return text.find(a) != std::string::npos; }))
      continue;
    ++checked;
    EXPECT_EQ(tok.encode(text, true), json_ids(c.at("ids_add_special"))) << text;
  }
  EXPECT_GT(checked, 8);
  auto expect_error = [&](const std::string& needle, auto&&... args) {
    try {
      tokenizer_from_gguf_metadata(args...);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("tiny.gguf"), std::string::npos) << e.what();
    }
  };
  expect_error("tokenizer.ggml.model", tokens, types, merges, std::string("llama"), std::string("smollm"), 0, 1, false,
               false, std::string("tiny.gguf"));
  expect_error("tokenizer.ggml.pre", tokens, types, merges, std::string("gpt2"), std::string("qwen2"), 0, 1, false,
               false, std::string("tiny.gguf"));
  std::vector<std::string> bad_merges = merges;
  bad_merges[3] = "inx";
  expect_error("tokenizer.ggml.merges[3]", tokens, types, bad_merges, std::string("gpt2"), std::string("smollm"), 0, 1,
               false, false, std::string("tiny.gguf"));
  expect_error("BOS id 999", tokens, types, merges, std::string("gpt2"), std::string("smollm"), 999, 1, true, false,
               std::string("tiny.gguf"));
}

// SmolLM2-135M-Instruct as the model runs it. Its tokenizer (49152 tokens, 2 MB) is not committed:
// it is to be built from the GGUF in the ckf cache with tokenizer_from_gguf_metadata once the GGUF
// reader exists (branch weights). Until then this returns nullptr and the test is skipped.
std::unique_ptr<Tokenizer> smollm2_tokenizer() {
  const std::string path = test_model_gguf_path();
  if (!std::filesystem::exists(path)) return nullptr;
  return std::make_unique<Tokenizer>(tokenizer_load(path));
}

TEST(TokenizerSmolLM2, MatchesHuggingFace) {
  std::unique_ptr<Tokenizer> tok = smollm2_tokenizer();
  if (!tok)
    GTEST_SKIP() << "the embedded model is not in the cache (" << test_model_gguf_path()
                 << "); cluster/setup-model.sh fetches it";
  Json golden = json_parse_file(kDataDir / "smollm2_golden.json");
  EXPECT_EQ(tok->vocab_size(), golden.at("vocab_size").as_int64());
  for (const auto& [token, id] : golden.at("token_to_id").as_object())
    EXPECT_EQ(tok->token_to_id(token), id.as_int64());
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  expect_golden(*tok, golden);
  // Byte-level BPE loses nothing: plain text decodes back to itself.
  for (const Json& c : golden.at("cases").as_array()) {
    const std::string& text = c.at("text").as_string();
    EXPECT_EQ(tok->decode(tok->encode(text, false)), text);
  }
}
