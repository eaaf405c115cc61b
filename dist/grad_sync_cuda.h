// Data-parallel gradient synchronisation of device gradients through NCCL, overlapped with the
// backward (the device twin of dist/grad_sync.h, same groups and averages):
//   dp         shared adapters and the mapper: averaged over every DP replica
//   task:NAME  a task's adapters: averaged over the replicas of that task only
// Tensor parallelism is not supported on the device path: tp must be 1 and no item TP-partial.
//
// Each group with more than one rank gets its own NcclCommunicator; all of them queue on ONE
// communication stream, separate from the compute stream, so collectives overlap the backward but
// never each other. A group's gradients, in canonical order, are cut into buckets of bucket_bytes
// (the last one shorter; an item may straddle two). A bucket is packed into a device staging
// buffer (cudaMemcpyAsync), summed with ncclAllReduce, scaled by the float 1/p (a kernel, as the
// CPU GradSync does, rather than ncclAvg, which pre-multiplies each rank's term and so rounds
// differently), and unpacked; all on the communication stream, so one staging buffer serves.
//
// Canonical order (the deadlock rule). NCCL collectives of one communicator must be issued in the
// same order on every rank, and a rank blocked in one group's collective must not be waited for by
// a peer blocked in another's. So every rank issues, whatever the timing of its backward:
//   1. the dp buckets, in bucket order; dp items sorted by layer, descending (the order in which the
//      backward finalises them), the mapper's items (layer -1) last, and within one layer in the
//      order given. The given order must be the same on every rank (the constructor compares a
//      fingerprint of names, sizes and layers over each group and refuses a mismatch).
//   2. each task group this replica holds, in placement order, its items in the order given.
// Timing changes only when a dp bucket is issued (as its last layer finishes, or at finish()),
// never the order, so the result is bit-for-bit the same with or without overlap.
//
// Per step: begin_final_backward() when the step's last backward (of gradient accumulation)
// starts; the backward calls on_layer_done(l) for l = L-1 down to 0 (outside the final backward
// it does nothing); finish() issues everything not sent yet and makes the compute stream wait
// for the communication. finish() alone (no begin_final_backward) syncs everything at the end.
#pragma once
#ifdef CKF_WITH_CUDA
#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dist/grad_sync.h"
#include "dist/nccl_communicator.h"
#include "dist/process_grid.h"
#include "kernels/cuda/buffer.h"

namespace ckf {

struct GradSyncCudaItem {
  std::string name;                    // for errors, e.g. "lora.shared.layers.3.k.A"
  float* grad = nullptr;               // (n) fp32 device memory
  int64_t n = 0;
  GradGroup group = GradGroup::dp;
  std::string task;                    // the task's name when group == task
  int layer = -1;                      // decoder layer whose backward finalises grad; -1: the mapper (sent at finish)
  bool tp_partial = false;             // refused: the device path has no tp reduction
};

class GradSyncCuda {
 public:
  // Collective over the dp group and every task group of this replica (NCCL setup). Checks the
  // items (non-null, n >= 1, listed once, layer >= -1, a task this replica holds, not TP-partial),
  // tp == 1, bucket_bytes (a positive multiple of 4), and that every rank of a group lists the
  // same items. `compute` is the stream the backward writes the gradients on.
  GradSyncCuda(ProcessGrid& grid, std::vector<GradSyncCudaItem> items, int device, cudaStream_t compute,
               size_t bucket_bytes = kDefaultBucketBytes);
  ~GradSyncCuda();
  GradSyncCuda(const GradSyncCuda&) = delete;
  GradSyncCuda& operator=(const GradSyncCuda&) = delete;

  void begin_final_backward();
  // Layer `layer`'s gradients are final (enqueued on the compute stream): issues every dp bucket
  // whose items all have layer >= `layer`. Layers must come in descending order.
  void on_layer_done(int layer);
  // Issues everything not sent yet, in canonical order; the compute stream then waits for it.
  void finish();

  // Per group (dp, then this replica's tasks in placement order), for the last finish(). A
  // single-rank group needs no communication: calls and bytes 0.
  const std::vector<GradSyncGroupStats>& last_stats() const { return stats_; }
  // dp buckets issued so far in the current step (how much the overlap has sent).
  int dp_buckets_sent() const { return static_cast<int>(next_dp_bucket_); }

 private:
  // One contiguous run of an item's gradient inside a bucket.
  struct Piece {
    float* grad;          // into the item's gradient
    int64_t staging_off;  // where it sits in the staging buffer
    int64_t n;
  };
  struct Bucket {
    std::vector<Piece> pieces;
    int64_t n = 0;
    int min_layer = -1;  // sendable once on_layer_done(min_layer) has run
  };
  struct Group {
    std::string name;
    int size = 1;
    int64_t n_params = 0;
    std::unique_ptr<NcclCommunicator> nccl;  // null for a single-rank group
    std::vector<Bucket> buckets;             // empty for a single-rank group
    CollectiveCounter before;                // all-reduce counter at the start of the step
  };

  void add_group(Communicator& grid_comm, const std::vector<const GradSyncCudaItem*>& items);
  void start_step();
  void compute_to_comm();  // the communication stream waits for the compute stream's work so far
  void issue(Group& g, const Bucket& b);
  void release_streams();

  int device_;
  cudaStream_t compute_;
  cudaStream_t comm_ = nullptr;                 // the communication stream; null when nothing to send
  cudaEvent_t compute_done_ = nullptr;          // recorded on compute_, waited on by comm_
  cudaEvent_t comm_done_ = nullptr;             // recorded on comm_, waited on by compute_
  size_t bucket_bytes_;
  std::vector<Group> groups_;                   // groups_[0] = dp, then tasks in placement order
  cuda::DeviceBuffer<float> staging_;           // (bucket_bytes / 4) when anything is sent
  bool in_step_ = false;
  bool final_backward_ = false;
  int last_layer_done_ = 0;                     // on_layer_done's argument must fall below it
  size_t next_dp_bucket_ = 0;
  std::vector<GradSyncGroupStats> stats_;
};

}  // namespace ckf
#endif  // CKF_WITH_CUDA
