#include "io/json_write.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace ckf {

namespace {

void write_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

void write_number(std::string& out, const Json& v) {
  char buf[32];
  if (v.is_integer()) {
    out.append(buf, std::to_chars(buf, buf + sizeof buf, v.as_int64()).ptr);
    return;
  }
  const double d = v.as_number();
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  out.append(buf, std::to_chars(buf, buf + sizeof buf, d).ptr);
}

void write_value(std::string& out, const Json& v, int indent, int depth) {
  auto newline = [&](int d) {
    if (indent > 0) out += '\n', out.append(size_t(indent) * size_t(d), ' ');
  };
  switch (v.type()) {
    case Json::Type::Null: out += "null"; break;
    case Json::Type::Bool: out += v.as_bool() ? "true" : "false"; break;
    case Json::Type::Number: write_number(out, v); break;
    case Json::Type::String: write_string(out, v.as_string()); break;
    case Json::Type::Array: {
      const Json::Array& a = v.as_array();
      out += '[';
      for (size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        newline(depth + 1);
        write_value(out, a[i], indent, depth + 1);
      }
      if (!a.empty()) newline(depth);
      out += ']';
      break;
    }
    case Json::Type::Object: {
      const Json::Object& o = v.as_object();
      out += '{';
      for (size_t i = 0; i < o.size(); ++i) {
        if (i) out += ',';
        newline(depth + 1);
        write_string(out, o[i].first);
        out += indent > 0 ? ": " : ":";
        write_value(out, o[i].second, indent, depth + 1);
      }
      if (!o.empty()) newline(depth);
      out += '}';
      break;
    }
  }
}

}  // namespace

std::string json_write(const Json& value, int indent) {
  std::string out;
  write_value(out, value, indent, 0);
  if (indent > 0) out += '\n';
  return out;
}

}  // namespace ckf
