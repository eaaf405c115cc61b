#include "io/shard_prompt.h"

#include "core/check.h"

namespace ckf {

namespace {

void ragged_write(H5File& f, const std::string& name, const Ragged& r) {
  f.write(name + "/offsets", r.offset);
  f.write(name + "/tokens", r.value);
}

// Offsets must start at 0, never decrease and end at the token count; tokens are ids >= 0.
Ragged ragged_read(const H5File& f, const std::string& name, size_t rows) {
  const std::string where = f.path().string() + ": /prompt/" + name;
  Ragged r;
  r.offset = f.read<int64_t>("prompt/" + name + "/offsets");
  r.value = f.read<int32_t>("prompt/" + name + "/tokens");
  CKF_CHECK(r.offset.size() == rows + 1, where << "/offsets has " << r.offset.size() << " entries, expected "
                                                << rows + 1);
  CKF_CHECK(r.offset[0] == 0 && r.offset.back() == int64_t(r.value.size()),
            where << "/offsets must run from 0 to the token count " << r.value.size());
  for (size_t i = 0; i < rows; ++i)
    CKF_CHECK(r.offset[i] <= r.offset[i + 1], where << "/offsets decrease at row " << i);
  for (size_t k = 0; k < r.value.size(); ++k)
    CKF_CHECK(r.value[k] >= 0, where << "/tokens[" << k << "] = " << r.value[k] << " is negative");
  return r;
}

}  // namespace

void shard_prompt_write(H5File& f, const SampleTable& t) {
  const PromptColumns& p = t.prompts;
  f.set_attr("placeholder_id", int64_t(p.placeholder_id));
  ragged_write(f, "prompt/soft", p.soft);
  ragged_write(f, "prompt/text", p.text);
  ragged_write(f, "prompt/answer", p.answer);
  f.write("prompt/slot/offsets", p.slot_offset);
  f.write("prompt/slot/position", p.slot_position);
  f.write("prompt/slot/kind", p.slot_kind);
  f.write("prompt/slot/id", p.slot_id);
  if (t.task != Task::Topk) return;
  ragged_write(f, "prompt/suffix_soft", p.suffix_soft);
  ragged_write(f, "prompt/suffix_text", p.suffix_text);
  ragged_write(f, "prompt/suffix_answer", p.suffix_answer);
  f.write("prompt/suffix_slot", p.suffix_slot);
}

void shard_prompt_read(const H5File& f, SampleTable& t, const ShardInfo& info) {
  const std::string name = f.path().string();
  PromptColumns& p = t.prompts;
  size_t N = t.size(), C = size_t(t.num_candidates);
  p.placeholder_id = int32_t(f.attr_int("placeholder_id"));
  CKF_CHECK(p.placeholder_id >= 0, name << ": placeholder_id " << p.placeholder_id << " is negative");
  p.soft = ragged_read(f, "soft", N);
  p.text = ragged_read(f, "text", N);
  p.answer = ragged_read(f, "answer", N);
  p.slot_offset = f.read<int64_t>("prompt/slot/offsets");
  p.slot_position = f.read<int32_t>("prompt/slot/position");
  p.slot_kind = f.read<int8_t>("prompt/slot/kind");
  p.slot_id = f.read<int32_t>("prompt/slot/id");
  size_t S = p.slot_position.size();
  CKF_CHECK(p.slot_offset.size() == N + 1 && p.slot_offset[0] == 0 && p.slot_offset.back() == int64_t(S) &&
                p.slot_kind.size() == S && p.slot_id.size() == S,
            name << ": /prompt/slot datasets disagree with each other or with num_samples " << N);
  for (size_t i = 0; i < N; ++i) {
    CKF_CHECK(p.slot_offset[i] <= p.slot_offset[i + 1], name << ": /prompt/slot/offsets decrease at sample " << i);
    std::span<const int32_t> row = p.soft.row(i);
    for (int64_t s = p.slot_offset[i]; s < p.slot_offset[i + 1]; ++s) {
      int32_t pos = p.slot_position[size_t(s)], id = p.slot_id[size_t(s)];
      int8_t kind = p.slot_kind[size_t(s)];
      CKF_CHECK(pos >= 0 && size_t(pos) < row.size() && row[size_t(pos)] == p.placeholder_id,
                name << ": sample " << i << ": placeholder position " << pos << " is not a placeholder token");
      CKF_CHECK(kind == 0 || kind == 1, name << ": sample " << i << ": placeholder kind " << int(kind) << " is not 0 or 1");
      int64_t limit = kind == 0 ? info.num_users : info.num_items;
      CKF_CHECK(id >= 0 && id < limit, name << ": sample " << i << ": placeholder id " << id << " outside [0, "
                                            << limit << ")");
    }
  }
  if (t.task != Task::Topk) return;
  p.suffix_soft = ragged_read(f, "suffix_soft", N * C);
  p.suffix_text = ragged_read(f, "suffix_text", N * C);
  p.suffix_answer = ragged_read(f, "suffix_answer", N * C);
  p.suffix_slot = f.read<int32_t>("prompt/suffix_slot");
  CKF_CHECK(p.suffix_slot.size() == N * C, name << ": /prompt/suffix_slot has " << p.suffix_slot.size()
                                                << " entries, expected " << N * C);
  for (size_t r = 0; r < N * C; ++r) {
    std::span<const int32_t> row = p.suffix_soft.row(r);
    int32_t pos = p.suffix_slot[r];
    CKF_CHECK(pos >= 0 && size_t(pos) < row.size() && row[size_t(pos)] == p.placeholder_id,
              name << ": suffix " << r << ": placeholder position " << pos << " is not a placeholder token");
  }
}

}  // namespace ckf
