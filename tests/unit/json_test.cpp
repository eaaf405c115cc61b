// io/json: every expected value is written out by hand (UTF-8 bytes spelled in hex where it matters).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/check.h"
#include "io/json.h"

using namespace ckf;

namespace {

// The error message of parsing `text`, or "" if it parsed.
std::string parse_error(const std::string& text, JsonOptions opt = {}) {
  try {
    json_parse(text, opt);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Json, ScalarsAndWhitespace) {
  EXPECT_TRUE(json_parse(" null ").is_null());
  EXPECT_EQ(json_parse("true").as_bool(), true);
  EXPECT_EQ(json_parse("\t\r\nfalse\n").as_bool(), false);
  EXPECT_EQ(json_parse("\"\"").as_string(), "");
}

TEST(Json, Numbers) {
  EXPECT_EQ(json_parse("0").as_int64(), 0);
  EXPECT_EQ(json_parse("-0").as_int64(), 0);
  EXPECT_EQ(json_parse("49152").as_int64(), 49152);
  EXPECT_EQ(json_parse("-9223372036854775808").as_int64(), INT64_MIN);
  EXPECT_EQ(json_parse("9223372036854775807").as_int64(), INT64_MAX);
  // Beyond int64: still a number, as a double, but not an integer.
  Json big = json_parse("9223372036854775808");
  EXPECT_FALSE(big.is_integer());
  EXPECT_DOUBLE_EQ(big.as_number(), 9223372036854775808.0);
  EXPECT_DOUBLE_EQ(json_parse("3.25").as_number(), 3.25);
  EXPECT_DOUBLE_EQ(json_parse("-1.5e-3").as_number(), -0.0015);
  EXPECT_DOUBLE_EQ(json_parse("1E+2").as_number(), 100.0);
  EXPECT_DOUBLE_EQ(json_parse("1e-5").as_number(), 1e-5);
  EXPECT_FALSE(json_parse("1.0").is_integer());  // written with a fraction: not an integer
  EXPECT_THROW(json_parse("1.0").as_int64(), Error);
  EXPECT_TRUE(json_parse("12").is_integer());
}

TEST(Json, BadNumbers) {
  for (const char* bad : {"01", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "1.2.3", "-01", "1e999", "NaN", "Infinity"})
    EXPECT_NE(parse_error(bad), "") << bad;
}

TEST(Json, StringEscapes) {
  EXPECT_EQ(json_parse(R"("a\"b\\c\/d\be\ff\ng\rh\ti")").as_string(), "a\"b\\c/d\be\ff\ng\rh\ti");
  EXPECT_EQ(json_parse(R"("\u0041\u00e9\u20ac")").as_string(), "A\xC3\xA9\xE2\x82\xAC");  // A é €
  EXPECT_EQ(json_parse(R"("\u0000")").as_string(), std::string(1, '\0'));
  EXPECT_EQ(json_parse(R"("\u07FF\u0800\uFFFF")").as_string(), "\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF");
  // Raw UTF-8 passes through unchanged.
  EXPECT_EQ(json_parse("\"L\xC3\xA9on\"").as_string(), "L\xC3\xA9on");
}

TEST(Json, SurrogatePairs) {
  EXPECT_EQ(json_parse(R"("\ud83d\ude00")").as_string(), "\xF0\x9F\x98\x80");  // U+1F600
  EXPECT_EQ(json_parse(R"("\uD800\uDC00")").as_string(), "\xF0\x90\x80\x80");  // U+10000
  EXPECT_EQ(json_parse(R"("\uDBFF\uDFFF")").as_string(), "\xF4\x8F\xBF\xBF");  // U+10FFFF
  EXPECT_NE(parse_error(R"("\ud83d")"), "");         // lone high
  EXPECT_NE(parse_error(R"("\ud83dx")"), "");        // high then a character
  EXPECT_NE(parse_error(R"("\ud83d\u0041")"), "");   // high then a non-surrogate
  EXPECT_NE(parse_error(R"("\ude00")"), "");         // lone low
}

TEST(Json, BadStrings) {
  EXPECT_NE(parse_error(R"("abc)"), "");
  EXPECT_NE(parse_error(R"("\x41")"), "");  // only with python_literals
  EXPECT_NE(parse_error(R"("\u12G4")"), "");
  EXPECT_NE(parse_error(R"("\u12")"), "");
  EXPECT_NE(parse_error("\"tab\there\""), "");  // raw control character
  EXPECT_NE(parse_error("'single'"), "");
}

TEST(Json, RawUtf8IsValidated) {
  EXPECT_EQ(json_parse("\"\xF0\x9F\x98\x80 \xE2\x82\xAC \xC3\xA9\"").as_string(), "\xF0\x9F\x98\x80 \xE2\x82\xAC \xC3\xA9");
  EXPECT_EQ(json_parse("\"\xF4\x8F\xBF\xBF\"").as_string(), "\xF4\x8F\xBF\xBF");  // U+10FFFF
  for (const char* bad : {"\"\x80\"",              // stray continuation byte
                          "\"\xC3\"",              // sequence cut by the quote
                          "\"\xC0\xAF\"",          // overlong '/'
                          "\"\xE0\x80\xAF\"",      // overlong
                          "\"\xED\xA0\x80\"",      // encoded surrogate U+D800
                          "\"\xF4\x90\x80\x80\"",  // U+110000
                          "\"\xFF\""})
    EXPECT_NE(parse_error(bad).find("invalid UTF-8"), std::string::npos) << bad;
}

TEST(Json, NestedStructures) {
  Json j = json_parse(R"({"b": [1, 2.5, "x", null, true, {"c": []}], "a": {}, "z": -3})");
  ASSERT_TRUE(j.is_object());
  const Json::Object& o = j.as_object();
  ASSERT_EQ(o.size(), 3u);
  EXPECT_EQ(o[0].first, "b");  // file order kept
  EXPECT_EQ(o[1].first, "a");
  EXPECT_EQ(o[2].first, "z");
  const Json::Array& b = j.at("b").as_array();
  ASSERT_EQ(b.size(), 6u);
  EXPECT_EQ(b[0].as_int64(), 1);
  EXPECT_DOUBLE_EQ(b[1].as_number(), 2.5);
  EXPECT_EQ(b[2].as_string(), "x");
  EXPECT_TRUE(b[3].is_null());
  EXPECT_TRUE(b[4].as_bool());
  EXPECT_TRUE(b[5].at("c").as_array().empty());
  EXPECT_TRUE(j.at("a").as_object().empty());
  EXPECT_EQ(j.at("z").as_int64(), -3);
  EXPECT_EQ(j.find("missing"), nullptr);
  EXPECT_THROW(j.at("missing"), Error);
  EXPECT_THROW(j.at("z").as_string(), Error);
}

TEST(Json, StructuralErrorsNameTheOffset) {
  EXPECT_NE(parse_error("").find("at byte 0"), std::string::npos);
  EXPECT_NE(parse_error("[1, 2,]").find("at byte 6"), std::string::npos);      // trailing comma
  EXPECT_NE(parse_error("{\"a\" 1}").find("at byte 5"), std::string::npos);    // missing colon
  EXPECT_NE(parse_error("{\"a\":1,}").find("at byte 7"), std::string::npos);
  EXPECT_NE(parse_error("[1] x").find("at byte 4"), std::string::npos);        // trailing garbage
  EXPECT_NE(parse_error("{\"a\":1, \"a\":2}").find("duplicate key"), std::string::npos);
  EXPECT_NE(parse_error("{1:2}"), "");
  EXPECT_NE(parse_error("[1 2]"), "");
  EXPECT_NE(parse_error("tru"), "");
  EXPECT_NE(parse_error("nul"), "");
  EXPECT_NE(parse_error("True"), "");  // only with python_literals
  EXPECT_NE(parse_error("[" + std::string(600, '[')), "");
  EXPECT_NE(parse_error(std::string(1000, '[') + std::string(1000, ']')).find("nesting"), std::string::npos);
}

TEST(Json, DuplicateKeysInLargeObjects) {
  // The hash-set path (objects of 32+ members) must catch duplicates as well as the linear one.
  std::string text = "{";
  for (int i = 0; i < 100; ++i) text += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ",";
  std::string ok = text + "\"last\": 0}";
  EXPECT_EQ(json_parse(ok).at("k77").as_int64(), 77);
  EXPECT_NE(parse_error(text + "\"k3\": 0}").find("duplicate key \"k3\""), std::string::npos);
}

TEST(Json, PythonLiterals) {
  JsonOptions py{.python_literals = true};
  Json j = json_parse(R"({'asin': 'B1', 'title': "Bob's", 'x': True, 'y': False, 'z': None, 'd': 'caf\xe9 \'q\''})", py);
  EXPECT_EQ(j.at("asin").as_string(), "B1");
  EXPECT_EQ(j.at("title").as_string(), "Bob's");
  EXPECT_TRUE(j.at("x").as_bool());
  EXPECT_FALSE(j.at("y").as_bool());
  EXPECT_TRUE(j.at("z").is_null());
  EXPECT_EQ(j.at("d").as_string(), "caf\xC3\xA9 'q'");
  // \xNN that spell valid UTF-8 are bytes (a Python 2 byte string), otherwise code points.
  EXPECT_EQ(json_parse(R"('caf\xc3\xa9')", py).as_string(), "caf\xC3\xA9");
  EXPECT_EQ(json_parse(R"('\xe2\x80\x93 \xe9')", py).as_string(), "\xC3\xA2\xC2\x80\xC2\x93 \xC3\xA9");
  EXPECT_EQ(json_parse(R"(u'caf\xe9')", py).as_string(), "caf\xC3\xA9");
  EXPECT_EQ(json_parse(R"([u"x", u'y'])", py).as_array()[1].as_string(), "y");
  EXPECT_NE(parse_error("u'x'"), "");  // strict JSON refuses all of it
}

TEST(Json, ParseFileNamesTheFile) {
  std::string path = testing::TempDir() + "/json_test_bad.json";
  std::ofstream(path) << "{\"a\": [1, }";
  try {
    json_parse_file(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("at byte 10"), std::string::npos) << e.what();
  }
  EXPECT_THROW(json_parse_file(testing::TempDir() + "/no_such_file.json"), Error);
}

namespace {

std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += {digits[c >> 4], digits[c & 15]};
  return out;
}

// The same flattening as tests/data/json/make_golden.py.
void flatten(const Json& v, const std::string& path, std::string& out) {
  char num[64];
  switch (v.type()) {
    case Json::Type::Null: out += path + "\tnull\t\n"; break;
    case Json::Type::Bool: out += path + "\tbool\t" + (v.as_bool() ? "true" : "false") + "\n"; break;
    case Json::Type::Number:
      if (v.is_integer()) {
        out += path + "\tint\t" + std::to_string(v.as_int64()) + "\n";
      } else {
        std::snprintf(num, sizeof num, "%.17g", v.as_number());
        out += path + "\tnumber\t" + num + "\n";
      }
      break;
    case Json::Type::String: out += path + "\tstring\t" + hex(v.as_string()) + "\n"; break;
    case Json::Type::Array:
      out += path + "\tarray\t" + std::to_string(v.as_array().size()) + "\n";
      for (size_t i = 0; i < v.as_array().size(); ++i) flatten(v.as_array()[i], path + "[" + std::to_string(i) + "]", out);
      break;
    case Json::Type::Object:
      out += path + "\tobject\t" + std::to_string(v.as_object().size()) + "\n";
      for (const auto& [k, x] : v.as_object()) flatten(x, path + "/" + hex(k), out);
      break;
  }
}

}  // namespace

TEST(Json, MatchesPythonJsonGolden) {
  // 60 random documents serialised by Python's json module (escaped and raw UTF-8, astral
  // characters, big integers, floats with exponents), compared value by value.
  std::ifstream docs(std::string(CKF_TEST_DATA_DIR) + "/json/docs.jsonl", std::ios::binary);
  std::ifstream flats(std::string(CKF_TEST_DATA_DIR) + "/json/flat.txt", std::ios::binary);
  ASSERT_TRUE(docs && flats);
  int n = 0;
  for (std::string doc; std::getline(docs, doc); ++n) {
    std::string want, line;
    while (std::getline(flats, line) && line != "---") want += line + "\n";
    std::string got;
    flatten(json_parse(doc), "", got);
    EXPECT_EQ(got, want) << "document " << n << ": " << doc;
  }
  EXPECT_EQ(n, 60);
}
