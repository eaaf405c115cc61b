// The GPT-2 split pattern as a hand-written matcher over code points. Each alternative is tried in
// order at the current position as Oniguruma's leftmost-first backtracking would, so the first one
// that matches decides the piece.
#include "io/pretokenize.h"

#include <algorithm>
#include <cstdint>

#include "core/check.h"
#include "io/unicode.h"

namespace ckf {

namespace {

enum CharClass : uint8_t { kLetter, kNumber, kSpace, kOther };

struct CodePoint {
  uint32_t cp;
  uint32_t offset;  // byte offset in the text
  CharClass cls;
};

CharClass char_class(uint32_t cp) {
  if (unicode_is_letter(cp)) return kLetter;
  if (unicode_is_number(cp)) return kNumber;
  if (unicode_is_whitespace(cp)) return kSpace;
  return kOther;
}

// Length of the contraction 's|'t|'re|'ve|'m|'ll|'d at cps[i], or 0. Llama-3 matches it
// case-insensitively; Oniguruma folds only the ASCII letters here (U+017F long s does not match).
size_t contraction_length(const std::vector<CodePoint>& cps, size_t i, size_t end, bool ignore_case) {
  if (cps[i].cp != '\'') return 0;
  auto letter = [&](size_t k) -> uint32_t {
    uint32_t c = k < end ? cps[k].cp : 0;
    return ignore_case && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
  };
  uint32_t a = letter(i + 1), b = letter(i + 2);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// End of the run of code points of class `cls` starting at k.
size_t run_end(const std::vector<CodePoint>& cps, size_t k, size_t end, CharClass cls) {
  while (k < end && cps[k].cls == cls) ++k;
  return k;
}

// \s+(?!\S)|\s+ at a whitespace cps[i]: the run backs off one code point when followed by
// non-space, unless that would leave nothing.
size_t whitespace_match(const std::vector<CodePoint>& cps, size_t i, size_t end) {
  size_t k = run_end(cps, i, end, kSpace);
  if (k < end && k - i > 1) return k - i - 1;
  return k - i;
}

bool is_newline(uint32_t cp) { return cp == '\r' || cp == '\n'; }

// Length in code points of the GPT-2 pattern's match at cps[i] within [i, end).
size_t gpt2_match(const std::vector<CodePoint>& cps, size_t i, size_t end) {
  if (size_t n = contraction_length(cps, i, end, false)) return n;
  // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one class.
  size_t start = i;
  if (cps[i].cp == ' ' && i + 1 < end && cps[i + 1].cls != kSpace) start = i + 1;
  if (cps[start].cls != kSpace) return run_end(cps, start + 1, end, cps[start].cls) - i;
  return whitespace_match(cps, i, end);
}

// Llama-3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//          \s*[\r\n]+|\s+(?!\S)|\s+
size_t llama3_match(const std::vector<CodePoint>& cps, size_t i, size_t end) {
  if (size_t n = contraction_length(cps, i, end, true)) return n;
  CharClass cls = cps[i].cls;
  // [^\r\n\p{L}\p{N}]?\p{L}+: any one non-newline, non-letter, non-number before letters.
  if (cls == kLetter) return run_end(cps, i + 1, end, kLetter) - i;
  if (cls != kNumber && !is_newline(cps[i].cp) && i + 1 < end && cps[i + 1].cls == kLetter)
    return run_end(cps, i + 2, end, kLetter) - i;
  if (cls == kNumber) return std::min(run_end(cps, i + 1, end, kNumber), i + 3) - i;
  //  ?[^\s\p{L}\p{N}]+[\r\n]*
  size_t start = cps[i].cp == ' ' && i + 1 < end && cps[i + 1].cls == kOther ? i + 1 : i;
  if (cps[start].cls == kOther) {
    size_t k = run_end(cps, start + 1, end, kOther);
    while (k < end && is_newline(cps[k].cp)) ++k;
    return k - i;
  }
  // \s*[\r\n]+: whitespace up to and including the run's last newline.
  size_t k = run_end(cps, i, end, kSpace);
  for (size_t last = k; last > i; --last)
    if (is_newline(cps[last - 1].cp)) return last - i;
  return whitespace_match(cps, i, end);
}

using MatchFn = size_t (*)(const std::vector<CodePoint>&, size_t, size_t);

// Cuts cps[begin, end) into consecutive matches of `match`.
void regex_split(std::string_view text, const std::vector<CodePoint>& cps, size_t begin, size_t end, MatchFn match,
                 std::vector<std::string_view>& pieces) {
  size_t i = begin;
  while (i < end) {
    size_t n = match(cps, i, end);
    size_t b0 = cps[i].offset, b1 = i + n < cps.size() ? cps[i + n].offset : text.size();
    pieces.push_back(text.substr(b0, b1 - b0));
    i += n;
  }
}

}  // namespace

const char* pretokenizer_name(PreTokenizer kind) {
  switch (kind) {
    case PreTokenizer::gpt2: return "gpt2";
    case PreTokenizer::digits_gpt2: return "digits_gpt2";
    case PreTokenizer::llama3: return "llama3";
  }
  return "?";
}

void pretokenize(std::string_view text, PreTokenizer kind, std::vector<std::string_view>& pieces) {
  std::vector<CodePoint> cps;
  cps.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp;
    size_t len = utf8_next(text, pos, &cp);
    CKF_CHECK(len > 0, "tokenizer: text is not valid UTF-8 at byte " << pos << " (0x" << std::hex
                                                                     << (int)(uint8_t)text[pos] << ")");
    cps.push_back({cp, (uint32_t)pos, char_class(cp)});
    pos += len;
  }
  if (kind != PreTokenizer::digits_gpt2) {
    regex_split(text, cps, 0, cps.size(), kind == PreTokenizer::gpt2 ? gpt2_match : llama3_match, pieces);
    return;
  }
  size_t begin = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (!unicode_is_numeric(cps[i].cp)) continue;
    regex_split(text, cps, begin, i, gpt2_match, pieces);
    size_t b1 = i + 1 < cps.size() ? cps[i + 1].offset : text.size();
    pieces.push_back(text.substr(cps[i].offset, b1 - cps[i].offset));
    begin = i + 1;
  }
  regex_split(text, cps, begin, cps.size(), gpt2_match, pieces);
}

}  // namespace ckf
