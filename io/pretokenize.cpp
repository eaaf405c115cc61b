// The GPT-2 split pattern as a hand-written matcher over code points. Each alternative is tried in
// order at the current position as Oniguruma's leftmost-first backtracking would, so the first one
// that matches decides the piece.
#include "io/pretokenize.h"

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

// Length in code points of the GPT-2 pattern's match at cps[i] within [i, end).
size_t gpt2_match(const std::vector<CodePoint>& cps, size_t i, size_t end) {
  auto cp_at = [&](size_t k) { return k < end ? cps[k].cp : 0; };
  // 's|'t|'re|'ve|'m|'ll|'d
  if (cps[i].cp == '\'') {
    uint32_t a = cp_at(i + 1), b = cp_at(i + 2);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  }
  // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one class.
  size_t start = i;
  if (cps[i].cp == ' ' && i + 1 < end && cps[i + 1].cls != kSpace) start = i + 1;
  CharClass cls = cps[start].cls;
  if (cls != kSpace) {
    size_t k = start + 1;
    while (k < end && cps[k].cls == cls) ++k;
    return k - i;
  }
  // \s+(?!\S) backs off one code point when the run is followed by non-space; \s+ takes the whole
  // run when that would leave nothing.
  size_t k = i + 1;
  while (k < end && cps[k].cls == kSpace) ++k;
  if (k < end && k - i > 1) return k - i - 1;
  return k - i;
}

void gpt2_split(std::string_view text, const std::vector<CodePoint>& cps, size_t begin, size_t end,
                std::vector<std::string_view>& pieces) {
  size_t i = begin;
  while (i < end) {
    size_t n = gpt2_match(cps, i, end);
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
  if (kind == PreTokenizer::gpt2) {
    gpt2_split(text, cps, 0, cps.size(), pieces);
    return;
  }
  size_t begin = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (cps[i].cls != kNumber) continue;
    gpt2_split(text, cps, begin, i, pieces);
    size_t b1 = i + 1 < cps.size() ? cps[i + 1].offset : text.size();
    pieces.push_back(text.substr(cps[i].offset, b1 - cps[i].offset));
    begin = i + 1;
  }
  gpt2_split(text, cps, begin, cps.size(), pieces);
}

}  // namespace ckf
