#include "core/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/check.h"
#include "core/optimizer.h"
#include "core/rng.h"
#include "dist/preemption.h"
#include "dist/process_grid.h"
#include "io/checkpoint.h"
#include "io/loader.h"
#include "io/shard.h"
#include "io/tokenizer.h"
#include "core/train/train_backend.h"
#include "core/train/train_eval.h"
#include "core/train/train_examples.h"
#include "core/train/train_model.h"

namespace ckf {

namespace {

namespace fs = std::filesystem;

// The world's view of one step: per task (in configuration order) the mean loss over the replicas
// that trained it this step, and the tokens processed.
struct StepLosses {
  std::vector<double> task_loss;  // (T) NaN for a task without samples this step
  double total = 0;               // sum of weight * task loss: the objective
  double tokens = 0;              // over the world
};

// Every task's cursor, merged over the replicas: each rank fills its own tasks, the others stay -1,
// and an all-reduce (max) over the world gives every rank every cursor.
// Layout: step, then (epoch, position) per configured task.
// Prompts tokenized for another model would feed it the wrong ids: refuse them before training.
// One prep writes every shard with one tokenizer, so each task's first shard speaks for the rest.
void check_shard_tokenizer(const TrainConfig& cfg) {
  const std::string identity = tokenizer_load(cfg.model_path).identity();
  for (const std::string& task : cfg.tasks) {
    const std::vector<std::filesystem::path> files = shard_list(cfg.data_dir, Split::Train, task_parse(task));
    if (files.empty()) continue;  // the loader reports missing shards with its own message
    ShardInfo info;
    shard_read(files.front(), &info);
    shard_check_tokenizer(files.front(), info, identity);
  }
}

std::vector<int64_t> cursor_merge(Communicator& world, const LoaderCursor& c, const std::vector<std::string>& tasks) {
  std::vector<int64_t> v(1 + 2 * tasks.size(), -1);
  v[0] = c.step;
  for (const TaskCursor& t : c.tasks) {
    for (size_t i = 0; i < tasks.size(); ++i) {
      if (task_parse(tasks[i]) != t.task) continue;
      v[1 + 2 * i] = t.epoch;
      v[2 + 2 * i] = t.position;
    }
  }
  world.all_reduce(v.data(), int64_t(v.size()), ElemType::i64, ReduceOp::max);
  return v;
}

LoaderCursor cursor_unmerge(const std::vector<int64_t>& v, const std::vector<std::string>& tasks) {
  CKF_CHECK(v.size() == 1 + 2 * tasks.size(), "checkpoint data_cursor has " << v.size() << " values, expected "
                                                                            << 1 + 2 * tasks.size() << " for the "
                                                                            << tasks.size() << " tasks configured");
  LoaderCursor c;
  c.step = v[0];
  for (size_t i = 0; i < tasks.size(); ++i) c.tasks.push_back({task_parse(tasks[i]), v[1 + 2 * i], v[2 + 2 * i]});
  return c;
}

class Trainer {
 public:
  Trainer(const TrainConfig& cfg, Communicator& world);
  int run();

 private:
  // Forward and backward of this replica's tasks, then the gradient sync; the world's losses.
  StepLosses step_compute(const LoaderBatch& batch);
  void checkpoint(int64_t step);
  void resume();
  void log_step(int64_t step, const StepLosses& losses, const StepResult& r, double seconds);

