#include "io/prompt_encode.h"

#include <algorithm>
#include <exception>

#include "core/check.h"
#include "core/parallel_for.h"

namespace ckf {

namespace {

struct EncodedPart {
  std::vector<int32_t> soft, text, answer;
  std::vector<int32_t> slot_position;  // into soft
  std::vector<TextPlaceholder> slots;
};

class PartEncoder {
 public:
  PartEncoder(const Tokenizer& tok, int32_t placeholder_id) : tok_(tok), placeholder_id_(placeholder_id) {
    std::vector<int32_t> special = tok.encode("", true);
    if (!special.empty() && special[0] == tok.bos_id()) bos_ = special[0];
    CKF_CHECK(bos_ != placeholder_id, "the placeholder token " << placeholder_id << " is the tokenizer's BOS");
  }

  // lead: this part starts the prompt (gets the BOS).
  EncodedPart encode(const RenderedPrompt& r, bool lead) const {
    EncodedPart e;
    if (lead && bos_ >= 0) e.soft.push_back(bos_), e.text.push_back(bos_);
    std::string text_only;
    size_t at = 0;
    auto segment = [&](size_t end) {
      std::string_view seg(r.text.data() + at, end - at);
      std::vector<int32_t> ids = tok_.encode(seg, false);
      CKF_CHECK(std::find(ids.begin(), ids.end(), placeholder_id_) == ids.end(),
                "prompt text '" << seg << "' contains the placeholder token " << tok_.id_to_token(placeholder_id_));
      e.soft.insert(e.soft.end(), ids.begin(), ids.end());
      text_only += seg;
    };
    for (const TextPlaceholder& p : r.placeholders) {
      segment(p.byte_offset);
      e.slot_position.push_back(int32_t(e.soft.size()));
      e.slots.push_back(p);
      e.soft.push_back(placeholder_id_);
      at = p.byte_offset + p.byte_length;
    }
    segment(r.text.size());
    std::vector<int32_t> t = tok_.encode(text_only, false);
    e.text.insert(e.text.end(), t.begin(), t.end());
    e.answer = tok_.encode(r.answer, false);
    return e;
  }

