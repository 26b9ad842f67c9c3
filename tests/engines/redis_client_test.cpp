// Engine tests for cluster/redis_client against Debian's redis-server (tests/engines/
// redis_server.hpp): replies of every type; 10,000 pipelined commands answered in order; SELECT
// and AUTH from the URL (a wrong password is a clear down state); pub/sub; close() and the
// destructor with commands pending; an outage (server stopped and started again) with commands
// failing fast and subscriptions restored. Each suite is one ctest entry; every wait is bounded.
#include "redis_server.hpp"
#include "redis_test_client.hpp"

#include <gtest/gtest.h>
#include <boost/asio/detached.hpp>

#include <filesystem>
#include <iostream>

namespace hc::cluster {
namespace {

using namespace hc::test;
using kind = redis_reply::kind;
using args = std::vector<std::string>;

// Open sockets of this process (a closed client leaves none behind).
int open_sockets() {
  int n = 0;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(fd.path(), ec);
    if (!ec && target.string().starts_with("socket:")) ++n;
  }
  return n;
}

// ---- one server for the suite ---------------------------------------------------------------

// A suite that starts one server for all its tests; with a password unless it is empty.
template <const char* password>
class with_redis_server : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<test::redis_server>(password); }
  static void TearDownTestSuite() { server_.reset(); }
  static inline std::unique_ptr<test::redis_server> server_;
};
constexpr char no_password[] = "";
constexpr char auth_password[] = "s3cret-pass";

class RedisClient : public with_redis_server<no_password> {};

TEST_F(RedisClient, AnswersWithRepliesOfEveryType) {
  test_client c(server_->endpoint());
  ASSERT_TRUE(c.wait_up());
  c.run({"DEL", "t:str", "t:n", "t:h"});
  const std::string binary("a\0b\r\n", 5);
  auto set = c.run({"SET", "t:str", binary});
  EXPECT_EQ(set.type, kind::status) << set.to_string();
  EXPECT_EQ(set.text, "OK");
  auto get = c.run({"GET", "t:str"});
  EXPECT_EQ(get.type, kind::string) << get.to_string();
  EXPECT_EQ(get.text, binary);
  EXPECT_EQ(c.run({"GET", "t:missing"}).type, kind::nil);
  auto incr = c.run({"INCR", "t:n"});
  EXPECT_EQ(incr.type, kind::integer);
  EXPECT_EQ(incr.integer, 1);
  EXPECT_EQ(c.run({"HSET", "t:h", "a", "1", "b", "2"}).integer, 2);
  auto all = c.run({"HGETALL", "t:h"});
  ASSERT_EQ(all.type, kind::array) << all.to_string();
  ASSERT_EQ(all.elements.size(), 4u);
  EXPECT_EQ(all.elements[0].text, "a");
  EXPECT_EQ(all.elements[3].text, "2");
  auto wrong = c.run({"INCR", "t:h"});
  EXPECT_EQ(wrong.type, kind::error);
  EXPECT_TRUE(wrong.text.starts_with("WRONGTYPE")) << wrong.text;
  EXPECT_EQ(c.run({"DEL", "t:str", "t:n", "t:h"}).integer, 3);
  auto nested = c.run({"EVAL", "return {1, 'two', {3, false}}", "0"});
  EXPECT_EQ(nested.to_string(), "[(integer) 1, \"two\", [(integer) 3, (nil)]]");
  auto status = c.run({"EVAL", "return redis.status_reply('FINE')", "0"});
  EXPECT_EQ(status.type, kind::status);
  EXPECT_EQ(status.text, "FINE");
  auto error = c.run({"EVAL", "return redis.error_reply('MYERR it went wrong')", "0"});
  EXPECT_EQ(error.type, kind::error);
  EXPECT_EQ(error.text, "MYERR it went wrong");
  EXPECT_TRUE(error.failed());
}

