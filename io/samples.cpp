#include "io/samples.h"

#include <algorithm>

#include "core/check.h"
#include "core/hash.h"

namespace ckf {

namespace {


// splitmix64 stream with unbiased bounded draws (Lemire): defined here rather than <random> so the
// samples are identical across standard libraries.
struct Rng {
  uint64_t state;
  uint64_t next() { return splitmix64_finalize(state += 0x9e3779b97f4a7c15ULL); }
  uint64_t below(uint64_t n) {
    unsigned __int128 m = (unsigned __int128)next() * n;
    uint64_t low = uint64_t(m);
    if (low < n) {
      uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = (unsigned __int128)next() * n;
        low = uint64_t(m);
      }
    }
    return uint64_t(m >> 64);
  }
};

// Draws distinct items the current user never interacted with.
class NegativeSampler {
 public:
  explicit NegativeSampler(const Catalog& c) : c_(c), mark_(size_t(c.num_items()), 0) {}

  void set_user(int32_t u) {
    for (int32_t i : seen_) mark_[size_t(i)] = 0;
    seen_.assign(c_.item.begin() + c_.user_offset[size_t(u)], c_.item.begin() + c_.user_offset[size_t(u) + 1]);
    for (int32_t i : seen_) mark_[size_t(i)] = 1;
    complement_.clear();
  }

  // Appends k negatives to out; false (out unchanged) when the user has fewer than k left.
  bool draw(size_t k, Rng& rng, std::vector<int32_t>& out) {
    size_t items = mark_.size(), free = items - seen_.size();
    if (k > free) return false;
    if (seen_.size() * 2 < items) {  // rejection: each try succeeds with probability > 1/2 - k/items
      size_t start = out.size();
      while (out.size() - start < k) {
        int32_t i = int32_t(rng.below(items));
        if (mark_[size_t(i)]) continue;
        mark_[size_t(i)] = 2;  // taken for this sample
        out.push_back(i);
      }
      for (size_t j = start; j < out.size(); ++j) mark_[size_t(out[j])] = 0;
      return true;
    }
    if (complement_.empty())
      for (size_t i = 0; i < items; ++i)
        if (!mark_[i]) complement_.push_back(int32_t(i));
    for (size_t j = 0; j < k; ++j) {  // partial Fisher-Yates
      size_t pick = j + size_t(rng.below(complement_.size() - j));
      std::swap(complement_[j], complement_[pick]);
      out.push_back(complement_[j]);
    }
    return true;
  }

 private:
  const Catalog& c_;
  std::vector<uint8_t> mark_;        // (I) 1: interacted by the current user, 2: drawn for this sample
  std::vector<int32_t> seen_;        // the current user's items
  std::vector<int32_t> complement_;  // the user's non-interacted items, built for heavy users only
};

}  // namespace

SampleStats samples_generate(const Catalog& c, Split split, Task task, const SampleOptions& opt, size_t shard_size,
                             const std::function<void(const SampleTable&)>& emit) {
  CKF_CHECK(shard_size > 0, "shard size must be positive");
  CKF_CHECK(opt.history_len > 0 && opt.seq_candidates > 1 && opt.topk_candidates > 1 && opt.ctr_negatives >= 0 &&
                opt.topk_train_negatives >= 1,
            "sample options: history_len > 0, candidate counts > 1, ctr_negatives >= 0 and topk_train_negatives >= 1 "
            "required");
  SampleTable table;
  table.task = task;
  table.split = split;
  table.history_len = opt.history_len;
  int32_t topk_width = split == Split::Train ? opt.topk_train_negatives + 1 : opt.topk_candidates;
  table.num_candidates = task == Task::Sequential ? opt.seq_candidates : task == Task::Topk ? topk_width : 0;
  SampleStats stats;
  NegativeSampler negatives(c);
  std::vector<int32_t> cand;  // (num_candidates) of the sample being built
  auto push = [&](int32_t u, int32_t target, float label, int64_t b, int64_t k) {
    int64_t h0 = std::max(b, k - opt.history_len);
    table.push(u, target, label, {c.item.data() + h0, size_t(k - h0)}, {c.rating.data() + h0, size_t(k - h0)}, cand);
    ++stats.samples;
    if (table.size() == shard_size) {
      emit(table);
      table.clear();
    }
  };

  for (int32_t u = 0; u < c.num_users(); ++u) {
    int64_t b = c.user_offset[size_t(u)], e = c.user_offset[size_t(u) + 1];
    bool any = false;
    for (int64_t k = b; k < e && !any; ++k) any = c.split[size_t(k)] == int8_t(split);
    if (!any) continue;
    negatives.set_user(u);
    Rng rng{splitmix64_finalize(opt.seed ^ splitmix64_finalize((uint64_t(split) << 40) ^ (uint64_t(task) << 32) ^ uint64_t(u)))};
    for (int64_t k = b; k < e; ++k) {
      if (c.split[size_t(k)] != int8_t(split)) continue;
      int32_t item = c.item[size_t(k)];
      float rating = c.rating[size_t(k)];
      bool positive = rating >= opt.positive_min;
      cand.clear();
      switch (task) {
        case Task::Ctr: {
          if (!positive) break;
          std::vector<int32_t> neg;
          if (!negatives.draw(size_t(opt.ctr_negatives), rng, neg)) {
            ++stats.skipped;
            break;
          }
          push(u, item, 1.0f, b, k);
          for (int32_t n : neg) push(u, n, 0.0f, b, k);
          break;
        }
        case Task::Rating:
          push(u, item, rating, b, k);
          break;
        case Task::Sequential:
        case Task::Topk: {
          if ((task == Task::Sequential && k == b) || (task == Task::Topk && !positive)) break;
          cand.push_back(item);
          if (!negatives.draw(size_t(table.num_candidates - 1), rng, cand)) {
            ++stats.skipped;
            break;
          }
          for (size_t j = cand.size() - 1; j > 0; --j) std::swap(cand[j], cand[size_t(rng.below(j + 1))]);
          float at = float(std::find(cand.begin(), cand.end(), item) - cand.begin());
          push(u, item, at, b, k);
          break;
        }
      }
    }
  }
  if (table.size() > 0) emit(table);
  return stats;
}

}  // namespace ckf
