// A strict JSON (RFC 8259) value parser for config.json, tokenizer.json and Amazon review lines.
// Strings are UTF-8 with every escape decoded (\u surrogate pairs joined, lone surrogates rejected);
// numbers keep their exact int64 value when written as an integer; objects keep their member order
// (tokenizer files rely on it). Errors throw ckf::Error naming the byte offset.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ckf {

struct JsonOptions {
  // Also accept Python literal syntax as written by Python's repr() (the 2014 Amazon metadata):
  // single-quoted strings, \xNN escapes, True/False/None. Off by default: strict JSON only.
  bool python_literals = false;
  int max_depth = 512;  // nesting limit, so hostile input cannot overflow the stack
};

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;  // in file order; keys are unique

  Json() = default;  // null
  explicit Json(bool b) : v_(b) {}
  explicit Json(double d) : v_(Number{d, false, 0}) {}
  static Json integer(int64_t i) { Json j; j.v_ = Number{double(i), true, i}; return j; }
  explicit Json(std::string s) : v_(std::move(s)) {}
  explicit Json(Array a) : v_(std::move(a)) {}
  explicit Json(Object o) : v_(std::move(o)) {}

  Type type() const { return Type(v_.index()); }
  bool is_null() const { return type() == Type::Null; }
  bool is_bool() const { return type() == Type::Bool; }
  bool is_number() const { return type() == Type::Number; }
  bool is_string() const { return type() == Type::String; }
  bool is_array() const { return type() == Type::Array; }
  bool is_object() const { return type() == Type::Object; }
  // True when the number was written without fraction or exponent and fits in int64.
  bool is_integer() const { return is_number() && std::get<Number>(v_).exact; }

  // Typed access; a wrong type throws ckf::Error naming the expected and actual types.
  bool as_bool() const;
  double as_number() const;
  int64_t as_int64() const;  // integers only; 3.0 or 1e3 are refused
  const std::string& as_string() const;
  const Array& as_array() const;
  const Object& as_object() const;

  // Object member lookup (linear; iterate as_object() for large objects). find returns nullptr when
  // absent, at throws naming the key.
  const Json* find(std::string_view key) const;
  const Json& at(std::string_view key) const;

 private:
  struct Number {
    double value;
    bool exact;     // written as an integer that fits int64
    int64_t integer;
  };
  std::variant<std::monostate, bool, Number, std::string, Array, Object> v_;
};

const char* json_type_name(Json::Type t);

// Parses exactly one value, surrounded by optional whitespace. Errors: "JSON: <what> at byte N".
Json json_parse(std::string_view text, const JsonOptions& options = {});

// Reads and parses a whole file; errors name the file.
Json json_parse_file(const std::filesystem::path& path, const JsonOptions& options = {});

}  // namespace ckf
