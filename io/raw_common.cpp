// Pieces shared by the raw readers: id interning, title table, rating check, CSV and Latin-1.
#include <charconv>
#include <cmath>

#include "core/check.h"
#include "io/raw.h"

namespace ckf {

int32_t IdInterner::intern(std::string_view name) {
  auto [it, added] = index.try_emplace(std::string(name), int32_t(names.size()));
  if (added) {
    CKF_CHECK(names.size() < size_t(INT32_MAX), "more than 2^31 distinct ids");
    names.emplace_back(name);
  }
  return it->second;
}

int32_t IdInterner::find(std::string_view name) const {
  auto it = index.find(std::string(name));
  return it == index.end() ? -1 : it->second;
}

void RawDataset::add_title(int32_t i, std::string text) {
  if (title.size() <= size_t(i)) title.resize(size_t(i) + 1);
  title[size_t(i)] = std::move(text);
}

void raw_check_rating(double rating, const std::string& where) {
  CKF_CHECK(std::isfinite(rating) && rating >= 0.5 && rating <= 5.0,
            where << ": rating " << rating << " outside [0.5, 5]");
}

int64_t raw_parse_int(std::string_view text, const std::string& where, const char* field) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  CKF_CHECK(ec == std::errc() && end == text.data() + text.size() && !text.empty(),
            where << ": " << field << " '" << text << "' is not an integer");
  return v;
}

double raw_parse_double(std::string_view text, const std::string& where, const char* field) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  CKF_CHECK(ec == std::errc() && end == text.data() + text.size() && !text.empty(),
            where << ": " << field << " '" << text << "' is not a number");
  return v;
}

std::vector<std::string> csv_split(std::string_view line, const std::string& where) {
  std::vector<std::string> fields(1);
  size_t i = 0;
  while (i < line.size()) {
    std::string& f = fields.back();
    if (line[i] == '"' && f.empty()) {
      size_t open = i++;
      for (;;) {
        CKF_CHECK(i < line.size(), where << ": unterminated quote opened at column " << open + 1);
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            f += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        f += line[i++];
      }
      CKF_CHECK(i == line.size() || line[i] == ',',
                where << ": characters after a closing quote at column " << i + 1);
      continue;
    }
    if (line[i] == ',') {
      fields.emplace_back();
      ++i;
      continue;
    }
    f += line[i++];
  }
  return fields;
}

std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x80) {
      out += char(c);
    } else {
      out += char(0xC0 | (c >> 6));
      out += char(0x80 | (c & 0x3F));
    }
  }
  return out;
}

}  // namespace ckf