// Producers interleave on the loop, each sending its RPUSHes without waiting: the i-th RPUSH of a
// list must be answered with i + 1 (the list's new length), whatever the others do.
TEST_F(RedisClient, AnswersTenThousandPipelinedCommandsInOrder) {
  test_client c(server_->endpoint());
  ASSERT_TRUE(c.wait_up());
  constexpr int producers = 4, per_producer = 2500;
  std::vector<std::vector<redis_reply>> replies(producers, std::vector<redis_reply>(per_producer));
  int outstanding = producers * per_producer;  // touched on the loop only
  std::promise<void> answered;
  for (int p = 0; p < producers; ++p) c.run({"DEL", "t:list" + std::to_string(p)});
  auto produce = [&](int p) -> net::task<> {
    const auto list = "t:list" + std::to_string(p);
    for (int i = 0; i < per_producer; ++i) {
      auto on_reply = [&, p, i](std::exception_ptr, redis_reply r) {
        replies[p][i] = std::move(r);
        if (--outstanding == 0) answered.set_value();
      };
      asio::co_spawn(c.loop.io, c.client->command({"RPUSH", list, std::to_string(i)}), on_reply);
      if (i % 100 == 99) co_await asio::post(c.loop.io, asio::use_awaitable);  // let the others in
    }
  };
  const auto began = clock::now();
  for (int p = 0; p < producers; ++p) asio::co_spawn(c.loop.io, produce(p), asio::detached);
  ASSERT_EQ(answered.get_future().wait_for(30s), std::future_status::ready);
  std::cout << "10,000 pipelined commands answered in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - began).count() << " ms\n";
  for (int p = 0; p < producers; ++p) {
    for (int i = 0; i < per_producer; ++i) {
      ASSERT_EQ(replies[p][i].type, kind::integer) << replies[p][i].to_string();
      ASSERT_EQ(replies[p][i].integer, i + 1) << "producer " << p << " command " << i;
    }
    auto list = c.run({"LRANGE", "t:list" + std::to_string(p), "0", "-1"});
    ASSERT_EQ(list.elements.size(), std::size_t(per_producer));
    for (int i = 0; i < per_producer; ++i) ASSERT_EQ(list.elements[i].text, std::to_string(i));
  }
}

TEST_F(RedisClient, SelectsTheDatabaseOfTheUrl) {
  test_client db5(server_->endpoint(5));
  test_client db0(server_->endpoint(0));
  ASSERT_TRUE(db5.wait_up());
  ASSERT_TRUE(db0.wait_up());
  EXPECT_EQ(db5.run({"SET", "t:where", "five"}).text, "OK");
  EXPECT_EQ(db5.run({"GET", "t:where"}).text, "five");
  EXPECT_EQ(db0.run({"GET", "t:where"}).type, kind::nil);
  db5.run({"DEL", "t:where"});
}

TEST_F(RedisClient, RefusesCommandsThatWouldBreakRequestAndReply) {
  test_client c(server_->endpoint());
  ASSERT_TRUE(c.wait_up());
  const std::pair<args, const char*> cases[] = {
      {{"SUBSCRIBE", "x"}, "use subscribe()"},
      {{"monitor"}, "out of request and reply"},
      {{"CLIENT", "REPLY", "OFF"}, "out of request and reply"},
      {{"SELECT", "2"}, "the URL's /db"},
      {{"HELLO", "3"}, "RESP2"},
      {{}, "an empty redis command"},
  };
  for (const auto& [command, expected] : cases) {
    auto r = c.run(command);
    EXPECT_EQ(r.type, kind::unanswered) << r.to_string();
    EXPECT_NE(r.text.find(expected), std::string::npos) << r.text;
  }
  EXPECT_EQ(c.run({"PING"}).text, "PONG");
}