 private:
  const Tokenizer& tok_;
  int32_t placeholder_id_;
  int32_t bos_ = -1;
};

// The sample with only its newest `keep` history items.
SampleView keep_newest(SampleView s, size_t keep) {
  s.history = s.history.subspan(s.history.size() - keep);
  s.history_rating = s.history_rating.subspan(s.history_rating.size() - keep);
  return s;
}

void append_ragged(Ragged& dst, const Ragged& src) {
  int64_t base = dst.offset.back();
  for (size_t r = 1; r < src.offset.size(); ++r) dst.offset.push_back(base + src.offset[r]);
  dst.value.insert(dst.value.end(), src.value.begin(), src.value.end());
}

void append_columns(PromptColumns& dst, const PromptColumns& src) {
  append_ragged(dst.soft, src.soft);
  append_ragged(dst.text, src.text);
  append_ragged(dst.answer, src.answer);
  int64_t base = dst.slot_offset.back();
  for (size_t r = 1; r < src.slot_offset.size(); ++r) dst.slot_offset.push_back(base + src.slot_offset[r]);
  dst.slot_position.insert(dst.slot_position.end(), src.slot_position.begin(), src.slot_position.end());
  dst.slot_kind.insert(dst.slot_kind.end(), src.slot_kind.begin(), src.slot_kind.end());
  dst.slot_id.insert(dst.slot_id.end(), src.slot_id.begin(), src.slot_id.end());
  append_ragged(dst.suffix_soft, src.suffix_soft);
  append_ragged(dst.suffix_text, src.suffix_text);
  append_ragged(dst.suffix_answer, src.suffix_answer);
  dst.suffix_slot.insert(dst.suffix_slot.end(), src.suffix_slot.begin(), src.suffix_slot.end());
}

// Encodes samples [begin, end) of t into out, cutting history to fit the limit.
void encode_range(const SampleTable& table, int64_t begin, int64_t end, const Catalog& catalog,
                  const PromptRenderer& renderer, const PartEncoder& enc, const PromptEncodeOptions& opt,
                  PromptColumns& out, PromptStats& st) {
  for (int64_t i = begin; i < end; ++i) {
    const SampleView full = table.at(size_t(i));
    EncodedPart head;
    std::vector<EncodedPart> tails;
    size_t length = 0;
    for (size_t keep = full.history.size();; --keep) {
      RenderedPrompt r = renderer.render(keep_newest(full, keep), catalog);
      CKF_CHECK(table.task != Task::Topk || r.suffixes.size() == full.candidates.size(),
                "topk sample " << i << ": " << r.suffixes.size() << " suffixes for " << full.candidates.size()
                               << " candidates");
      head = enc.encode(r, true);
      tails.clear();
      size_t longest = 0;
      for (const RenderedPrompt& s : r.suffixes) {
        tails.push_back(enc.encode(s, false));
        CKF_CHECK(tails.back().slots.size() == 1, "topk suffix must hold exactly one placeholder");
        longest = std::max(longest, tails.back().soft.size());
      }
      length = head.soft.size() + longest;
      if (length <= size_t(opt.max_prompt_tokens) || keep == 0) {
        st.truncated += keep < full.history.size();
        break;
      }
    }
    CKF_CHECK(length <= size_t(opt.max_prompt_tokens),
              split_name(table.split) << "/" << task_name(table.task) << " sample " << i << " (user " << full.user
                                      << ") needs " << length << " tokens without any history, over --max-prompt-tokens "
                                      << opt.max_prompt_tokens);
    ++st.samples;
    st.tokens += int64_t(length);
    st.max_tokens = std::max(st.max_tokens, int64_t(length));
    out.soft.push(head.soft);
    out.text.push(head.text);
    out.answer.push(head.answer);
    for (size_t k = 0; k < head.slots.size(); ++k) {
      out.slot_position.push_back(head.slot_position[k]);
      out.slot_kind.push_back(int8_t(head.slots[k].kind));
      out.slot_id.push_back(head.slots[k].id);
    }
    out.slot_offset.push_back(int64_t(out.slot_position.size()));
    for (const EncodedPart& t : tails) {
      out.suffix_soft.push(t.soft);
      out.suffix_text.push(t.text);
      out.suffix_answer.push(t.answer);
      out.suffix_slot.push_back(t.slot_position[0]);
    }
  }
}

}  // namespace

PromptStats prompt_encode(SampleTable& table, const Catalog& catalog, const PromptRenderer& renderer,
                          const Tokenizer& tok, const PromptEncodeOptions& opt) {
  CKF_CHECK(opt.placeholder_id >= 0 && opt.placeholder_id < tok.vocab_size(),
            "placeholder token id " << opt.placeholder_id << " is outside the vocabulary");
  CKF_CHECK(opt.max_prompt_tokens > 0, "max prompt tokens must be positive");
  const PartEncoder enc(tok, opt.placeholder_id);
  const int64_t n = int64_t(table.size());
  const size_t chunks = size_t(std::max(1, opt.threads));
  std::vector<PromptColumns> part(chunks);
  std::vector<PromptStats> stats(chunks);
  std::vector<std::exception_ptr> error(chunks);  // an exception must not leave a worker thread
  parallel_for(int(chunks), n, [&](int64_t begin, int64_t end, int chunk) {
    try {
      encode_range(table, begin, end, catalog, renderer, enc, opt, part[size_t(chunk)], stats[size_t(chunk)]);
    } catch (...) {
      error[size_t(chunk)] = std::current_exception();
    }
  });
  for (const std::exception_ptr& e : error)
    if (e) std::rethrow_exception(e);
  table.prompts.clear();
  table.prompts.placeholder_id = opt.placeholder_id;
  PromptStats total;
  for (size_t c = 0; c < chunks; ++c) {
    append_columns(table.prompts, part[c]);
    total.samples += stats[c].samples;
    total.tokens += stats[c].tokens;
    total.max_tokens = std::max(total.max_tokens, stats[c].max_tokens);
    total.truncated += stats[c].truncated;
  }
  table.has_prompts = true;
  return total;
}

}  // namespace ckf
