#include "core/cf_graph.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "core/parallel_for.h"

namespace ckf {

CfGraph cf_graph_build(int64_t n_users, int64_t n_items, std::span<const CfPair> pairs) {
  CKF_CHECK(n_users > 0 && n_items > 0, "CF graph: n_users " << n_users << " and n_items " << n_items << " must be > 0");
  CKF_CHECK(n_users + n_items < INT32_MAX, "CF graph: " << n_users << " users + " << n_items << " items exceed int32 ids");
  for (size_t k = 0; k < pairs.size(); ++k)
    CKF_CHECK(pairs[k].user >= 0 && pairs[k].user < n_users && pairs[k].item >= 0 && pairs[k].item < n_items,
              "CF graph: interaction " << k << " (user " << pairs[k].user << ", item " << pairs[k].item
                                       << ") out of range [0, " << n_users << ") x [0, " << n_items << ")");
  std::vector<CfPair> sorted(pairs.begin(), pairs.end());
  auto by_user = [](CfPair a, CfPair b) { return a.user != b.user ? a.user < b.user : a.item < b.item; };
  std::sort(sorted.begin(), sorted.end(), by_user);
  sorted.erase(std::unique(sorted.begin(), sorted.end(),
                           [](CfPair a, CfPair b) { return a.user == b.user && a.item == b.item; }),
               sorted.end());
  CfGraph g;
  g.n_users = n_users, g.n_items = n_items;
  g.user_ptr.assign(n_users + 1, 0);
  g.item_ptr.assign(n_items + 1, 0);
  for (CfPair p : sorted) ++g.user_ptr[p.user + 1], ++g.item_ptr[p.item + 1];
  for (int64_t u = 0; u < n_users; ++u) g.user_ptr[u + 1] += g.user_ptr[u];
  for (int64_t i = 0; i < n_items; ++i) g.item_ptr[i + 1] += g.item_ptr[i];
  g.user_items.resize(sorted.size());
  g.item_users.resize(sorted.size());
  std::vector<int64_t> fill(g.item_ptr.begin(), g.item_ptr.end() - 1);
  for (size_t k = 0; k < sorted.size(); ++k) {
    g.user_items[k] = sorted[k].item;          // sorted by (user, item): CSR order already
    g.item_users[fill[sorted[k].item]++] = sorted[k].user;  // users ascend within an item
  }
  // Precomputed so that propagation, the hot loop of LightGCN, does no sqrt per edge.
  auto weight = [&](int32_t u, int32_t i) {
    return 1.0 / std::sqrt(double(g.user_ptr[u + 1] - g.user_ptr[u]) * double(g.item_ptr[i + 1] - g.item_ptr[i]));
  };
  g.user_w.resize(sorted.size());
  g.item_w.resize(sorted.size());
  for (int64_t u = 0; u < n_users; ++u)
    for (int64_t k = g.user_ptr[u]; k < g.user_ptr[u + 1]; ++k) g.user_w[k] = weight(int32_t(u), g.user_items[k]);
  for (int64_t i = 0; i < n_items; ++i)
    for (int64_t k = g.item_ptr[i]; k < g.item_ptr[i + 1]; ++k) g.item_w[k] = weight(g.item_users[k], int32_t(i));
  return g;
}

bool cf_graph_has(const CfGraph& g, int32_t user, int32_t item) {
  auto b = g.user_items.begin() + g.user_ptr[user], e = g.user_items.begin() + g.user_ptr[user + 1];
  return std::binary_search(b, e, item);
}

template <class T>
void cf_graph_propagate(const CfGraph& g, const T* in, T* out, int64_t dim, int threads) {
  int64_t n_nodes = g.n_users + g.n_items;
  // Each output row belongs to one chunk and sums its neighbours in CSR order: the result does
  // not depend on the thread count.
  parallel_for(threads, n_nodes, [&](int64_t begin, int64_t end, int) {
    for (int64_t node = begin; node < end; ++node) {
      T* o = out + node * dim;  // (dim)
      std::fill(o, o + dim, T(0));
      bool is_user = node < g.n_users;
      int64_t begin_e = is_user ? g.user_ptr[node] : g.item_ptr[node - g.n_users];
      int64_t end_e = is_user ? g.user_ptr[node + 1] : g.item_ptr[node - g.n_users + 1];
      const int32_t* nbr = is_user ? g.user_items.data() : g.item_users.data();  // (nnz)
      const double* wt = is_user ? g.user_w.data() : g.item_w.data();           // (nnz)
      int64_t offset = is_user ? g.n_users : 0;  // neighbours of a user are items and vice versa
      for (int64_t k = begin_e; k < end_e; ++k) {
        T w = T(wt[k]);
        const T* x = in + (nbr[k] + offset) * dim;  // (dim)
        for (int64_t c = 0; c < dim; ++c) o[c] += w * x[c];
      }
    }
  });
}

template void cf_graph_propagate<float>(const CfGraph&, const float*, float*, int64_t, int);
template void cf_graph_propagate<double>(const CfGraph&, const double*, double*, int64_t, int);

}  // namespace ckf
