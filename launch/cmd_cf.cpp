// `ckf cf`: trains CF embeddings (MF or LightGCN, BPR), fits the ridge rating baseline on them,
// prints AUC / UAUC / HR@k / NDCG@k / RMSE / MAE on valid and test, and writes the embeddings file.
//
// Input: --data DIR (a dataset directory made by ckf prep, read by io/cf_dataset_load.h) or
// --synthetic (the planted-cluster dataset of core/cf_synthetic.h).
#include <cstdio>

#include "core/cf_eval.h"
#include "core/cf_regressor.h"
#include "core/cf_synthetic.h"
#include "core/check.h"
#include "io/cf_dataset_load.h"
#include "io/cf_embeddings.h"
#include "io/command_options.h"
#include "launch/command.h"

namespace ckf {

namespace po = boost::program_options;

static void print_metrics_row(const char* split, const CfEvalResult& r) {
  std::printf("%-6s %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f\n", split, r.auc, r.uauc, r.hr, r.ndcg, r.rmse, r.mae);
}

static int cf_run(const std::vector<std::string>& args) {
  CfConfig cfg;
  std::string data_dir, out, model = "mf";
  double ridge = 1.0;
  int k = 10;
  CommandOptions opts("ckf cf", "ckf cf: train CF embeddings and report their metrics", true);
  opts.add()
      ("data", po::value(&data_dir), "dataset directory (made by ckf prep)")
      ("synthetic", "use the built-in planted-cluster dataset instead of --data")
      ("model", po::value(&model)->default_value(model), "mf | lightgcn")
      ("dim", po::value(&cfg.dim)->default_value(cfg.dim), "embedding dimension")
      ("out", po::value(&out), "output embeddings file (.h5)")
      ("epochs", po::value(&cfg.epochs)->default_value(cfg.epochs), "passes over the training interactions")
      ("lr", po::value(&cfg.lr)->default_value(cfg.lr), "Adam learning rate")
      ("layers", po::value(&cfg.layers)->default_value(cfg.layers), "LightGCN propagation layers")
      ("reg", po::value(&cfg.reg)->default_value(cfg.reg), "L2 weight on the batch's ego embeddings")
      ("batch-size", po::value(&cfg.batch_size)->default_value(cfg.batch_size), "BPR triples per step")
      ("threads", po::value(&cfg.threads)->default_value(cfg.threads), "CPU threads (results do not depend on it)")
      ("seed", po::value(&cfg.seed)->default_value(cfg.seed), "initialisation and sampling seed")
      ("ridge", po::value(&ridge)->default_value(ridge), "ridge weight of the rating regressor")
      ("k", po::value(&k)->default_value(k), "cut-off of HR@k and NDCG@k");
  if (!opts.parse(args)) return 0;
  CKF_CHECK(opts.given("data") + opts.given("synthetic") == 1, "ckf cf: give exactly one of --data DIR and --synthetic");
  CKF_CHECK(!data_dir.empty() || opts.given("synthetic"), "--data: empty path");
  CKF_CHECK(!out.empty(), "ckf cf: --out FILE is required");
  CKF_CHECK(k >= 1, "--k " << k << " must be >= 1");
  cfg.model = cf_model_parse(model);
  cf_config_check(cfg);
  CfDataset data;
  if (opts.given("synthetic")) {
    CfSyntheticConfig sc;
    sc.seed = cfg.seed;
    data = cf_synthetic_dataset(sc);
    cf_dataset_check(data);
  } else {
    data = cf_dataset_load(data_dir);
  }
  std::vector<CfPair> pairs;
  std::vector<CfRatingSample> train_ratings;
  for (const CfInteraction& x : data.train) pairs.push_back({x.user, x.item}), train_ratings.push_back({x.user, x.item, x.rating});
  CfGraph graph = cf_graph_build(data.n_users, data.n_items, pairs);
  std::printf("ckf cf: %s on %s: %lld users, %lld items, %lld train interactions, dim %lld\n", model.c_str(),
              data.identity.c_str(), (long long)data.n_users, (long long)data.n_items, (long long)graph.nnz(),
              (long long)cfg.dim);
  CfEmbeddings emb = cf_train(graph, cfg, [&](int epoch, double loss, const CfEmbeddings& e) {
    double auc = data.valid.ctr.empty() ? NAN : cf_evaluate(e, nullptr, data.valid, k).auc;
    std::printf("epoch %4d  loss %.5f  valid AUC %.4f\n", epoch + 1, loss, auc);
    std::fflush(stdout);
  });
  CfRegressor reg = cf_regressor_fit(emb, train_ratings, ridge);
  std::printf("%-6s %8s %8s %8s %8s %8s %8s\n", "split", "AUC", "UAUC", "HR@k", "NDCG@k", "RMSE", "MAE");
  print_metrics_row("valid", cf_evaluate(emb, &reg, data.valid, k));
  print_metrics_row("test", cf_evaluate(emb, &reg, data.test, k));
  cf_embeddings_write(out, emb, data.identity);
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

CKF_COMMAND("cf", "train CF embeddings (MF / LightGCN) and report AUC, HR@k, NDCG@k, RMSE", cf_run);

}  // namespace ckf
