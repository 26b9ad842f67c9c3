// Unit tests for net/task_group: end_all runs each member's action once on its executor, never
// after the member left, at once for a member that joins while ending; wait_empty resumes when
// the last member leaves and at its deadline otherwise.
#include "net/task_group.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace hc::net {
namespace {
using namespace std::chrono_literals;

TEST(NetTaskGroup, EndAllAsksEveryMemberOnceAndNoneThatLeft) {
  asio::io_context io;
  task_group group;
  int first = 0, second = 0, gone = 0;
  auto a = group.join(io.get_executor(), [&] { ++first; });
  auto b = group.join(io.get_executor(), [&] { ++second; });
  {
    auto c = group.join(io.get_executor(), [&] { ++gone; });
  }
  EXPECT_EQ(group.size(), 2u);
  group.end_all();
  EXPECT_EQ(first + second, 0) << "the actions run on the members' executors, not in end_all";
  io.run();
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
  EXPECT_EQ(gone, 0);
  int late = 0;
  auto d = group.join(io.get_executor(), [&] { ++late; });
  io.restart();
  io.run();
  EXPECT_EQ(late, 1) << "a member that joins while the group ends is asked at once";
}

TEST(NetTaskGroup, AnActionQueuedBeforeTheMemberLeftDoesNotRun) {
  asio::io_context io;
  task_group group;
  int ran = 0;
  std::optional<task_group::membership> m;
  m.emplace(group.join(io.get_executor(), [&] { ++ran; }));
  group.end_all();  // queued on io
  m.reset();        // the member leaves before io runs it
  io.run();
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(group.size(), 0u);
}

TEST(NetTaskGroup, WaitEmptyResumesWhenTheLastMemberLeavesOrAtTheDeadline) {
  asio::io_context io;
  task_group group;
  std::optional<task_group::membership> m;
  m.emplace(group.join(io.get_executor(), [] {}));
  std::optional<bool> emptied, timed_out;
  asio::co_spawn(
      io,
      [&]() -> task<> {
        asio::steady_timer t(io, 50ms);
        co_await t.async_wait(use_tuple);
        m.reset();
      },
      asio::detached);
  asio::co_spawn(
      io, [&]() -> task<> { emptied = co_await group.wait_empty(std::chrono::steady_clock::now() + 5s); },
      asio::detached);
  io.run();
  EXPECT_EQ(emptied, true);

  auto stays = group.join(io.get_executor(), [] {});
  io.restart();
  asio::co_spawn(
      io, [&]() -> task<> { timed_out = co_await group.wait_empty(std::chrono::steady_clock::now() + 60ms); },
      asio::detached);
  io.run();
  EXPECT_EQ(timed_out, false);
}

}  // namespace
}  // namespace hc::net
