// MpiCommunicator against closed forms: every rank can regenerate every other rank's inputs (a
// seeded generator per rank), so each collective's result is recomputed naively in double here.
// Tolerances: integer types and max are exact; f32 sums within 1e-5 and f64 sums within 1e-12
// (absolute, inputs are in [0.5, 1.5] in magnitude and at most 4 ranks add up).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/check.h"
#include "dist/mpi_communicator.h"

using namespace ckf;

namespace {

const int64_t kCounts[] = {1, 7, 1000, 4097};

// Rank r's input: non-zero, sign and magnitude random, exact in every element type.
template <class T> std::vector<T> rank_input(int r, int64_t n, int salt = 0) {
  std::mt19937 gen(1234 + 7919 * r + 31 * salt);
  std::vector<T> v(n);
  for (auto& x : v) {
    double mag;
    if constexpr (std::is_floating_point_v<T>) {
      mag = std::uniform_real_distribution<double>(0.5, 1.5)(gen);
    } else {
      mag = static_cast<double>(std::uniform_int_distribution<int>(1, 1000)(gen));
    }
    x = static_cast<T>(gen() % 2 ? mag : -mag);
  }
  return v;
}

template <class T> double tolerance() {
  if constexpr (std::is_same_v<T, float>) return 1e-5;
  else if constexpr (std::is_same_v<T, double>) return 1e-12;
  else return 0.0;
}

template <class T> class CollectiveTest : public ::testing::Test {
 protected:
  void SetUp() override { world = MpiCommunicator::world(); }
  std::unique_ptr<MpiCommunicator> world;
};

using ElemTypes = ::testing::Types<float, double, int32_t, int64_t>;
TYPED_TEST_SUITE(CollectiveTest, ElemTypes);

TYPED_TEST(CollectiveTest, AllReduceSumAndMaxMatchNaiveReduction) {
  using T = TypeParam;
  auto& c = *this->world;
  for (int64_t n : kCounts) {
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::max}) {
      std::vector<T> buf = rank_input<T>(c.rank(), n);
      c.all_reduce(std::span<T>(buf), op);
      std::vector<double> want(n, op == ReduceOp::sum ? 0.0 : -INFINITY);
      for (int r = 0; r < c.size(); ++r) {
        auto x = rank_input<T>(r, n);
        for (int64_t i = 0; i < n; ++i) want[i] = op == ReduceOp::sum ? want[i] + x[i] : std::max(want[i], double(x[i]));
      }
      double tol = op == ReduceOp::sum ? tolerance<T>() : 0.0;
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(double(buf[i]), want[i], tol) << "n " << n << " op " << reduce_op_name(op) << " i " << i;
    }
  }
}

TYPED_TEST(CollectiveTest, AllGatherPlacesRankBlocksInOrder) {
  using T = TypeParam;
  auto& c = *this->world;
  for (int64_t n : kCounts) {
    for (bool in_place : {false, true}) {
      std::vector<T> mine = rank_input<T>(c.rank(), n);
      std::vector<T> full(n * c.size(), T(0));
      if (in_place) {
        std::copy(mine.begin(), mine.end(), full.begin() + c.rank() * n);
        c.all_gather(full.data() + c.rank() * n, full.data(), n, elem_type_of<T>());
      } else {
        c.all_gather(std::span<const T>(mine), std::span<T>(full));
      }
      for (int r = 0; r < c.size(); ++r) {
        auto want = rank_input<T>(r, n);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(full[r * n + i], want[i]) << "n " << n << " block " << r;
      }
    }
  }
}

TYPED_TEST(CollectiveTest, ReduceScatterGivesEachRankItsReducedBlock) {
  using T = TypeParam;
  auto& c = *this->world;
  for (int64_t n : kCounts) {
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::max}) {
      std::vector<T> full = rank_input<T>(c.rank(), n * c.size());
      std::vector<T> part(n);
      c.reduce_scatter(std::span<const T>(full), std::span<T>(part), op);
      std::vector<std::vector<T>> inputs;
      for (int r = 0; r < c.size(); ++r) inputs.push_back(rank_input<T>(r, n * c.size()));
      for (int64_t i = 0; i < n; ++i) {
        double want = op == ReduceOp::sum ? 0.0 : -INFINITY;
        for (int r = 0; r < c.size(); ++r) {
          double x = inputs[r][c.rank() * n + i];
          want = op == ReduceOp::sum ? want + x : std::max(want, x);
        }
        ASSERT_NEAR(double(part[i]), want, op == ReduceOp::sum ? tolerance<T>() : 0.0) << "n " << n << " i " << i;
      }
    }
  }
}

TYPED_TEST(CollectiveTest, BroadcastCopiesRootBufferFromEveryRoot) {
  using T = TypeParam;
  auto& c = *this->world;
  for (int root = 0; root < c.size(); ++root) {
    std::vector<T> buf = rank_input<T>(c.rank(), 1000);
    c.broadcast(std::span<T>(buf), root);
    EXPECT_EQ(buf, rank_input<T>(root, 1000)) << "root " << root;
  }
}