TEST_F(RedisClient, DeliversPublishedMessagesUntilUnsubscribed) {
  test_client c(server_->endpoint());
  ASSERT_TRUE(c.wait_up());
  recorder<std::string> news, weather;
  auto confirmed =
      await_on(c.loop, c.client->subscribe("t:news", [&](std::string m) { news.add(std::move(m)); }));
  EXPECT_EQ(confirmed.to_string(), "[\"subscribe\", \"t:news\", (integer) 1]");
  EXPECT_EQ(c.run({"PUBLISH", "t:news", "first"}).integer, 1);
  EXPECT_EQ(c.run({"PUBLISH", "t:news", "second"}).integer, 1);
  ASSERT_TRUE(news.wait_until([](auto& s) { return s.size() == 2; }));
  EXPECT_EQ(news.seen(), (std::vector<std::string>{"first", "second"}));

  await_on(c.loop, c.client->unsubscribe("t:news"));
  await_on(c.loop, c.client->subscribe("t:weather", [&](std::string m) { weather.add(std::move(m)); }));
  c.run({"PUBLISH", "t:news", "after unsubscribe"});
  c.run({"PUBLISH", "t:weather", "sunny"});
  // The subscriber connection receives in publishing order: had "after unsubscribe" been handed
  // over, it would have been before "sunny".
  ASSERT_TRUE(weather.wait_until([](auto& s) { return s.size() == 1; }));
  EXPECT_EQ(news.seen().size(), 2u);
}

TEST_F(RedisClient, CloseAnswersPendingCommandsAndClosesItsSockets) {
  const int sockets_before = open_sockets();
  auto c = std::make_unique<test_client>(server_->endpoint());
  ASSERT_TRUE(c->wait_up());
  std::vector<std::future<redis_reply>> pending;
  for (int i = 0; i < 3; ++i)
    pending.push_back(
        asio::co_spawn(c->loop.io, c->client->command({"BLPOP", "t:never", "0"}), asio::use_future));
  const auto states_before = c->states.seen().size();
  const auto began = clock::now();
  c->close();
  for (auto& p : pending) {
    ASSERT_EQ(p.wait_for(1s), std::future_status::ready);
    auto r = p.get();
    EXPECT_EQ(r.type, kind::unanswered) << r.to_string();
    EXPECT_EQ(r.text, "the redis client is closed");
  }
  EXPECT_LT(clock::now() - began, 1s);
  auto after = c->run({"PING"});
  EXPECT_EQ(after.text, "the redis client is closed");
  EXPECT_EQ(c->states.seen().size(), states_before) << "no state handler runs after close()";
  EXPECT_EQ(open_sockets(), sockets_before);
  c.reset();
}

