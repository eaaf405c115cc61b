#include "io/prompt_templates.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/check.h"

namespace ckf {

namespace {

struct Domain {
  const char *item, *items, *did, *will;  // "movie", "movies", "watched", "watch"
};

Domain domain_of(const Catalog& c) {
  if (c.source.rfind("amazon", 0) == 0) return {"product", "products", "bought", "buy"};
  return {"movie", "movies", "watched", "watch"};
}

// Accumulates prompt text and its placeholder spans.
struct PromptBuilder {
  RenderedPrompt out;

  PromptBuilder& add(const std::string& s) {
    out.text += s;
    return *this;
  }
  PromptBuilder& placeholder(TextPlaceholder::Kind kind, int32_t id, const char* marker) {
    out.placeholders.push_back({kind, id, out.text.size(), std::char_traits<char>::length(marker)});
    out.text += marker;
    return *this;
  }
  PromptBuilder& user(int32_t u) { return placeholder(TextPlaceholder::Kind::User, u, " <user>"); }
  // The item's title followed by its placeholder; an untitled item is named by its raw id.
  PromptBuilder& item(const Catalog& c, int32_t i) {
    const std::string& t = c.title[size_t(i)];
    add(t.empty() ? "item " + c.item_raw[size_t(i)] : t);
    return placeholder(TextPlaceholder::Kind::Item, i, " <item>");
  }
};

std::string format_rating(float r) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%g", double(r));
  return buf;
}

void add_history(PromptBuilder& b, const SampleView& s, const Catalog& c, const Domain& d) {
  bool rated = s.task == Task::Rating;
  b.add("The user").user(s.user);
  if (s.history.empty()) {
    b.add(std::string(" has not ") + (rated ? "rated" : d.did) + " any " + d.items + " yet.\n");
    return;
  }
  b.add(std::string(" has ") + (rated ? "rated" : d.did) + " these " + d.items +
        (rated ? " from 1 to 5 stars" : "") + ", oldest first: ");
  for (size_t k = 0; k < s.history.size(); ++k) {
    if (k) b.add("; ");
    b.item(c, s.history[k]);
    if (rated) b.add(": " + format_rating(s.history_rating[k]));
  }
  b.add(".\n");
}

void add_ctr_question(PromptBuilder& b, int32_t item, const Catalog& c, const Domain& d) {
  b.add(std::string("Will the user enjoy the ") + d.item + " ").item(c, item).add("? Answer Yes or No.");
}

}  // namespace

int prompt_rating_digit(float rating) { return int(std::clamp(std::floor(rating + 0.5f), 1.0f, 5.0f)); }

RenderedPrompt TemplateRenderer::render(const SampleView& s, const Catalog& c) const {
  const Domain d = domain_of(c);
  const std::string open = chat_ ? kChatUserOpen : "";
  const std::string close = chat_ ? kChatUserClose : "\nAnswer: ";
  PromptBuilder b;
  b.add(open);
  add_history(b, s, c, d);
  switch (s.task) {
    case Task::Ctr:
      add_ctr_question(b, s.target, c, d);
      b.out.answer = s.label > 0.5f ? "Yes" : "No";
      break;
    case Task::Rating:
      b.add(std::string("How many stars will the user give the ") + d.item + " ")
          .item(c, s.target)
          .add("? Answer with one digit from 1 to 5.");
      b.out.answer = std::to_string(prompt_rating_digit(s.label));
      break;
    case Task::Sequential: {
      CKF_CHECK(s.candidates.size() <= 26, "sequential prompts label candidates A..Z: " << s.candidates.size()
                                                                                        << " candidates are too many");
      b.add(std::string("Which ") + d.item + " will the user " + d.will + " next? Candidates:\n");
      for (size_t j = 0; j < s.candidates.size(); ++j) b.add(std::string(1, char('A' + j)) + ". ").item(c, s.candidates[j]).add("\n");
      b.add("Answer with the letter of one candidate.");
      b.out.answer = std::string(1, char('A' + int(s.label)));
      break;
    }
    case Task::Topk:
      for (size_t j = 0; j < s.candidates.size(); ++j) {
        PromptBuilder q;
        add_ctr_question(q, s.candidates[j], c, d);
        q.add(close);
        q.out.answer = j == size_t(s.label) ? "Yes" : "No";
        b.out.suffixes.push_back(std::move(q.out));
      }
      return std::move(b.out);
  }
  b.add(close);
  return std::move(b.out);
}

}  // namespace ckf
