// Pin policies, planned on this machine and on a 32-PU topology loaded from XML
// (2 packages x 2 L3 groups x 4 cores x 2 SMT PUs), and a real bind on this machine.
#include <gtest/gtest.h>

#include <thread>

#include "harness/pinning.hpp"

namespace ringlab::harness {
namespace {

const topology& big() {
  static const topology t = topology::from_xml(RINGLAB_TEST_DATA "/topology-2pkg-4l3-16core-32pu.xml");
  return t;
}

pin_plan plan(const topology& t, const std::string& policy, unsigned p, unsigned c) {
  return plan_pinning(t, parse_pin(policy, t), p, c);
}

TEST(Topology, XmlIsReadWhole) {
  EXPECT_EQ(big().pus().size(), 32u);
  EXPECT_EQ(big().cores(), 16u);
  EXPECT_EQ(big().l3_groups(), 4u);
  EXPECT_EQ(big().packages(), 2u);
  EXPECT_EQ(big().summary(), "2 packages, 4 L3 groups, 16 cores, 32 PUs (2 per core)");
  EXPECT_THROW(topology::from_xml("/nonexistent.xml"), std::runtime_error);
}

TEST(Pinning, CompactFillsSmtSiblingsFirst) {
  const auto p = plan(big(), "compact", 2, 2);
  EXPECT_EQ(p.producer_pu, (std::vector<int>{0, 1}));  // the two PUs of core 0
  EXPECT_EQ(p.consumer_pu, (std::vector<int>{2, 3}));  // then core 1
  EXPECT_FALSE(p.oversubscribed);
}

TEST(Pinning, ScatterSpreadsOverL3GroupsThenCoresSmtLast) {
  const auto p = plan(big(), "scatter", 4, 4);
  // One PU per L3 group in turn (groups start at PUs 0, 8, 16, 24), then the next core.
  EXPECT_EQ(p.producer_pu, (std::vector<int>{0, 8, 16, 24}));
  EXPECT_EQ(p.consumer_pu, (std::vector<int>{2, 10, 18, 26}));
  const auto all = plan(big(), "scatter", 16, 16);
  for (int pu : all.producer_pu) EXPECT_EQ(pu % 2, 0) << "first 16 threads: no SMT sibling shared";
  for (int pu : all.consumer_pu) EXPECT_EQ(pu % 2, 1) << "SMT siblings come last";
  EXPECT_FALSE(all.oversubscribed);
}

TEST(Pinning, SameCoreUsesTheSmtSiblings) {
  const auto p = plan(big(), "same-core", 1, 1);
  EXPECT_EQ(p.producer_pu, (std::vector<int>{0}));
  EXPECT_EQ(p.consumer_pu, (std::vector<int>{1}));
  EXPECT_FALSE(p.oversubscribed);
  EXPECT_TRUE(plan(big(), "same-core", 2, 1).oversubscribed) << "3 threads on a 2-PU core";
}

TEST(Pinning, ExplicitListsAreTakenInTurn) {
  const auto p = plan(big(), "p:5,p:7,c:30", 3, 2);
  EXPECT_EQ(p.producer_pu, (std::vector<int>{5, 7, 5}));
  EXPECT_EQ(p.consumer_pu, (std::vector<int>{30, 30}));
  EXPECT_TRUE(p.oversubscribed);
  EXPECT_FALSE(plan(big(), "p:5,c:6", 1, 1).oversubscribed);
}

TEST(Pinning, BadRequestsNameTheProblem) {
  auto message = [](const std::string& text) {
    try {
      parse_pin(text, big());
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("p:0,c:32").find("PU 32 does not exist (this machine has PUs 0-31)"), std::string::npos);
  EXPECT_NE(message("p:0").find("no c:<PU>"), std::string::npos);
  EXPECT_NE(message("x:1,c:2").find("'x:1' is not p:<PU> or c:<PU>"), std::string::npos);
  EXPECT_NE(message("diagonal").find("unknown policy"), std::string::npos);
}

TEST(Pinning, MoreThreadsThanPusIsFlaggedNeverRefused) {
  const auto p = plan(big(), "none", 20, 20);
  EXPECT_TRUE(p.oversubscribed);
  EXPECT_EQ(p.producer_pu, std::vector<int>(20, -1));
  EXPECT_TRUE(plan(big(), "compact", 20, 20).oversubscribed);
}

TEST(Pinning, ThisMachine) {
  const auto here = topology::this_machine();
  ASSERT_GE(here.pus().size(), 1u);
  const unsigned n = static_cast<unsigned>(here.pus().size());
  const auto compact = plan(here, "compact", 1, 1);
  EXPECT_EQ(compact.oversubscribed, n < 2);
  const auto same = plan(here, "same-core", 1, 1);
  EXPECT_EQ(same.oversubscribed, here.cores() == n) << "without SMT, same-core puts both on one PU";
  EXPECT_TRUE(plan(here, "compact", n, 1).oversubscribed);
}

TEST(Pinning, BindingReallyMovesTheThread) {
  const auto here = topology::this_machine();
  const int last = static_cast<int>(here.pus().back().os_index);
  int seen = -1;
  std::thread t([&] {
    bind_this_thread(here, last);
    volatile int spins = 0;
    while (spins < 1000000) spins = spins + 1;
    seen = current_pu(here);
  });
  t.join();
  EXPECT_EQ(seen, last);
  EXPECT_THROW(bind_this_thread(big(), 0), std::runtime_error) << "an XML topology is not this machine";
}

}  // namespace
}  // namespace ringlab::harness
