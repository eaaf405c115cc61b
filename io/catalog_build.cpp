// RawDataset -> Catalog: dedup, k-core, dense ids, per-user time order, split, cold flags.
#include <algorithm>
#include <numeric>

#include "core/check.h"
#include "io/catalog.h"

namespace ckf {

namespace {

// Numeric raw ids ("2" < "10") compare as numbers, others as strings, so dense ids follow the
// dataset's own id order whatever the file order.
bool natural_less(const std::string& a, const std::string& b) {
  auto digits = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (digits(a) && digits(b) && a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

// Interaction indices, one per (user, item): the latest wins (ties: the later line).
std::vector<size_t> dedup(const RawDataset& raw) {
  std::vector<size_t> order(raw.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (raw.user[a] != raw.user[b]) return raw.user[a] < raw.user[b];
    if (raw.item[a] != raw.item[b]) return raw.item[a] < raw.item[b];
    return raw.timestamp[a] < raw.timestamp[b];
  });
  std::vector<size_t> keep;
  keep.reserve(order.size());
  for (size_t k = 0; k < order.size(); ++k) {
    bool last_of_pair = k + 1 == order.size() || raw.user[order[k]] != raw.user[order[k + 1]] ||
                        raw.item[order[k]] != raw.item[order[k + 1]];
    if (last_of_pair) keep.push_back(order[k]);
  }
  return keep;
}

// Drops interactions of users (items) with fewer than min_user (min_item) until none is dropped.
std::vector<size_t> k_core(const RawDataset& raw, std::vector<size_t> rows, int64_t min_user, int64_t min_item) {
  std::vector<int64_t> nu(raw.users.names.size()), ni(raw.items.names.size());
  for (;;) {
    std::fill(nu.begin(), nu.end(), 0);
    std::fill(ni.begin(), ni.end(), 0);
    for (size_t r : rows) ++nu[size_t(raw.user[r])], ++ni[size_t(raw.item[r])];
    size_t before = rows.size();
    std::erase_if(rows, [&](size_t r) { return nu[size_t(raw.user[r])] < min_user || ni[size_t(raw.item[r])] < min_item; });
    if (rows.size() == before) return rows;
  }
}

// Dense ids for the raw ids that occur in rows, in natural raw-id order; -1 for the others.
std::vector<int32_t> dense_ids(const IdInterner& ids, const std::vector<int32_t>& column,
                               const std::vector<size_t>& rows, std::vector<std::string>& raw_out,
                               std::vector<int32_t>& raw_of_dense) {
  std::vector<bool> used(ids.names.size(), false);
  for (size_t r : rows) used[size_t(column[r])] = true;
  raw_of_dense.clear();
  for (size_t i = 0; i < used.size(); ++i)
    if (used[i]) raw_of_dense.push_back(int32_t(i));
  std::sort(raw_of_dense.begin(), raw_of_dense.end(),
            [&](int32_t a, int32_t b) { return natural_less(ids.names[size_t(a)], ids.names[size_t(b)]); });
  std::vector<int32_t> dense(ids.names.size(), -1);
  raw_out.clear();
  for (size_t d = 0; d < raw_of_dense.size(); ++d) {
    dense[size_t(raw_of_dense[d])] = int32_t(d);
    raw_out.push_back(ids.names[size_t(raw_of_dense[d])]);
  }
  return dense;
}

void split_leave_one_out(Catalog& c) {
  for (int32_t u = 0; u < c.num_users(); ++u) {
    int64_t b = c.user_offset[size_t(u)], e = c.user_offset[size_t(u) + 1];
    if (e - b < 3) continue;  // too short to hold out two: everything trains
    c.split[size_t(e - 1)] = int8_t(Split::Test);
    c.split[size_t(e - 2)] = int8_t(Split::Valid);
  }
}

// Cut times at the (1 - test_frac) and (1 - test_frac - valid_frac) quantiles of all timestamps;
// an interaction at or after a cut belongs to the later split, so equal times never straddle one.
void split_temporal(Catalog& c, double valid_frac, double test_frac) {
  CKF_CHECK(valid_frac >= 0 && test_frac >= 0 && valid_frac + test_frac < 1,
            "--valid-frac " << valid_frac << " and --test-frac " << test_frac << " must be >= 0 and sum below 1");
  std::vector<int64_t> ts = c.timestamp;
  std::sort(ts.begin(), ts.end());
  auto cut = [&](double frac) {
    size_t k = std::min(ts.size() - 1, size_t(double(ts.size()) * (1.0 - frac)));
    return frac == 0 ? INT64_MAX : ts[k];
  };
  int64_t t_test = cut(test_frac), t_valid = cut(test_frac + valid_frac);
  for (size_t k = 0; k < c.size(); ++k)
    c.split[k] = int8_t(c.timestamp[k] >= t_test ? Split::Test : c.timestamp[k] >= t_valid ? Split::Valid : Split::Train);
}

}  // namespace

Catalog catalog_build(RawDataset raw, const CatalogOptions& opt) {
  CKF_CHECK(opt.min_user >= 0 && opt.min_item >= 0, "--min-user and --min-item must be >= 0");
  std::vector<size_t> rows = k_core(raw, dedup(raw), opt.min_user, opt.min_item);
  CKF_CHECK(!rows.empty(), "no interactions left after the " << opt.min_user << "/" << opt.min_item
                                                             << " k-core filter (--min-user/--min-item)");
  Catalog c;
  c.source = opt.source;
  c.split_kind = opt.split == SplitKind::LeaveOneOut ? "loo" : "temporal";
  c.cold_max = opt.cold_max;
  std::vector<int32_t> user_raw_index, item_raw_index;
  std::vector<int32_t> du = dense_ids(raw.users, raw.user, rows, c.user_raw, user_raw_index);
  std::vector<int32_t> di = dense_ids(raw.items, raw.item, rows, c.item_raw, item_raw_index);
  for (int32_t i : item_raw_index) c.title.push_back(size_t(i) < raw.title.size() ? raw.title[size_t(i)] : "");

  std::sort(rows.begin(), rows.end(), [&](size_t a, size_t b) {
    int32_t ua = du[size_t(raw.user[a])], ub = du[size_t(raw.user[b])];
    if (ua != ub) return ua < ub;
    if (raw.timestamp[a] != raw.timestamp[b]) return raw.timestamp[a] < raw.timestamp[b];
    return di[size_t(raw.item[a])] < di[size_t(raw.item[b])];
  });
  bool reviews = !raw.review.empty();
  c.user_offset.assign(c.user_raw.size() + 1, 0);
  for (size_t r : rows) {
    int32_t u = du[size_t(raw.user[r])];
    ++c.user_offset[size_t(u) + 1];
    c.user.push_back(u);
    c.item.push_back(di[size_t(raw.item[r])]);
    c.rating.push_back(raw.rating[r]);
    c.timestamp.push_back(raw.timestamp[r]);
    if (reviews) {
      c.review.push_back(std::move(raw.review[r]));
      c.summary.push_back(std::move(raw.summary[r]));
    }
  }
  std::partial_sum(c.user_offset.begin(), c.user_offset.end(), c.user_offset.begin());

  c.split.assign(c.size(), int8_t(Split::Train));
  if (opt.split == SplitKind::LeaveOneOut) split_leave_one_out(c);
  else split_temporal(c, opt.valid_frac, opt.test_frac);

  c.user_cold.assign(c.user_raw.size(), 0);
  std::vector<int64_t> train_count(c.user_raw.size(), 0);
  for (size_t k = 0; k < c.size(); ++k) train_count[size_t(c.user[k])] += c.split[k] == int8_t(Split::Train);
  for (size_t u = 0; u < train_count.size(); ++u) c.user_cold[u] = train_count[u] <= opt.cold_max;
  return c;
}

}  // namespace ckf