TEST(Communicator, ByteCountersFollowRingFormula) {
  auto c = MpiCommunicator::world();
  const uint64_t p = c->size(), me = c->rank();
  const int64_t n = 1001;  // odd: the 2(p-1)/p fraction rounds down
  std::vector<float> buf(n * p, 1.0f), part(n);
  c->all_reduce(std::span<float>(buf.data(), n));
  c->all_reduce(std::span<float>(buf.data(), n), ReduceOp::max);
  EXPECT_EQ(c->counter(Collective::all_reduce).calls, 2u);
  EXPECT_EQ(c->counter(Collective::all_reduce).bytes, 2 * (2 * (p - 1) * n * 4 / p));
  c->all_gather(std::span<const float>(part), std::span<float>(buf));
  EXPECT_EQ(c->counter(Collective::all_gather).bytes, (p - 1) * n * 4);  // (p-1)/p of the p*n gathered
  c->reduce_scatter(std::span<const float>(buf), std::span<float>(part));
  EXPECT_EQ(c->counter(Collective::reduce_scatter).bytes, (p - 1) * n * 4);
  const int root = static_cast<int>(p - 1);
  c->broadcast(std::span<float>(part), root);
  // Chain root -> root+1 -> ... : everyone but root-1 (mod p) forwards the whole buffer.
  uint64_t want_bcast = (p > 1 && me != (root - 1 + p) % p) ? n * 4 : 0;
  EXPECT_EQ(c->counter(Collective::broadcast).bytes, want_bcast);
  int64_t bcast_total = static_cast<int64_t>(c->counter(Collective::broadcast).bytes);
  c->all_reduce(std::span<int64_t>(&bcast_total, 1));
  EXPECT_EQ(bcast_total, static_cast<int64_t>((p - 1) * n * 4));
  c->barrier();
  EXPECT_EQ(c->counter(Collective::barrier).calls, 1u);
  EXPECT_EQ(c->counter(Collective::barrier).bytes, 0u);
  c->reset_counters();
  EXPECT_EQ(c->bytes_sent(), 0u);
  EXPECT_EQ(c->counter(Collective::all_reduce).calls, 0u);
}

TEST(Communicator, SplitFormsOrderedSubGroups) {
  auto world = MpiCommunicator::world();
  const int p = world->size(), me = world->rank();
  // Two colours (even / odd world ranks), ordered by descending world rank via the key.
  auto sub = world->split(me % 2, -me, "parity");
  ASSERT_NE(sub, nullptr);
  std::vector<int> members;
  for (int r = p - 1; r >= 0; --r)
    if (r % 2 == me % 2) members.push_back(r);
  EXPECT_EQ(sub->name(), "parity");
  EXPECT_EQ(sub->size(), static_cast<int>(members.size()));
  EXPECT_EQ(members[sub->rank()], me);
  // A sum inside the sub-group adds its members only.
  int64_t x = 10 + me;
  sub->all_reduce(std::span<int64_t>(&x, 1));
  int64_t want = 0;
  for (int r : members) want += 10 + r;
  EXPECT_EQ(x, want);
  std::vector<int32_t> gathered(sub->size());
  int32_t mine = me;
  sub->all_gather(std::span<const int32_t>(&mine, 1), std::span<int32_t>(gathered));
  EXPECT_EQ(std::vector<int>(gathered.begin(), gathered.end()), members);
  // Traffic of the sub-group is counted there, not in the parent.
  EXPECT_EQ(world->counter(Collective::all_reduce).calls, 0u);
  EXPECT_EQ(sub->counter(Collective::all_reduce).calls, 1u);
  // A negative colour joins nothing; the others still get their group.
  auto only_zero = world->split(me == 0 ? 0 : -1, 0, "zero");
  EXPECT_EQ(only_zero == nullptr, me != 0);
  if (only_zero) {
    EXPECT_EQ(only_zero->size(), 1);
  }
}

TEST(Communicator, TensorFormsCheckShapesAndDevice) {
  auto c = MpiCommunicator::world();
  const int p = c->size();
  Tensor shard = Tensor::empty({3, 5});
  for (int64_t i = 0; i < shard.numel(); ++i) shard.data<float>()[i] = float(c->rank() * 100 + i + 1);
  Tensor full = Tensor::empty({3 * p, 5});
  c->all_gather(shard, full);
  for (int r = 0; r < p; ++r)
    for (int64_t i = 0; i < 15; ++i) ASSERT_EQ(full.data<float>()[r * 15 + i], float(r * 100 + i + 1));
  Tensor wrong = Tensor::empty({3 * p + 1, 5});
  EXPECT_THROW(c->all_gather(shard, wrong), Error);
  Tensor halves = Tensor::empty({4}, DType::bf16);
  EXPECT_THROW(c->all_reduce(halves), Error);
  float fake = 0;
  Tensor on_gpu = Tensor::borrow(&fake, {1}, DType::f32, Device::cuda);
  try {
    c->all_reduce(on_gpu);
    FAIL() << "a cuda tensor was accepted by an MPI communicator";
  } catch (const Error& e) {
    std::string want = "all_reduce on group 'world' (rank " + std::to_string(c->rank()) + " of " + std::to_string(p) + ")";
    EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
  }
}

TEST(Communicator, ErrorsNameCollectiveGroupAndRank) {
  auto c = MpiCommunicator::world();
  auto tp = c->split(0, c->rank(), "tp");
  float x = 1;
  try {
    tp->broadcast(std::span<float>(&x, 1), tp->size());
    FAIL() << "root out of range accepted";
  } catch (const Error& e) {
    std::string want = "broadcast on group 'tp' (rank " + std::to_string(tp->rank()) + " of " +
                       std::to_string(tp->size()) + "): root " + std::to_string(tp->size());
    EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
  }
  EXPECT_THROW(tp->all_reduce(nullptr, 4, ElemType::f32, ReduceOp::sum), Error);
  std::vector<float> buf(2 * tp->size());
  EXPECT_THROW(tp->reduce_scatter(buf.data(), buf.data() + tp->size() - 1, 1, ElemType::f32, ReduceOp::sum), Error);
  // MPI's own error codes become messages naming the MPI call.
  try {
    mpi_check(MPI_ERR_COUNT, "MPI_Allreduce(...)");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MPI_Allreduce(...): MPI error"), std::string::npos) << e.what();
  }
}

}  // namespace
