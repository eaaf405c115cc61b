#ifdef CKF_WITH_CUDA
#include "dist/grad_sync_cuda.h"

#include <algorithm>
#include <climits>
#include <exception>
#include <set>

#include "core/check.h"
#include "dist/mpi_communicator.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/scale.h"

namespace ckf {

namespace {

// FNV-1a over the names, sizes and layers of a group's items, in order: equal on every rank of the
// group exactly when they list the same items (up to a 63-bit hash collision).
int64_t items_fingerprint(const std::vector<const GradSyncCudaItem*>& items) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
  };
  for (const GradSyncCudaItem* it : items) {
    mix(it->name.data(), it->name.size() + 1);
    mix(&it->n, sizeof(it->n));
    mix(&it->layer, sizeof(it->layer));
  }
  return static_cast<int64_t>(h >> 1);  // non-negative, so its negation below cannot overflow
}

// Throws on every rank of `comm` unless all its ranks list the same items: issuing NCCL calls for
// different buckets would hang or mix unrelated gradients.
void check_same_items(Communicator& comm, const std::vector<const GradSyncCudaItem*>& items) {
  int64_t total = 0;
  for (const GradSyncCudaItem* it : items) total += it->n;
  const int64_t mine[3] = {static_cast<int64_t>(items.size()), total, items_fingerprint(items)};
  // max of x and of -x in one call: min == max exactly when every rank agrees.
  int64_t v[6] = {mine[0], mine[1], mine[2], -mine[0], -mine[1], -mine[2]};
  comm.all_reduce(std::span<int64_t>(v, 6), ReduceOp::max);
  CKF_CHECK(v[0] == -v[3] && v[1] == -v[4] && v[2] == -v[5],
            "device gradient sync: the ranks of group '"
                << comm.name() << "' list different gradients (between " << -v[3] << " and " << v[0] << " items, "
                << -v[4] << " and " << v[1] << " floats; this rank: " << mine[0] << " items, " << mine[1]
                << " floats; or their names, sizes or layers differ). Every rank of a group must list the same "
                   "items in the same order, else the NCCL calls would not match");
}

}  // namespace

GradSyncCuda::GradSyncCuda(ProcessGrid& grid, std::vector<GradSyncCudaItem> items, int device, cudaStream_t compute,
                           size_t bucket_bytes)
    : device_(device), compute_(compute), bucket_bytes_(bucket_bytes) {
  CKF_CHECK(grid.tp_size() == 1, "device gradient sync: tensor parallelism (tp " << grid.tp_size()
                                     << ") is not supported on the device path; run the CUDA trainer with --tp 1");
  CKF_CHECK(bucket_bytes >= sizeof(float) && bucket_bytes % sizeof(float) == 0,
            "gradient bucket size " << bucket_bytes << " bytes must be a positive multiple of 4");
  const std::vector<std::string>& mine = grid.my_tasks();
  std::vector<const GradSyncCudaItem*> dp;
  std::vector<std::vector<const GradSyncCudaItem*>> tasks(mine.size());
  std::set<const float*> seen;
  for (const GradSyncCudaItem& it : items) {
    const std::string what = "device gradient sync: item '" + it.name + "'";
    CKF_CHECK(it.grad != nullptr, what << " has a null gradient pointer");
    CKF_CHECK(it.n >= 1, what << " has " << it.n << " elements, expected at least 1");
    CKF_CHECK(seen.insert(it.grad).second, what << ": its gradient is listed twice");
    CKF_CHECK(it.layer >= -1, what << " has layer " << it.layer << ", expected a decoder layer or -1 (the mapper)");
    CKF_CHECK(!it.tp_partial, what << " is TP-partial (summed over tp first), which the device path does not do; "
                                      "run the CUDA trainer with --tp 1");
    if (it.group == GradGroup::dp) {
      dp.push_back(&it);
      continue;
    }
    CKF_CHECK(grid.holds(it.task),
              what << " belongs to task '" << it.task << "', which replica " << grid.dp_rank() << " does not hold");
    tasks[std::find(mine.begin(), mine.end(), it.task) - mine.begin()].push_back(&it);
  }
  // The canonical dp order (see the header): layers descending, the mapper last, stable within a layer.
  std::stable_sort(dp.begin(), dp.end(), [](auto* a, auto* b) { return a->layer > b->layer; });
  check_same_items(grid.dp(), dp);
  for (size_t t = 0; t < mine.size(); ++t) check_same_items(grid.task(mine[t]), tasks[t]);

  CUDA_CHECK(cudaSetDevice(device_));
  CUDA_CHECK(cudaStreamCreateWithFlags(&comm_, cudaStreamNonBlocking));
  try {
    CUDA_CHECK(cudaEventCreateWithFlags(&compute_done_, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&comm_done_, cudaEventDisableTiming));
    add_group(grid.dp(), dp);
    for (size_t t = 0; t < mine.size(); ++t) add_group(grid.task(mine[t]), tasks[t]);
    bool any = false;
    for (const Group& g : groups_) any = any || g.nccl;
    if (any) staging_ = cuda::DeviceBuffer<float>(bucket_bytes_ / sizeof(float));
  } catch (...) {
    groups_.clear();
    release_streams();
    throw;
  }
}

GradSyncCuda::~GradSyncCuda() {
  // No CUDA_CHECK: a destructor must not throw. When unwinding from an error the queued
  // collectives may never complete (peers stopped elsewhere): do not wait; the communicators abort.
  if (comm_ && std::uncaught_exceptions() == 0) cudaStreamSynchronize(comm_);
  groups_.clear();
  release_streams();
}

