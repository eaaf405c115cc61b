// Task placement against hand-written expectations.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>

#include "core/check.h"
#include "dist/task_placement.h"
#include "test_util.h"

using namespace ckf;

namespace {

const std::vector<std::string> kTasks = {"ctr", "sequential", "rating", "topk"};

TEST(TaskPlacement, RoundRobinWithMoreReplicasThanTasks) {
  TaskPlacement p = placement_round_robin(kTasks, 6);
  EXPECT_EQ(p.replicas_of("ctr"), (std::vector<int>{0, 4}));
  EXPECT_EQ(p.replicas_of("sequential"), (std::vector<int>{1, 5}));
  EXPECT_EQ(p.replicas_of("rating"), (std::vector<int>{2}));
  EXPECT_EQ(p.replicas_of("topk"), (std::vector<int>{3}));
  EXPECT_EQ(p.tasks_of(5), (std::vector<std::string>{"sequential"}));
  EXPECT_EQ(p.str(), "ctr:0,4;sequential:1,5;rating:2;topk:3");
}

TEST(TaskPlacement, RoundRobinWithFewerReplicasThanTasks) {
  TaskPlacement p = placement_round_robin(kTasks, 3);
  EXPECT_EQ(p.tasks_of(0), (std::vector<std::string>{"ctr", "topk"}));
  EXPECT_EQ(p.tasks_of(1), (std::vector<std::string>{"sequential"}));
  EXPECT_EQ(p.tasks_of(2), (std::vector<std::string>{"rating"}));
  TaskPlacement one = placement_round_robin(kTasks, 1);
  EXPECT_EQ(one.tasks_of(0), kTasks);
}

TEST(TaskPlacement, RoundRobinCoversEveryReplicaAndTask) {
  for (int dp = 1; dp <= 9; ++dp) {
    TaskPlacement p = placement_round_robin(kTasks, dp);
    // Balanced: tasks per replica and replicas per task each differ by at most one.
    size_t most = 0, fewest = kTasks.size();
    for (int r = 0; r < dp; ++r) {
      most = std::max(most, p.tasks_of(r).size());
      fewest = std::min(fewest, p.tasks_of(r).size());
    }
    EXPECT_GE(fewest, 1u) << "dp " << dp;
    EXPECT_LE(most - fewest, 1u) << "dp " << dp;
    most = 0, fewest = dp;
    for (const auto& t : kTasks) {
      most = std::max(most, p.replicas_of(t).size());
      fewest = std::min(fewest, p.replicas_of(t).size());
    }
    EXPECT_GE(fewest, 1u) << "dp " << dp;
    EXPECT_LE(most - fewest, 1u) << "dp " << dp;
  }
}

TEST(TaskPlacement, ParsesExplicitSpec) {
  TaskPlacement p = placement_parse("ctr:0,1;sequential:2;rating:3;topk:3,2", 4);
  EXPECT_EQ(p.tasks, kTasks);
  EXPECT_EQ(p.replicas_of("ctr"), (std::vector<int>{0, 1}));
  EXPECT_EQ(p.replicas_of("topk"), (std::vector<int>{2, 3}));
  EXPECT_EQ(p.tasks_of(2), (std::vector<std::string>{"sequential", "topk"}));
  EXPECT_EQ(p.tasks_of(3), (std::vector<std::string>{"rating", "topk"}));
  EXPECT_EQ(placement_parse(p.str(), 4).str(), p.str());
  EXPECT_NE(error_of([&] { p.replicas_of("review"); }).find("task 'review' has no replicas"), std::string::npos);
}

TEST(TaskPlacement, ParseErrorsNameTheProblem) {
  auto err = [](const std::string& spec, int dp) { return error_of([&] { placement_parse(spec, dp, "--placement"); }); };
  EXPECT_NE(err("ctr:0;ctr:1", 2).find("--placement: task 'ctr' listed twice"), std::string::npos);
  EXPECT_NE(err("ctr:0,4", 4).find("task 'ctr': replica 4 outside [0, 4)"), std::string::npos);
  EXPECT_NE(err("ctr:0,-1", 4).find("replica -1 outside"), std::string::npos);
  EXPECT_NE(err("ctr:0,x;seq:1", 2).find("replica 'x' is not an integer"), std::string::npos);
  EXPECT_NE(err("ctr:1;seq:0,0", 2).find("task 'seq': replica 0 listed twice"), std::string::npos);
  EXPECT_NE(err("ctr:;seq:0,1", 2).find("task 'ctr' has no replicas"), std::string::npos);
  EXPECT_NE(err("ctr0,1", 2).find("entry 'ctr0,1' is not TASK:REPLICA"), std::string::npos);
  EXPECT_NE(err(":0,1", 2).find("has no task name"), std::string::npos);
  EXPECT_NE(err("ctr:0;seq:2", 4).find("replica 1 holds no task"), std::string::npos);
  EXPECT_NE(err("", 1).find("places no task"), std::string::npos);
}

}  // namespace
