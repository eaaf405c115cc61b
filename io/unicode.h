// Unicode pieces the byte-level BPE tokenizer needs without a regex library: the character classes
// \p{L}, \p{N} and \s of the pre-tokenizer patterns, and UTF-8 decoding (strict for input text,
// lossy for decoded output).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ckf {

struct UnicodeRange {
  uint32_t first, last;  // inclusive code point range
};

// Generated tables (io/unicode_tables.cpp, made by tests/golden/make_unicode_tables.py): the classes
// as HF tokenizers sees them, whose regex engine has a newer Unicode than Python's unicodedata.
extern const UnicodeRange unicode_letter_ranges[];
extern const size_t unicode_letter_ranges_count;
extern const UnicodeRange unicode_number_ranges[];
extern const size_t unicode_number_ranges_count;
extern const UnicodeRange unicode_whitespace_ranges[];
extern const size_t unicode_whitespace_ranges_count;
extern const UnicodeRange unicode_numeric_ranges[];
extern const size_t unicode_numeric_ranges_count;
extern const char unicode_tables_source[];  // e.g. "tokenizers 0.23.3"

bool unicode_is_letter(uint32_t cp);  // \p{L}
bool unicode_is_number(uint32_t cp);  // \p{N}
// \s: the White_Space property, so U+001C..U+001F and U+200B are not whitespace although Python's
// str.isspace() says otherwise.
bool unicode_is_whitespace(uint32_t cp);
// Numeric to HF's Digits pre-tokenizer (Rust's char::is_numeric): \p{N} of a newer Unicode.
bool unicode_is_numeric(uint32_t cp);

// Decodes the code point starting at text[pos] and returns its length in bytes, or 0 (cp untouched)
// if text is not well-formed UTF-8 there.
size_t utf8_next(std::string_view text, size_t pos, uint32_t* cp);

// Appends the UTF-8 encoding of cp to out.
void utf8_append(std::string& out, uint32_t cp);

// Replaces every maximal ill-formed subsequence of bytes with U+FFFD, as Rust's
// String::from_utf8_lossy (and therefore HF tokenizers' decode) does.
std::string utf8_lossy(std::string_view bytes);

}  // namespace ckf
