#include "io/json.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "core/check.h"

namespace ckf {

const char* json_type_name(Json::Type t) {
  static const char* names[] = {"null", "bool", "number", "string", "array", "object"};
  return names[int(t)];
}

#define CKF_JSON_EXPECT(want)                                                                             \
  CKF_CHECK(type() == Type::want, "JSON: expected " << json_type_name(Type::want) << ", found " \
                                                    << json_type_name(type()))

bool Json::as_bool() const { CKF_JSON_EXPECT(Bool); return std::get<bool>(v_); }
double Json::as_number() const { CKF_JSON_EXPECT(Number); return std::get<Number>(v_).value; }
int64_t Json::as_int64() const {
  CKF_JSON_EXPECT(Number);
  const Number& n = std::get<Number>(v_);
  CKF_CHECK(n.exact, "JSON: expected an integer, found " << n.value);
  return n.integer;
}
const std::string& Json::as_string() const { CKF_JSON_EXPECT(String); return std::get<std::string>(v_); }
const Json::Array& Json::as_array() const { CKF_JSON_EXPECT(Array); return std::get<Array>(v_); }
const Json::Object& Json::as_object() const { CKF_JSON_EXPECT(Object); return std::get<Object>(v_); }

const Json* Json::find(std::string_view key) const {
  for (const auto& [k, v] : as_object())
    if (k == key) return &v;
  return nullptr;
}

const Json& Json::at(std::string_view key) const {
  const Json* v = find(key);
  CKF_CHECK(v, "JSON: missing key \"" << key << "\"");
  return *v;
}

namespace {

// Length of the valid multi-byte UTF-8 sequence at s[at], or 0 for what RFC 3629 forbids: stray
// continuation bytes, overlong forms, surrogates (ED A0..BF), code points past U+10FFFF, a cut end.
size_t utf8_length(std::string_view s, size_t at) {
  unsigned char b0 = (unsigned char)s[at];
  size_t n = b0 >= 0xF0 ? 3 : b0 >= 0xE0 ? 2 : 1;
  if (b0 < 0xC2 || b0 > 0xF4 || at + n >= s.size()) return 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 == 0xE0) lo = 0xA0;
  if (b0 == 0xED) hi = 0x9F;
  if (b0 == 0xF0) lo = 0x90;
  if (b0 == 0xF4) hi = 0x8F;
  for (size_t k = 1; k <= n; ++k) {
    unsigned char b = (unsigned char)s[at + k];
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return 0;
  }
  return n + 1;
}

struct Parser {
  std::string_view s;
  const JsonOptions& opt;
  size_t pos = 0;

  [[noreturn]] void error(const std::string& what, size_t at) const {
    CKF_FAIL("JSON: " << what << " at byte " << at);
  }
  [[noreturn]] void error(const std::string& what) const { error(what, pos); }