TEST_F(RedisClient, DestroyingAnOpenClientIsSafe) {
  recorder<redis_state> states;
  io_thread loop;
  auto client = std::make_unique<redis_client>(loop.io.get_executor(), server_->endpoint(),
                                               [&](const redis_state& s) { states.add(s); });
  ASSERT_TRUE(states.wait_until(last_is_up));
  auto pending = asio::co_spawn(loop.io, client->command({"BLPOP", "t:never", "0"}), asio::use_future);
  client.reset();
  ASSERT_EQ(pending.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(pending.get().type, kind::unanswered);
}

// The loop goes away with the client open and a command pending: the link loops, connections
// and hiredis contexts are destroyed with it (ASan checks the ownership).
TEST_F(RedisClient, TearingDownTheLoopUnderAnOpenClientIsSafe) {
  auto io = std::make_unique<asio::io_context>(1);
  bool up = false;
  auto client = std::make_unique<redis_client>(io->get_executor(), server_->endpoint(),
                                               [&](const redis_state& s) { up = s.up; });
  const auto deadline = clock::now() + 10s;
  while (!up && clock::now() < deadline) io->run_for(10ms);
  ASSERT_TRUE(up);
  asio::co_spawn(*io, client->command({"BLPOP", "t:never", "0"}), asio::detached);
  io->run_for(50ms);
  client.reset();  // posts close(), which never runs
  io.reset();
}

// ---- AUTH -------------------------------------------------------------------------------------

class RedisAuth : public with_redis_server<auth_password> {};

TEST_F(RedisAuth, LogsInWithThePasswordAndTheAclUser) {
  test_client c(server_->endpoint());
  ASSERT_TRUE(c.wait_up());
  EXPECT_EQ(c.run({"SET", "t:auth", "in"}).text, "OK");
  auto with_user = parse_redis_url(std::string("redis://default:") + auth_password +
                                   "@127.0.0.1:" + std::to_string(server_->port()));
  test_client acl(with_user.value());
  ASSERT_TRUE(acl.wait_up());
  EXPECT_EQ(acl.run({"GET", "t:auth"}).text, "in");
}

TEST_F(RedisAuth, AWrongPasswordIsAClearDownStateThatNeverSaysIt) {
  auto e = server_->endpoint();
  e.password = "wrong-guess";
  test_client c(e);
  ASSERT_TRUE(c.states.wait_until(last_is_down));
  const auto why = c.client->state().last_error;
  EXPECT_NE(why.find("redis at 127.0.0.1:" + std::to_string(server_->port()) + " refused AUTH: WRONGPASS"),
            std::string::npos)
      << why;
  EXPECT_EQ(why.find("wrong-guess"), std::string::npos) << why;
  // The state went down with whichever link was refused first; commands say so once the commands
  // link has been refused too ("not up yet" before).
  redis_reply r;
  const auto deadline = clock::now() + 5s;
  do {
    r = c.run({"PING"});
    ASSERT_EQ(r.type, kind::unanswered) << r.to_string();
    ASSERT_LT(clock::now(), deadline) << r.text;
  } while (r.text.find("not up yet") != std::string::npos);
  EXPECT_NE(r.text.find("refused AUTH"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("wrong-guess"), std::string::npos) << r.text;
  EXPECT_FALSE(c.client->state().up);
}

// ---- an outage ----------------------------------------------------------------------------------

TEST(RedisOutage, FailsFastWhileTheServerIsAwayAndRecoversByItself) {
  test::redis_server server;
  test_client c(server.endpoint());
  ASSERT_TRUE(c.wait_up());
  recorder<std::string> signals;
  await_on(c.loop, c.client->subscribe("t:signals", [&](std::string m) { signals.add(std::move(m)); }));

  // A command the server holds (BLPOP) is pending when it goes away; another client watches for
  // it (the first one's replies wait behind the BLPOP's).
  auto pending = asio::co_spawn(c.loop.io, c.client->command({"BLPOP", "t:never", "0"}), asio::use_future);
  test_client observer(server.endpoint());
  ASSERT_TRUE(observer.wait_up());
  const auto deadline = clock::now() + 1s;
  while (observer.run({"INFO", "clients"}).text.find("blocked_clients:1") == std::string::npos) {
    ASSERT_LT(clock::now(), deadline) << "BLPOP never reached the server";
  }
  const auto stopped_at = clock::now();
  server.stop();
  ASSERT_EQ(pending.wait_for(2s), std::future_status::ready);
  auto lost = pending.get();
  EXPECT_LT(clock::now() - stopped_at, 1500ms) << "before the reply timeout, not because of it";
  EXPECT_EQ(lost.type, kind::unanswered);
  EXPECT_NE(lost.text.find("lost the connection to redis at 127.0.0.1:"), std::string::npos) << lost.text;
  ASSERT_TRUE(c.states.wait_until(last_is_down, 5s));

  const auto asked_at = clock::now();
  auto refused = c.run({"GET", "t:any"});
  EXPECT_LT(clock::now() - asked_at, 200ms);
  EXPECT_EQ(refused.type, kind::unanswered);
  EXPECT_NE(refused.text.find("link is down"), std::string::npos) << refused.text;

  server.start();
  ASSERT_TRUE(c.wait_up(10s));
  EXPECT_EQ(ups(c.states.seen()), 2u);
  EXPECT_EQ(c.run({"SET", "t:back", "yes"}).text, "OK");
  EXPECT_EQ(c.run({"PUBLISH", "t:signals", "after the restart"}).integer, 1);
  ASSERT_TRUE(signals.wait_until([](auto& s) { return !s.empty(); }));
  EXPECT_EQ(signals.seen().front(), "after the restart");
}

}  // namespace
}  // namespace hc::cluster
