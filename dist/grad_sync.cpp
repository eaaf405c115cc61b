#include "dist/grad_sync.h"

#include <algorithm>
#include <set>

#include "core/check.h"

namespace ckf {

GradSync::GradSync(ProcessGrid& grid, std::vector<GradSyncItem> items, size_t bucket_bytes)
    : bucket_bytes_(bucket_bytes) {
  CKF_CHECK(bucket_bytes >= sizeof(float) && bucket_bytes % sizeof(float) == 0,
            "gradient bucket size " << bucket_bytes << " bytes must be a positive multiple of 4");
  std::set<const Param*> seen;
  Bucketed tp{&grid.tp(), false, {}}, dp{&grid.dp(), true, {}};
  std::vector<Bucketed> tasks;
  for (const std::string& name : grid.my_tasks()) tasks.push_back({&grid.task(name), true, {}});
  for (const GradSyncItem& it : items) {
    CKF_CHECK(it.param != nullptr, "gradient sync: null Param in the list");
    const Param& p = *it.param;
    CKF_CHECK(seen.insert(&p).second, "gradient sync: Param " << p.name << " listed twice");
    CKF_CHECK(p.grad.dtype() == DType::f32 && p.grad.shape() == p.value.shape(),
              "gradient sync: Param " << p.name << " has gradient " << p.grad.describe() << " for value "
                                      << p.value.describe());
    if (it.tp_partial) tp.params.push_back(it.param);
    if (it.group == GradGroup::dp) {
      dp.params.push_back(it.param);
      continue;
    }
    CKF_CHECK(grid.holds(it.task), "gradient sync: Param " << p.name << " belongs to task '" << it.task
                                                           << "', which replica " << grid.dp_rank() << " does not hold");
    auto& mine = grid.my_tasks();
    tasks[std::find(mine.begin(), mine.end(), it.task) - mine.begin()].params.push_back(it.param);
  }
  groups_.push_back(std::move(tp));
  groups_.push_back(std::move(dp));
  for (auto& t : tasks) groups_.push_back(std::move(t));
  staging_.resize(bucket_bytes_ / sizeof(float));
}

// Copies n elements between staging and the gradients viewed as one concatenation, starting at
// element `off` of params[pi]; advances (pi, off) past them.
static void bucket_copy(const std::vector<Param*>& params, size_t& pi, int64_t& off, float* staging, int64_t n,
                        bool pack) {
  for (int64_t done = 0; done < n;) {
    float* grad = params[pi]->grad.data<float>();
    const int64_t take = std::min(n - done, params[pi]->grad.numel() - off);
    if (pack) std::copy_n(grad + off, take, staging + done);
    else std::copy_n(staging + done, take, grad + off);
    done += take;
    off += take;
    if (off == params[pi]->grad.numel()) ++pi, off = 0;
  }
}

void GradSync::reduce_group(const Bucketed& g) {
  int64_t total = 0;
  for (const Param* p : g.params) total += p->grad.numel();
  const int64_t cap = static_cast<int64_t>(staging_.size());
  const float scale = g.average ? 1.0f / static_cast<float>(g.comm->size()) : 1.0f;
  size_t pi = 0;
  int64_t off = 0;
  for (int64_t begin = 0; begin < total; begin += cap) {
    const int64_t n = std::min(cap, total - begin);
    size_t unpack_pi = pi;
    int64_t unpack_off = off;
    bucket_copy(g.params, pi, off, staging_.data(), n, true);
    g.comm->all_reduce(std::span<float>(staging_.data(), static_cast<size_t>(n)));
    if (scale != 1.0f)
      for (int64_t i = 0; i < n; i++) staging_[i] *= scale;
    bucket_copy(g.params, unpack_pi, unpack_off, staging_.data(), n, false);
  }
}

void GradSync::sync() {
  stats_.clear();
  for (const Bucketed& g : groups_) {
    const CollectiveCounter before = g.comm->counter(Collective::all_reduce);
    reduce_group(g);
    const CollectiveCounter& after = g.comm->counter(Collective::all_reduce);
    GradSyncGroupStats s;
    s.group = g.comm->name();
    s.size = g.comm->size();
    for (const Param* p : g.params) s.n_params += p->grad.numel();
    s.calls = after.calls - before.calls;
    s.bytes = after.bytes - before.bytes;
    stats_.push_back(std::move(s));
  }
}

uint64_t GradSync::last_bytes() const {
  uint64_t b = 0;
  for (const auto& s : stats_) b += s.bytes;
  return b;
}

}  // namespace ckf
