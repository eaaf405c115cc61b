// The prompt templates of the four tasks, written for this project: plain English instructions that
// name the user's history titles (oldest first), the target or candidate titles, and the answer
// form. In the soft variant the user is written "The user <user>" and every title is followed by
// " <item>": those spans are the placeholders (removing them gives the text-only variant).
//
//   history  "The user <user> has watched these movies, oldest first: T1 <item>; T2 <item>.\n"
//            (rating: "has rated these movies from 1 to 5 stars, oldest first: T1 <item>: 4; ...")
//   ctr      history + "Will the user enjoy the movie T <item>? Answer Yes or No."   -> "Yes" | "No"
//   rating   history + "How many stars will the user give the movie T <item>? Answer with one digit
//            from 1 to 5."   -> the rating rounded half up and clamped to 1..5 ("4" for 3.5)
//   sequential history + "Which movie will the user watch next? Candidates:\nA. C1 <item>\n...
//            Answer with the letter of one candidate."   -> the target's letter ("A".."Z")
//   topk     prefix: history; suffix per candidate: the ctr question about it   -> "Yes" | "No"
//
// Chat form (the default, for instruction-tuned models such as SmolLM2-Instruct): the prompt is one
// user turn, "<|im_start|>user\n" + body + "<|im_end|>\n<|im_start|>assistant\n", so the answer is
// the assistant's first tokens. The model's default system turn is left out (about 20 tokens per
// sample). Plain form: body + "\nAnswer: ". Catalogs from Amazon say "product(s)"/"bought"/"buy".
#pragma once
#include "io/prompt_renderer.h"

namespace ckf {

// ChatML around one user turn (also what `ckf generate --chat` sends).
inline constexpr const char* kChatUserOpen = "<|im_start|>user\n";
inline constexpr const char* kChatUserClose = "<|im_end|>\n<|im_start|>assistant\n";

class TemplateRenderer final : public PromptRenderer {
 public:
  explicit TemplateRenderer(bool chat = true) : chat_(chat) {}
  RenderedPrompt render(const SampleView& sample, const Catalog& catalog) const override;

 private:
  bool chat_;
};

// The rating answer digit: rounded half up, clamped to 1..5.
int prompt_rating_digit(float rating);

}  // namespace ckf