void GradSyncCuda::release_streams() {
  if (compute_done_) cudaEventDestroy(compute_done_);
  if (comm_done_) cudaEventDestroy(comm_done_);
  if (comm_) cudaStreamDestroy(comm_);
  compute_done_ = comm_done_ = nullptr;
  comm_ = nullptr;
}

void GradSyncCuda::add_group(Communicator& grid_comm, const std::vector<const GradSyncCudaItem*>& items) {
  Group g;
  g.name = grid_comm.name();
  g.size = grid_comm.size();
  for (const GradSyncCudaItem* it : items) g.n_params += it->n;
  if (g.size > 1 && g.n_params > 0) {
    auto* mpi = dynamic_cast<MpiCommunicator*>(&grid_comm);
    CKF_CHECK(mpi != nullptr, "device gradient sync: group '" << g.name
                                  << "' is not an MPI communicator, which NCCL needs to bootstrap over");
    g.nccl = std::make_unique<NcclCommunicator>(mpi->split_mpi(0, mpi->rank(), g.name), device_, comm_);
    // Cut the concatenation of the items into buckets of cap floats; pieces keep their place.
    const int64_t cap = static_cast<int64_t>(bucket_bytes_ / sizeof(float));
    Bucket b;
    b.min_layer = INT_MAX;
    for (const GradSyncCudaItem* it : items) {
      for (int64_t off = 0; off < it->n;) {
        const int64_t take = std::min(it->n - off, cap - b.n);
        b.pieces.push_back({it->grad + off, b.n, take});
        b.n += take;
        off += take;
        b.min_layer = std::min(b.min_layer, it->layer);
        if (b.n == cap) {
          g.buckets.push_back(std::move(b));
          b = Bucket{};
          b.min_layer = INT_MAX;
        }
      }
    }
    if (b.n > 0) g.buckets.push_back(std::move(b));
  }
  groups_.push_back(std::move(g));
}

void GradSyncCuda::start_step() {
  if (in_step_) return;
  in_step_ = true;
  next_dp_bucket_ = 0;
  for (Group& g : groups_)
    if (g.nccl) g.before = g.nccl->counter(Collective::all_reduce);
}

void GradSyncCuda::compute_to_comm() {
  CUDA_CHECK(cudaEventRecord(compute_done_, compute_));
  CUDA_CHECK(cudaStreamWaitEvent(comm_, compute_done_, 0));
}

// A bucket of one piece is reduced in place; otherwise through the staging buffer.
void GradSyncCuda::issue(Group& g, const Bucket& b) {
  const bool staged = b.pieces.size() > 1;
  float* buf = staged ? staging_.data() : b.pieces[0].grad;  // (b.n)
  if (staged)
    for (const Piece& p : b.pieces)
      CUDA_CHECK(cudaMemcpyAsync(buf + p.staging_off, p.grad, p.n * sizeof(float), cudaMemcpyDeviceToDevice, comm_));
  g.nccl->all_reduce(std::span<float>(buf, static_cast<size_t>(b.n)));
  cuda::scale_inplace(buf, b.n, 1.0f / static_cast<float>(g.size), comm_);
  if (staged)
    for (const Piece& p : b.pieces)
      CUDA_CHECK(cudaMemcpyAsync(p.grad, buf + p.staging_off, p.n * sizeof(float), cudaMemcpyDeviceToDevice, comm_));
}

void GradSyncCuda::begin_final_backward() {
  CKF_CHECK(!final_backward_, "device gradient sync: begin_final_backward() called twice without finish()");
  start_step();
  final_backward_ = true;
  last_layer_done_ = INT_MAX;
}

void GradSyncCuda::on_layer_done(int layer) {
  if (!final_backward_) return;  // an earlier backward of gradient accumulation: nothing is final yet
  CKF_CHECK(layer >= 0 && layer < last_layer_done_,
            "device gradient sync: on_layer_done(" << layer << ") after layer " << last_layer_done_
                                                   << "; layers must finish in descending order down to 0");
  last_layer_done_ = layer;
  Group& dp = groups_[0];
  if (next_dp_bucket_ >= dp.buckets.size() || dp.buckets[next_dp_bucket_].min_layer < layer) return;
  compute_to_comm();
  while (next_dp_bucket_ < dp.buckets.size() && dp.buckets[next_dp_bucket_].min_layer >= layer)
    issue(dp, dp.buckets[next_dp_bucket_++]);
}

void GradSyncCuda::finish() {
  start_step();
  compute_to_comm();
  Group& dp = groups_[0];
  while (next_dp_bucket_ < dp.buckets.size()) issue(dp, dp.buckets[next_dp_bucket_++]);
  for (size_t i = 1; i < groups_.size(); ++i)
    for (const Bucket& b : groups_[i].buckets) issue(groups_[i], b);
  CUDA_CHECK(cudaEventRecord(comm_done_, comm_));
  CUDA_CHECK(cudaStreamWaitEvent(compute_, comm_done_, 0));
  stats_.clear();
  for (const Group& g : groups_) {
    GradSyncGroupStats s;
    s.group = g.name;
    s.size = g.size;
    s.n_params = g.n_params;
    if (g.nccl) {
      const CollectiveCounter& after = g.nccl->counter(Collective::all_reduce);
      s.calls = after.calls - g.before.calls;
      s.bytes = after.bytes - g.before.bytes;
    }
    stats_.push_back(std::move(s));
  }
  in_step_ = final_backward_ = false;
}

}  // namespace ckf
#endif  // CKF_WITH_CUDA