  const TrainConfig& cfg_;
  Communicator& world_;
  TaskPlacement placement_;
  std::unique_ptr<ProcessGrid> grid_;
  std::unique_ptr<TrainModel> m_;
  ModelIdentity model_identity_;  // of the base model file, recorded in and checked against checkpoints
  std::unique_ptr<AdamW> opt_;  // the host optimizer state (checkpoints); the backend steps it or its device twin
  std::unique_ptr<TrainBackend> backend_;
  std::unique_ptr<Loader> loader_;
  std::unique_ptr<TrainEval> eval_;  // null without --eval-every
  int64_t step_ = 0;               // steps completed
  int64_t skipped_ = 0;            // steps whose update was skipped (non-finite gradient)
  std::ofstream metrics_;
  std::chrono::steady_clock::time_point start_;
  int64_t start_step_ = 0;
};

Trainer::Trainer(const TrainConfig& cfg, Communicator& world) : cfg_(cfg), world_(world) {
  const int dp = world.size() / cfg.tp;
  placement_ = cfg.placement.empty() ? placement_round_robin(cfg.tasks, dp)
                                     : placement_parse(cfg.placement, dp, "--data.placement");
  CKF_CHECK(placement_.tasks == cfg.tasks,
            "--data.placement lists the tasks " << placement_.str() << ", not those of --data.tasks");
  const LlamaConfig lc = train_llama_config(cfg);
  grid_ = std::make_unique<ProcessGrid>(world, cfg.tp, TpSplitDims{lc.n_heads, lc.n_kv_heads, lc.vocab, lc.ffn},
                                        placement_);
  m_ = train_model_create(cfg, *grid_);
  model_identity_ = train_model_identity(cfg);
  opt_ = std::make_unique<AdamW>(m_->trainable.params, cfg.optim, m_->trainable.count_in_norm);
  backend_ = cfg.device == "cuda" ? train_backend_cuda_create(cfg, *grid_, *m_, *opt_)
                                  : train_backend_cpu_create(cfg, *grid_, *m_, *opt_);
  LoaderOptions lo;
  lo.dir = cfg.data_dir;
  lo.split = Split::Train;
  lo.seed = cfg.seed;
  for (size_t t = 0; t < cfg.tasks.size(); ++t) lo.tasks.push_back({task_parse(cfg.tasks[t]), cfg.batch[t]});
  loader_ = std::make_unique<Loader>(lo, placement_, grid_->dp_rank());
  if (!cfg.model_path.empty()) check_shard_tokenizer(cfg);
  if (cfg.eval_every > 0) eval_ = std::make_unique<TrainEval>(cfg, *grid_, *m_);
  if (world.rank() == 0 && !cfg.metrics_path.empty()) {
    metrics_.open(cfg.metrics_path, std::ios::app);
    CKF_CHECK(metrics_, "--metrics: cannot open " << cfg.metrics_path);
  }
}

StepLosses Trainer::step_compute(const LoaderBatch& batch) {
  const size_t T = cfg_.tasks.size();
  std::vector<double> red(2 * T + 1, 0.0);  // loss sums (T), replica counts (T), tokens
  size_t last = batch.tasks.size();  // the last part with samples: its backward ends the step
  for (size_t p = 0; p < batch.tasks.size(); ++p)
    if (batch.tasks[p].samples.size() > 0) last = p;
  for (size_t p = 0; p < batch.tasks.size(); ++p) {
    const TaskBatch& part = batch.tasks[p];
    if (part.samples.size() == 0) continue;
    size_t t = 0;
    while (task_parse(cfg_.tasks[t]) != part.task) ++t;
    std::vector<CkfExample> examples;
    for (size_t k = 0; k < part.samples.size(); ++k) {
      const bool soft =
          cfg_.mapper != MapperMode::none &&
          curriculum_use_soft(cfg_.curriculum, cfg_.seed, batch.step, cfg_.steps, int(part.task), part.positions[k]);
      train_examples_append(part.samples, k, soft, examples);
    }
    // Every tp rank of a replica runs the same samples: count their tokens once.
    if (grid_->tp_rank() == 0)
      for (const CkfExample& ex : examples) red[2 * T] += double(ex.prompt.size() + ex.answer.size());
    // Dropout masks: a pure function of (seed, step, task), so a resumed step draws the same ones.
    const LlamaRunMode mode{true, rng_mix(cfg_.seed ^ rng_mix(uint64_t(batch.step) * 16 + uint64_t(part.task)))};
    const float loss = backend_->task_step(examples, mode, cfg_.loss_weights[t], p == last);
    red[t] += double(loss);
    red[T + t] += 1.0;
  }
  // Before any other collective: on the device the last backward has already queued NCCL
  // reductions, and a replica without samples this step must queue its own before it waits in
  // the MPI all-reduce below, or its peers' NCCL calls would wait for it forever.
  backend_->grad_sync();
  world_.all_reduce(red.data(), int64_t(red.size()), ElemType::f64, ReduceOp::sum);
  StepLosses out;
  out.task_loss.resize(T);
  for (size_t t = 0; t < T; ++t) {
    out.task_loss[t] = red[T + t] > 0 ? red[t] / red[T + t] : NAN;
    if (red[T + t] > 0) out.total += cfg_.loss_weights[t] * out.task_loss[t];
  }
  out.tokens = red[2 * T];
  return out;
}

void Trainer::checkpoint(int64_t step) {
  if (cfg_.ckpt_dir.empty()) return;
  backend_->to_host();
  TrainState state;
  state.step = step;
  state.optimizer_step = opt_->step_count();
  state.data_cursor = cursor_merge(world_, loader_->cursor(), cfg_.tasks);
  state.curriculum_position = step;  // the curriculum is a function of the step alone
  state.extra_int["skipped_steps"] = skipped_;
  state.extra_int["seed"] = int64_t(cfg_.seed);
  CheckpointMeta meta;
  meta.tp = cfg_.tp;
  meta.dp = grid_->dp_size();
  meta.placement = placement_.str();
  meta.config_text = cfg_.config_text;
  meta.model = model_identity_;
  const fs::path dir = checkpoint_save(world_, cfg_.ckpt_dir, cfg_.keep_last, meta, m_->trainable.params, opt_.get(), state);
  if (world_.rank() == 0) std::printf("checkpoint %s\n", dir.c_str()), std::fflush(stdout);
}

void Trainer::resume() {
  int64_t found_step = -1;
  if (world_.rank() == 0) {
    auto found = checkpoint_find_latest(cfg_.ckpt_dir);
    if (found) found_step = found->manifest.step;
  }
  world_.broadcast(&found_step, 1, ElemType::i64, 0);
  if (found_step < 0) {
    if (world_.rank() == 0) std::printf("resume: no checkpoint in %s, starting fresh\n", cfg_.ckpt_dir.c_str());
    return;
  }
  FoundCheckpoint ck;
  ck.path = fs::path(cfg_.ckpt_dir) / checkpoint_dir_name(found_step);
  ck.manifest = manifest_read(ck.path / "manifest.h5");
  // Elastic resume: the world size may differ from the saved one. checkpoint_load fills each Param
  // and its AdamW moments by global offsets from whichever saved ranks held them (a task adapter
  // from a replica the saved placement gave that task), and every rank saved the same TrainState
  // (the cursors are merged over the replicas before saving), so any saved rank's file serves.
  TrainState state;
  checkpoint_load(ck, model_identity_, m_->trainable.params, opt_.get(), &state, world_.rank() % ck.manifest.world);
  CKF_CHECK(state.extra_int["seed"] == int64_t(cfg_.seed),
            "resume from " << ck.path << ": saved with --seed " << state.extra_int["seed"] << ", not " << cfg_.seed);
  backend_->from_host();
  step_ = state.step;
  skipped_ = state.extra_int["skipped_steps"];
  loader_->seek(cursor_unmerge(state.data_cursor, cfg_.tasks));
  if (world_.rank() == 0)
    std::printf("resumed from %s at step %lld (saved by %d ranks, placement %s; now %d, placement %s)\n",
                ck.path.c_str(), (long long)step_, ck.manifest.world, ck.manifest.meta.placement.c_str(), world_.size(),
                placement_.str().c_str());
}

void Trainer::log_step(int64_t step, const StepLosses& losses, const StepResult& r, double seconds) {
  if (world_.rank() != 0) return;
  const double tok_s = seconds > 0 ? losses.tokens / seconds : 0;
  if (step % cfg_.log_every == 0 || step == cfg_.max_steps) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta = elapsed / double(step - start_step_) * double(cfg_.max_steps - step);
    std::printf("step %lld/%lld", (long long)step, (long long)cfg_.steps);
    for (size_t t = 0; t < cfg_.tasks.size(); ++t) std::printf("  %s %.4f", cfg_.tasks[t].c_str(), losses.task_loss[t]);
    std::printf("  lr %.3g  gnorm %.3g  %.0f tok/s  eta %.0fs%s\n", r.lr, r.grad_norm, tok_s, eta,
                r.applied ? "" : "  (skipped: non-finite gradient)");
    std::fflush(stdout);
  }
  if (!metrics_.is_open()) return;
  auto num = [](double x) {
    std::ostringstream s;
    s.precision(9);
    if (std::isfinite(x))
      s << x;
    else
      s << "null";
    return s.str();
  };
  std::ostringstream line;
  line << "{\"step\":" << step << ",\"lr\":" << num(r.lr) << ",\"loss\":" << num(losses.total) << ",\"task_loss\":{";
  for (size_t t = 0; t < cfg_.tasks.size(); ++t)
    line << (t ? "," : "") << "\"" << cfg_.tasks[t] << "\":" << num(losses.task_loss[t]);
  line << "},\"grad_norm\":" << num(r.grad_norm) << ",\"tokens_per_s\":" << num(tok_s) << ",\"skipped\":" << skipped_
       << ",\"bytes_sent\":{";
  const auto& stats = backend_->sync_stats();
  for (size_t g = 0; g < stats.size(); ++g) line << (g ? "," : "") << "\"" << stats[g].group << "\":" << stats[g].bytes;
  line << "}}\n";
  metrics_ << line.str() << std::flush;
}

int Trainer::run() {
  preemption_install_handlers();
  if (cfg_.resume == "auto") resume();
  start_ = std::chrono::steady_clock::now();
  start_step_ = step_;
  int bad_streak = 0;  // consecutive steps with a non-finite loss
  while (step_ < cfg_.max_steps) {
    if (preemption_requested(world_)) {
      checkpoint(step_);
      if (world_.rank() == 0) std::printf("preempted at step %lld\n", (long long)step_);
      return kPreemptExitStatus;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const LoaderBatch batch = loader_->next();
    CKF_CHECK(batch.step == step_, "loader step " << batch.step << " out of line with the trainer's " << step_);
    const StepLosses losses = step_compute(batch);
    const StepResult r = backend_->optimizer_step([&](double local) {
      world_.all_reduce(&local, 1, ElemType::f64, ReduceOp::sum);
      return local;
    });
    if (!r.applied) ++skipped_;
    // Every rank sees the same all-reduced loss, so all take this branch together.
    if (std::isfinite(losses.total)) {
      bad_streak = 0;
    } else if (++bad_streak > cfg_.nonfinite_limit) {
      // Skipped steps changed no parameter: what is saved is the last good state.
      checkpoint(step_);
      CKF_FAIL("loss non-finite for " << bad_streak << " consecutive steps (--nonfinite-limit " << cfg_.nonfinite_limit
                                      << ") at step " << step_ + 1);
    }
    ++step_;
    log_step(step_, losses, r, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    // At fixed steps, so a resumed run evaluates where an uninterrupted one does.
    if (eval_ && step_ % cfg_.eval_every == 0) {
      backend_->to_host();
      eval_->run(step_, metrics_.is_open() ? &metrics_ : nullptr);
    }
    if (cfg_.ckpt_every > 0 && step_ % cfg_.ckpt_every == 0 && step_ < cfg_.max_steps) checkpoint(step_);
  }
  checkpoint(step_);
  return 0;
}

}  // namespace

int train_run(const TrainConfig& cfg, Communicator& world) {
  Trainer trainer(cfg, world);
  return trainer.run();
}

}  // namespace ckf
