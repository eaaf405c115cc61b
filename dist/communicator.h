// Communicator: the collectives a group of ranks runs together (tp, dp, task:ctr, world, ...).
// Backends (MPI on host memory, NCCL on device memory) implement the do_* hooks; this base class
// validates arguments, names the collective, group and rank in every error, and keeps the
// per-group byte counters, so both backends account identically.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <type_traits>

#include "core/tensor.h"

namespace ckf {

enum class ReduceOp : uint8_t { sum, max };
// Element types the collectives move. f64 exists here (not in Tensor) for metric reductions.
enum class ElemType : uint8_t { f32, f64, i32, i64 };
enum class Collective : uint8_t { all_reduce, all_gather, reduce_scatter, broadcast, barrier };
constexpr int kCollectiveCount = 5;

size_t elem_size(ElemType t);
const char* elem_name(ElemType t);
const char* reduce_op_name(ReduceOp op);
const char* collective_name(Collective c);
// Tensor dtype -> collective element type; f16/bf16 are rejected (reduce in f32).
ElemType elem_type_of(DType dt);

template <class T> constexpr ElemType elem_type_of() {
  if constexpr (std::is_same_v<T, float>) return ElemType::f32;
  else if constexpr (std::is_same_v<T, double>) return ElemType::f64;
  else if constexpr (std::is_same_v<T, int32_t>) return ElemType::i32;
  else {
    static_assert(std::is_same_v<T, int64_t>, "collectives move float, double, int32_t or int64_t");
    return ElemType::i64;
  }
}

// Bytes this rank sends, by the ring-algorithm accounting of nccl-tests (n = bytes of the full
// buffer, i.e. the all-reduce buffer, the gathered output or the scattered input; p = group size):
//   all_reduce      2 (p-1)/p n      (reduce-scatter phase then all-gather phase, p-1 chunks each)
//   all_gather        (p-1)/p n      (forward every chunk but the one received last)
//   reduce_scatter    (p-1)/p n
//   broadcast         n, except 0 on the last rank of the chain (root-1 mod p), which only receives
//   barrier           0              (only the call is counted)
// Fractions round down to whole bytes; every formula is 0 when p == 1.
uint64_t ring_bytes_sent(Collective c, uint64_t n, int p, int rank, int root);

struct CollectiveCounter {
  uint64_t calls = 0;
  uint64_t bytes = 0;  // by ring_bytes_sent
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::string& name() const { return name_; }
  // Where the buffers handed to this communicator must live.
  virtual Device device() const = 0;

  // In place: buf (count) on every rank becomes the element-wise reduction over ranks.
  void all_reduce(void* buf, int64_t count, ElemType type, ReduceOp op);
  // send (count) from every rank -> recv (size*count), rank r's block at r*count. send may be
  // recv + rank*count (in place, as Megatron gathers into a preallocated full buffer).
  void all_gather(const void* send, void* recv, int64_t count, ElemType type);
  // send (size*count) -> recv (count): rank r gets the reduction of block r. No overlap allowed.
  void reduce_scatter(const void* send, void* recv, int64_t count, ElemType type, ReduceOp op);
  // buf (count) of root is copied to every rank.
  void broadcast(void* buf, int64_t count, ElemType type, int root);
  void barrier();
  // Waits until every collective issued so far has completed (MPI ones complete on return; NCCL
  // ones are queued on the communicator's stream).
  virtual void synchronize() {}

  // Typed forms; spans may hold device pointers for a device communicator (never dereferenced).
  template <class T> void all_reduce(std::span<T> buf, ReduceOp op = ReduceOp::sum) {
    all_reduce(buf.data(), static_cast<int64_t>(buf.size()), elem_type_of<T>(), op);
  }
  template <class T> void all_gather(std::span<const T> send, std::span<T> recv) {
    check_gather_sizes(Collective::all_gather, send.size(), recv.size());
    all_gather(send.data(), recv.data(), static_cast<int64_t>(send.size()), elem_type_of<T>());
  }
  template <class T> void reduce_scatter(std::span<const T> send, std::span<T> recv, ReduceOp op = ReduceOp::sum) {
    check_gather_sizes(Collective::reduce_scatter, recv.size(), send.size());
    reduce_scatter(send.data(), recv.data(), static_cast<int64_t>(recv.size()), elem_type_of<T>(), op);
  }
  template <class T> void broadcast(std::span<T> buf, int root) {
    broadcast(buf.data(), static_cast<int64_t>(buf.size()), elem_type_of<T>(), root);
  }
  // Tensor forms for the parallel layers: the tensor must live on device().
  void all_reduce(const Tensor& t, ReduceOp op = ReduceOp::sum);
  // full: the local shard's shape with the first dimension times size() (row blocks by rank).
  void all_gather(const Tensor& shard, const Tensor& full);
  void reduce_scatter(const Tensor& full, const Tensor& shard, ReduceOp op = ReduceOp::sum);
  void broadcast(const Tensor& t, int root);

  // Splits this group (collective over it): ranks with the same color form a sub-group named
  // `name`, ordered by key (ties by rank here). A negative color joins no group: returns null.
  std::unique_ptr<Communicator> split(int color, int key, const std::string& name);

  const CollectiveCounter& counter(Collective c) const { return counters_[static_cast<int>(c)]; }
  uint64_t bytes_sent() const;  // over every collective of this group
  void reset_counters() { counters_ = {}; }

  // "all_reduce on group 'tp' (rank 1 of 4)": the prefix of every error about a call.
  std::string where(const char* what) const;

 protected:
  Communicator(std::string name, int rank, int size) : name_(std::move(name)), rank_(rank), size_(size) {}

  virtual void do_all_reduce(void* buf, int64_t count, ElemType type, ReduceOp op) = 0;
  virtual void do_all_gather(const void* send, void* recv, int64_t count, ElemType type) = 0;
  virtual void do_reduce_scatter(const void* send, void* recv, int64_t count, ElemType type, ReduceOp op) = 0;
  virtual void do_broadcast(void* buf, int64_t count, ElemType type, int root) = 0;
  virtual void do_barrier() = 0;
  virtual std::unique_ptr<Communicator> do_split(int color, int key, const std::string& name) = 0;

 private:
  void check_buffer(Collective c, const void* p, int64_t count) const;
  void check_gather_sizes(Collective c, size_t part, size_t full) const;
  void check_tensor(Collective c, const Tensor& t) const;
  // full has shard's shape with the first dimension times size(), same dtype, both on device().
  void check_sharded(Collective c, const Tensor& shard, const Tensor& full) const;
  void tally(Collective c, uint64_t full_bytes, int root = 0);

  std::string name_;
  int rank_ = 0;
  int size_ = 1;
  std::array<CollectiveCounter, kCollectiveCount> counters_{};
};

}  // namespace ckf
