#include "core/cf_dataset.h"

#include <cmath>

#include "core/check.h"

namespace ckf {

static void check_ids(const CfDataset& d, const char* where, size_t k, int32_t user, int32_t item) {
  CKF_CHECK(user >= 0 && user < d.n_users,
            "dataset " << d.identity << ": " << where << " sample " << k << " user " << user << " out of range [0, "
                       << d.n_users << ")");
  CKF_CHECK(item >= 0 && item < d.n_items,
            "dataset " << d.identity << ": " << where << " sample " << k << " item " << item << " out of range [0, "
                       << d.n_items << ")");
}

static void check_split(const CfDataset& d, const CfEvalSplit& s, const std::string& name) {
  for (size_t k = 0; k < s.ctr.size(); ++k) {
    check_ids(d, (name + " ctr").c_str(), k, s.ctr[k].user, s.ctr[k].item);
    CKF_CHECK(s.ctr[k].label <= 1, "dataset " << d.identity << ": " << name << " ctr sample " << k << " label "
                                              << int(s.ctr[k].label) << " is not 0 or 1");
  }
  if (!s.topk_users.empty()) {
    CKF_CHECK(s.topk_candidates >= 2 && s.topk_items.size() == s.topk_users.size() * size_t(s.topk_candidates),
              "dataset " << d.identity << ": " << name << " top-k has " << s.topk_users.size() << " samples of "
                         << s.topk_candidates << " candidates but " << s.topk_items.size() << " item ids");
    for (size_t k = 0; k < s.topk_items.size(); ++k)
      check_ids(d, (name + " top-k").c_str(), k / s.topk_candidates, s.topk_users[k / s.topk_candidates],
                s.topk_items[k]);
  }
  for (size_t k = 0; k < s.rating.size(); ++k) {
    check_ids(d, (name + " rating").c_str(), k, s.rating[k].user, s.rating[k].item);
    CKF_CHECK(std::isfinite(s.rating[k].rating),
              "dataset " << d.identity << ": " << name << " rating sample " << k << " is " << s.rating[k].rating);
  }
}

void cf_dataset_check(const CfDataset& d) {
  CKF_CHECK(d.n_users > 0 && d.n_items > 0,
            "dataset " << d.identity << ": " << d.n_users << " users and " << d.n_items << " items");
  for (size_t k = 0; k < d.train.size(); ++k) {
    check_ids(d, "train", k, d.train[k].user, d.train[k].item);
    CKF_CHECK(std::isfinite(d.train[k].rating),
              "dataset " << d.identity << ": train interaction " << k << " rating is " << d.train[k].rating);
  }
  check_split(d, d.valid, "valid");
  check_split(d, d.test, "test");
}

}  // namespace ckf
