// Unicode class lookups by binary search over generated range tables, and UTF-8 decoding following
// the well-formed byte sequences of the Unicode standard (Table 3-7).
#include "io/unicode.h"

#include <algorithm>

namespace ckf {

namespace {

bool ranges_contain(const UnicodeRange* ranges, size_t count, uint32_t cp) {
  const UnicodeRange* end = ranges + count;
  const UnicodeRange* it =
      std::upper_bound(ranges, end, cp, [](uint32_t c, const UnicodeRange& r) { return c < r.first; });
  return it != ranges && cp <= (it - 1)->last;
}

// Valid range of the second byte of a sequence led by b0, and the sequence length; len 0 means b0
// can never start a sequence.
struct Utf8Lead {
  int len;
  uint8_t lo, hi;
};

Utf8Lead utf8_lead(uint8_t b0) {
  if (b0 < 0x80) return {1, 0, 0};
  if (b0 < 0xC2) return {0, 0, 0};
  if (b0 < 0xE0) return {2, 0x80, 0xBF};
  if (b0 == 0xE0) return {3, 0xA0, 0xBF};
  if (b0 == 0xED) return {3, 0x80, 0x9F};  // excludes surrogates
  if (b0 < 0xF0) return {3, 0x80, 0xBF};
  if (b0 == 0xF0) return {4, 0x90, 0xBF};
  if (b0 < 0xF4) return {4, 0x80, 0xBF};
  if (b0 == 0xF4) return {4, 0x80, 0x8F};  // caps at U+10FFFF
  return {0, 0, 0};
}

// Length of the well-formed sequence at bytes[pos], or the negated length of its maximal
// ill-formed prefix (at least 1 byte) when it is not well formed.
long utf8_sequence_length(std::string_view bytes, size_t pos) {
  uint8_t b0 = (uint8_t)bytes[pos];
  Utf8Lead lead = utf8_lead(b0);
  if (lead.len == 0) return -1;
  for (int k = 1; k < lead.len; ++k) {
    if (pos + k >= bytes.size()) return -k;
    uint8_t b = (uint8_t)bytes[pos + k];
    uint8_t lo = k == 1 ? lead.lo : 0x80, hi = k == 1 ? lead.hi : 0xBF;
    if (b < lo || b > hi) return -k;
  }
  return lead.len;
}

}  // namespace

bool unicode_is_letter(uint32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return ranges_contain(unicode_letter_ranges, unicode_letter_ranges_count, cp);
}

bool unicode_is_number(uint32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return ranges_contain(unicode_number_ranges, unicode_number_ranges_count, cp);
}

bool unicode_is_whitespace(uint32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  return ranges_contain(unicode_whitespace_ranges, unicode_whitespace_ranges_count, cp);
}

bool unicode_is_numeric(uint32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return ranges_contain(unicode_numeric_ranges, unicode_numeric_ranges_count, cp);
}

size_t utf8_next(std::string_view text, size_t pos, uint32_t* cp) {
  long len = utf8_sequence_length(text, pos);
  if (len <= 0) return 0;
  uint8_t b0 = (uint8_t)text[pos];
  uint32_t c = len == 1 ? b0 : len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (long k = 1; k < len; ++k) c = (c << 6) | ((uint8_t)text[pos + k] & 0x3F);
  *cp = c;
  return (size_t)len;
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += (char)cp;
  } else if (cp < 0x800) {
    out += (char)(0xC0 | (cp >> 6));
    out += (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += (char)(0xE0 | (cp >> 12));
    out += (char)(0x80 | ((cp >> 6) & 0x3F));
    out += (char)(0x80 | (cp & 0x3F));
  } else {
    out += (char)(0xF0 | (cp >> 18));
    out += (char)(0x80 | ((cp >> 12) & 0x3F));
    out += (char)(0x80 | ((cp >> 6) & 0x3F));
    out += (char)(0x80 | (cp & 0x3F));
  }
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    long len = utf8_sequence_length(bytes, pos);
    if (len > 0) {
      out.append(bytes.substr(pos, (size_t)len));
      pos += (size_t)len;
    } else {
      utf8_append(out, 0xFFFD);
      pos += (size_t)-len;
    }
  }
  return out;
}

}  // namespace ckf
