// The user-item interaction graph of CF training: CSR adjacency in both directions, membership
// tests for negative sampling, and LightGCN's symmetric normalised propagation
// A_hat = D^-1/2 A D^-1/2 over the (n_users + n_items) bipartite nodes, users first.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace ckf {

struct CfPair {
  int32_t user, item;
};

struct CfGraph {
  int64_t n_users = 0, n_items = 0;
  std::vector<int64_t> user_ptr;    // (n_users + 1) offsets into user_items
  std::vector<int32_t> user_items;  // (nnz) each user's items, ascending, no duplicates
  std::vector<int64_t> item_ptr;    // (n_items + 1) offsets into item_users
  std::vector<int32_t> item_users;  // (nnz) each item's users, ascending
  std::vector<double> user_w;       // (nnz) A_hat weight 1/sqrt(deg_u deg_i) of each user_items edge
  std::vector<double> item_w;       // (nnz) the same weights in item_users order
  int64_t nnz() const { return int64_t(user_items.size()); }
};

// Duplicate pairs count once. Ids out of range are an error naming the pair.
CfGraph cf_graph_build(int64_t n_users, int64_t n_items, std::span<const CfPair> pairs);

bool cf_graph_has(const CfGraph& g, int32_t user, int32_t item);

// out = A_hat in, in and out (n_users + n_items, dim), distinct buffers. A node without edges
// gets a zero row. A_hat is symmetric, so this is also its own backward.
template <class T>
void cf_graph_propagate(const CfGraph& g, const T* in, T* out, int64_t dim, int threads);

}  // namespace ckf
