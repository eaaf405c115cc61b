// CF training throughput on the synthetic generator, by default at MovieLens-100K scale (943
// users, 1682 items, ~96K interactions): seconds per epoch of MF and LightGCN (3 layers) for 1 and
// 2 threads, dim 64. LightGCN propagates the whole graph twice per batch, so its epoch time grows
// with nnz^2 / batch. Usage: cf_bench [users=943 items=1682 per_user=106 epochs=1]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "core/cf_model.h"
#include "core/cf_synthetic.h"

using namespace ckf;

int main(int argc, char** argv) {
  CfSyntheticConfig sc;
  sc.n_users = argc > 1 ? std::atoll(argv[1]) : 943;
  sc.n_items = argc > 2 ? std::atoll(argv[2]) : 1682;
  sc.per_user = argc > 3 ? std::atoll(argv[3]) : 106;
  int epochs = argc > 4 ? std::atoi(argv[4]) : 1;
  CfDataset d = cf_synthetic_dataset(sc);
  std::vector<CfPair> pairs;
  for (const CfInteraction& x : d.train) pairs.push_back({x.user, x.item});
  CfGraph g = cf_graph_build(d.n_users, d.n_items, pairs);
  std::printf("%lld interactions, %d epoch(s), dim 64, batch 2048\n%-9s %7s %10s %12s\n", (long long)g.nnz(), epochs,
              "model", "threads", "s/epoch", "triples/s");
  for (CfModel model : {CfModel::mf, CfModel::lightgcn}) {
    for (int threads : {1, 2}) {
      CfConfig cfg;
      cfg.model = model, cfg.dim = 64, cfg.layers = 3, cfg.epochs = epochs, cfg.threads = threads;
      auto t0 = std::chrono::steady_clock::now();
      cf_train(g, cfg, nullptr);
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / epochs;
      std::printf("%-9s %7d %10.2f %12.0f\n", cf_model_name(model), threads, s, double(g.nnz()) / s);
    }
  }
  return 0;
}