  void skip_ws() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) ++pos;
  }
  char peek() const { return pos < s.size() ? s[pos] : '\0'; }
  bool at_end() const { return pos >= s.size(); }

  void expect(char c) {
    if (at_end()) error(std::string("unexpected end of input, expected '") + c + "'");
    if (s[pos] != c) error(std::string("expected '") + c + "', found '" + s[pos] + "'");
    ++pos;
  }

  bool consume_word(std::string_view w) {
    if (s.substr(pos, w.size()) != w) return false;
    pos += w.size();
    return true;
  }

  Json value(int depth) {
    if (depth > opt.max_depth) error("nesting deeper than " + std::to_string(opt.max_depth));
    skip_ws();
    if (at_end()) error("unexpected end of input, expected a value");
    char c = s[pos];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"' || (c == '\'' && opt.python_literals)) return Json(string());
    if (opt.python_literals && c == 'u' && (s.substr(pos, 2) == "u'" || s.substr(pos, 2) == "u\"")) {
      ++pos;  // Python 2 unicode literal u'...'
      return Json(string());
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    if (consume_word("true")) return Json(true);
    if (consume_word("false")) return Json(false);
    if (consume_word("null")) return Json();
    if (opt.python_literals) {
      if (consume_word("True")) return Json(true);
      if (consume_word("False")) return Json(false);
      if (consume_word("None")) return Json();
    }
    error(std::string("unexpected character '") + c + "'");
  }

  Json object(int depth) {
    ++pos;  // '{'
    Json::Object members;
    // Duplicate keys: a linear scan for small objects, a hash set once an object grows (a
    // tokenizer vocabulary has ~50k keys).
    std::unordered_set<std::string> seen;
    skip_ws();
    if (peek() == '}') { ++pos; return Json(std::move(members)); }
    for (;;) {
      skip_ws();
      size_t key_at = pos;
      if (!(peek() == '"' || (peek() == '\'' && opt.python_literals))) error("expected a string key");
      std::string key = string();
      bool duplicate = false;
      if (members.size() < 32) {
        for (const auto& m : members) duplicate |= m.first == key;
      } else {
        if (seen.empty())
          for (const auto& m : members) seen.insert(m.first);
        duplicate = !seen.insert(key).second;
      }
      if (duplicate) error("duplicate key \"" + key + "\"", key_at);
      skip_ws();
      expect(':');
      Json v = value(depth + 1);
      members.emplace_back(std::move(key), std::move(v));
      skip_ws();
      if (peek() == ',') { ++pos; continue; }
      expect('}');
      return Json(std::move(members));
    }
  }

  Json array(int depth) {
    ++pos;  // '['
    Json::Array items;
    skip_ws();
    if (peek() == ']') { ++pos; return Json(std::move(items)); }
    for (;;) {
      items.push_back(value(depth + 1));
      skip_ws();
      if (peek() == ',') { ++pos; continue; }
      expect(']');
      return Json(std::move(items));
    }
  }

  // Grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  Json number() {
    size_t start = pos;
    auto digits = [&] {
      size_t d = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
      return pos - d;
    };
    if (peek() == '-') ++pos;
    if (peek() == '0') {
      ++pos;
      if (peek() >= '0' && peek() <= '9') error("leading zero in number", start);
    } else if (digits() == 0) {
      error("invalid number", start);
    }
    bool integral = true;
    if (peek() == '.') {
      ++pos;
      integral = false;
      if (digits() == 0) error("digit expected after '.'");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos;
      integral = false;
      if (peek() == '+' || peek() == '-') ++pos;
      if (digits() == 0) error("digit expected in exponent");
    }
    std::string text(s.substr(start, pos - start));
    if (integral) {
      errno = 0;
      long long i = std::strtoll(text.c_str(), nullptr, 10);
      if (errno != ERANGE) return Json::integer(i);
    }
    double d = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(d)) error("number out of range", start);
    return Json(d);
  }

  unsigned hex(int n) {
    unsigned v = 0;
    for (int k = 0; k < n; ++k) {
      if (at_end()) error("unexpected end of input in escape");
      char c = s[pos++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else error("invalid hex digit in escape", pos - 1);
    }
    return v;
  }

  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  // \uXXXX, joining a high surrogate with the \uXXXX low surrogate that must follow it.
  unsigned unicode_escape(size_t esc_at) {
    unsigned cp = hex(4);
    if (cp >= 0xDC00 && cp <= 0xDFFF) error("lone low surrogate", esc_at);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (s.substr(pos, 2) != "\\u") error("high surrogate not followed by a low surrogate", esc_at);
      pos += 2;
      unsigned lo = hex(4);
      if (lo < 0xDC00 || lo > 0xDFFF) error("high surrogate not followed by a low surrogate", esc_at);
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    return cp;
  }

  // Python \xNN escapes are ambiguous: in a Python 2 byte string (the 2014 Amazon dumps) they are
  // UTF-8 bytes, in a unicode string code points U+0080..U+00FF. Take them as bytes when the result
  // is valid UTF-8, else as code points.
  static std::string resolve_x_escapes(const std::string& raw, const std::vector<size_t>& x_at) {
    size_t i = 0;
    while (i < raw.size()) {
      size_t n = (unsigned char)raw[i] < 0x80 ? 1 : utf8_length(raw, i);
      if (n == 0) break;
      i += n;
    }
    if (i == raw.size()) return raw;
    std::string out;
    size_t next = 0;
    for (size_t k = 0; k < raw.size(); ++k) {
      if (next < x_at.size() && x_at[next] == k) {
        put_utf8(out, (unsigned char)raw[k]);
        ++next;
      } else {
        out += raw[k];
      }
    }
    return out;
  }

  std::string string() {
    char quote = s[pos++];
    std::string out;
    std::vector<size_t> x_at;  // positions in out of bytes written by Python \xNN escapes
    for (;;) {
      if (at_end()) error("unterminated string");
      char c = s[pos];
      if (c == quote) {
        ++pos;
        return x_at.empty() ? out : resolve_x_escapes(out, x_at);
      }
      if ((unsigned char)c < 0x20) error("control character in string");
      if ((unsigned char)c >= 0x80) {
        size_t n = utf8_length(s, pos);
        if (n == 0) error("invalid UTF-8 in string");
        out.append(s.substr(pos, n));
        pos += n;
        continue;
      }
      if (c != '\\') { out += c; ++pos; continue; }
      size_t esc_at = pos++;
      if (at_end()) error("unterminated string");
      char e = s[pos++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': put_utf8(out, unicode_escape(esc_at)); break;
        default:
          if (opt.python_literals && e == '\'') { out += '\''; break; }
          if (opt.python_literals && e == 'x') {
            x_at.push_back(out.size());
            out += char(hex(2));
            break;
          }
          error(std::string("invalid escape '\\") + e + "'", esc_at);
      }
    }
  }
};

}  // namespace

Json json_parse(std::string_view text, const JsonOptions& options) {
  Parser p{text, options};
  Json v = p.value(0);
  p.skip_ws();
  if (!p.at_end()) p.error("trailing characters after the value");
  return v;
}

Json json_parse_file(const std::filesystem::path& path, const JsonOptions& options) {
  std::ifstream in(path, std::ios::binary);
  CKF_CHECK(in, "cannot open " << path);
  std::ostringstream buf;
  buf << in.rdbuf();
  CKF_CHECK(!in.bad(), "read error in " << path);
  try {
    return json_parse(buf.str(), options);
  } catch (const Error& e) {
    CKF_FAIL(path.string() << ": " << e.what());
  }
}

}  // namespace ckf
