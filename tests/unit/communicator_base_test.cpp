// The backend-independent part of Communicator: the ring byte formula against hand-counted ring
// schedules, and the error prefix every backend failure gets (checked with a backend that fails).
#include <gtest/gtest.h>

#include <string>

#include "core/check.h"
#include "dist/communicator.h"

using namespace ckf;

namespace {

// Counts what a ring schedule sends, step by step: the buffer is cut into p chunks of n/p bytes
// (n divisible by p here); reduce-scatter and all-gather each take p-1 steps of one chunk per rank.
uint64_t ring_schedule_bytes(Collective c, uint64_t n, int p, int rank, int root) {
  uint64_t chunk = n / p, sent = 0;
  switch (c) {
    case Collective::all_reduce:
      for (int step = 0; step < 2 * (p - 1); ++step) sent += chunk;
      return sent;
    case Collective::all_gather:
    case Collective::reduce_scatter:
      for (int step = 0; step < p - 1; ++step) sent += chunk;
      return sent;
    case Collective::broadcast:
      // Chain root, root+1, ..., root-1: each rank forwards to its successor unless it is last.
      for (int hop = 0; hop < p - 1; ++hop)
        if ((root + hop) % p == rank) sent += n;
      return sent;
    case Collective::barrier: return 0;
  }
  return 0;
}

TEST(RingBytes, MatchRingScheduleForSeveralGroupSizes) {
  const uint64_t n = 3 * 4 * 5 * 7 * 8;  // divisible by every p below
  for (int p = 1; p <= 8; ++p)
    for (int root = 0; root < p; ++root)
      for (int rank = 0; rank < p; ++rank)
        for (Collective c : {Collective::all_reduce, Collective::all_gather, Collective::reduce_scatter,
                             Collective::broadcast, Collective::barrier})
          ASSERT_EQ(ring_bytes_sent(c, n, p, rank, root), ring_schedule_bytes(c, n, p, rank, root))
              << collective_name(c) << " p " << p << " rank " << rank << " root " << root;
}

TEST(RingBytes, FractionsRoundDown) {
  EXPECT_EQ(ring_bytes_sent(Collective::all_reduce, 10, 3, 0, 0), 13u);  // 2*2/3*10 = 13.3
  EXPECT_EQ(ring_bytes_sent(Collective::all_gather, 10, 4, 0, 0), 7u);   // 3/4*10 = 7.5
}

// A backend whose every call fails the way a library call would.
class FailingCommunicator : public Communicator {
 public:
  FailingCommunicator() : Communicator("task:ctr", 1, 3) {}
  Device device() const override { return Device::cpu; }

 protected:
  void do_all_reduce(void*, int64_t, ElemType, ReduceOp) override { CKF_FAIL("libcomm_allreduce(...): link down"); }
  void do_all_gather(const void*, void*, int64_t, ElemType) override { CKF_FAIL("libcomm_allgather(...): link down"); }
  void do_reduce_scatter(const void*, void*, int64_t, ElemType, ReduceOp) override { CKF_FAIL("libcomm_rs: down"); }
  void do_broadcast(void*, int64_t, ElemType, int) override { CKF_FAIL("libcomm_bcast: down"); }
  void do_barrier() override { CKF_FAIL("libcomm_barrier: down"); }
  std::unique_ptr<Communicator> do_split(int, int, const std::string&) override { CKF_FAIL("libcomm_split: down"); }
};

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CommunicatorErrors, PrefixCollectiveGroupAndRankToBackendFailure) {
  FailingCommunicator c;
  float buf[6] = {1, 2, 3, 4, 5, 6}, full[6];
  EXPECT_EQ(message_of([&] { c.all_reduce(std::span<float>(buf, 2)); }).rfind(
                "all_reduce on group 'task:ctr' (rank 1 of 3): libcomm_allreduce(...): link down", 0),
            0u);
  EXPECT_EQ(message_of([&] { c.all_gather(std::span<const float>(buf, 2), std::span<float>(full, 6)); })
                .rfind("all_gather on group 'task:ctr' (rank 1 of 3): libcomm_allgather", 0),
            0u);
  EXPECT_EQ(message_of([&] { c.barrier(); }).rfind("barrier on group 'task:ctr' (rank 1 of 3): libcomm_barrier", 0), 0u);
  EXPECT_EQ(message_of([&] { c.split(0, 0, "sub"); }).rfind("split on group 'task:ctr' (rank 1 of 3)", 0), 0u);
  // A failed call is not counted as sent.
  EXPECT_EQ(c.bytes_sent(), 0u);
  EXPECT_EQ(c.counter(Collective::all_reduce).calls, 0u);
}

TEST(CommunicatorErrors, RejectBadArgumentsBeforeTheBackend) {
  FailingCommunicator c;
  float buf[6] = {1, 2, 3, 4, 5, 6};
  EXPECT_NE(message_of([&] { c.broadcast(std::span<float>(buf, 1), 3); }).find("root 3 outside [0, 3)"),
            std::string::npos);
  EXPECT_NE(message_of([&] { c.all_gather(std::span<const float>(buf, 1), std::span<float>(buf + 1, 5)); })
                .find("full buffer holds 5 elements, expected 3 x 1"),
            std::string::npos);
  EXPECT_NE(message_of([&] { c.all_reduce(buf, -1, ElemType::f32, ReduceOp::sum); }).find("element count -1"),
            std::string::npos);
  EXPECT_NE(message_of([&] { c.split(0, 0, ""); }).find("needs a name"), std::string::npos);
}

}  // namespace
