// Relay nodes on one catalog and one Redis (hcrelay --store postgres://... --cluster redis://...):
// a sender on one node reaches a listener on another (the accept travels through Redis, the
// listener dials the sender's node, bytes never cross nodes): echo, 4 MiB each way, the closing
// handshake; the 25-listener limit counted across nodes; an accept for a listener that is gone
// comes back at once; an accept taken by a node that then froze is given up when its presence
// expires; a node killed with SIGKILL under checked traffic costs only its own tunnels; Redis stopped and
// started: each node serves its own listeners meanwhile, /healthz says degraded, presence comes back by
// itself.
#include "cluster_support.hpp"

#include <csignal>
#include <functional>
#include <regex>

namespace hc::test {
namespace {

class ClusterTunnels : public cluster_test {};

// The node id a relay logged when it joined the cluster.
std::string node_id_of(relay_process& node) {
  std::smatch m;
  auto text = node.process().log();
  if (!std::regex_search(text, m, std::regex("cluster: node ([0-9a-f]+) "))) return {};
  return m[1];
}

// A tunnel carries what a tunnel must: a message each way, 4 MiB each way, the closing handshake.
task<> expect_carries_everything(tunnel& t) {
  co_await send_frame(t.sender, opcode::text, true, "hello from the sender");
  auto up = co_await read_frame(t.listener, "listener leg");
  EXPECT_EQ(up.payload, "hello from the sender");
  co_await send_frame(t.listener, opcode::text, true, "hello from the listener");
  auto down = co_await read_frame(t.sender, "sender leg");
  EXPECT_EQ(down.payload, "hello from the listener");
  std::string big(4 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = char(i * 131 + (i >> 12));
  co_await send_frame(t.sender, opcode::binary, true, big);
  auto big_up = co_await read_frame(t.listener, "listener leg");
  EXPECT_TRUE(big_up.payload == big) << "4 MiB from the sender arrived changed (" << big_up.payload.size()
                                     << " bytes)";
  co_await send_frame(t.listener, opcode::binary, true, big);
  auto big_down = co_await read_frame(t.sender, "sender leg");
  EXPECT_TRUE(big_down.payload == big) << "4 MiB from the listener arrived changed";
  co_await send_close(t.sender, 1000, "done");
  auto closing = co_await read_frame(t.listener, "listener leg");
  require_eq(closing.op, opcode::close, "what the listener got after the sender's Close");
  EXPECT_EQ(close_of(closing).code, 1000);
  co_await send_close(t.listener, 1000, "done");
  auto echoed = co_await read_frame(t.sender, "sender leg");
  require_eq(echoed.op, opcode::close, "what the sender got after the listener's Close");
}

TEST_F(ClusterTunnels, ASenderOnOneNodeReachesAListenerOnAnother) {
  auto& a = start_node("a");
  auto& b = start_node("b");
  run(
      [&]() -> task<> {
        auto hc = co_await ready_hc("orders");
        auto control = co_await connect_listener(a, "orders", hc.listen_token);

        auto t = co_await open_tunnel(b, control, "orders", hc.send_token);
        EXPECT_NE(t.accept.address.find("localhost:" + std::to_string(b.port()) + "/"), std::string::npos)
            << "the accept address names the sender's node: " << t.accept.address;
        co_await expect_carries_everything(t);

        auto scraped = co_await get_page(b, "/metrics");
        EXPECT_NE(scraped.body.find("hcrelay_cluster_accepts_total{direction=\"sent\"} 1"), std::string::npos)
            << scraped.body;
        EXPECT_NE(scraped.body.find("hcrelay_cluster_link_up 1"), std::string::npos);
      },
      60s);
}

TEST_F(ClusterTunnels, TheListenerLimitHoldsAcrossNodes) {
  auto& a = start_node("a");
  auto& b = start_node("b");
  run(
      [&]() -> task<> {
        auto hc = co_await ready_hc("orders");
        std::vector<net::ws_connection> on_a, on_b;
        for (int i = 0; i < 13; ++i) on_a.push_back(co_await connect_listener(a, "orders", hc.listen_token));
        for (int i = 0; i < 12; ++i) on_b.push_back(co_await connect_listener(b, "orders", hc.listen_token));
        auto extra_b = co_await open_listener(b, "orders", hc.listen_token);
        EXPECT_EQ(extra_b.status, 403) << "the 26th listener, on b";
        EXPECT_NE(extra_b.reason.find("Quota"), std::string::npos) << extra_b.reason;
        auto extra_a = co_await open_listener(a, "orders", hc.listen_token);
        EXPECT_EQ(extra_a.status, 403) << "the 26th listener, on a";

        co_await send_close(on_a.back(), 1000, "making room");
        co_await read_until_error(on_a.back());
        net::dial_result again;
        for (int i = 0; i < 50 && !again; ++i) {  // the place is free once a has seen the Close
          if (i) co_await pause_for(100ms);
          again = co_await open_listener(b, "orders", hc.listen_token);
        }
        EXPECT_TRUE(bool(again)) << "a place freed on a is taken on b: " << again.status;
      },
      60s);
}

TEST_F(ClusterTunnels, AnAcceptForAListenerThatIsGoneComesBackAtOnce) {
  auto& a = start_node("a");
  auto& b = start_node("b");
  run(
      [&]() -> task<> {
        auto hc = co_await ready_hc("orders");
        auto node_a = node_id_of(a);
        require(!node_a.empty(), "node a logged no node id");
        // Redis still lists a listener of a that a no longer has (it left while Redis was away).
        redis_cli({"HSET", "hc:listeners:localhost/orders", node_a + "|ghost", "0"});
        auto started = std::chrono::steady_clock::now();
        header_list only_the_ghost{{"Microsoft-Relay-AllowedListeners", "ghost"}};  // named: net/types.hpp
        auto sender = co_await open_sender(b, "orders", hc.send_token, only_the_ghost);
        auto waited = std::chrono::steady_clock::now() - started;
        EXPECT_EQ(sender.status, 502) << sender.reason;
        EXPECT_LT(waited, 10s) << "the sender waited for an answer that could not come";
        // a dropped the stale entry: nobody picks it again.
        auto left = redis_cli({"HEXISTS", "hc:listeners:localhost/orders", node_a + "|ghost"});
        EXPECT_EQ(left.substr(0, 1), "0") << left;
      },
      60s);
}

// A node frozen (SIGSTOP) after a sender's accept went to it: Redis counted its subscription, so
// the accept was "taken", but nobody will ever answer. Once the frozen node's presence expires the
// sender's node takes the offer for lost, asks Redis again, and finds the listener that connected
// to a third node meanwhile (as an agent does when its node goes away): the sender gets its tunnel
// well before the 10 s a silent listener is given.
TEST_F(ClusterTunnels, ASenderWhoseAcceptWentToAFrozenNodeReachesAListenerThatCameAfter) {
  auto& a = start_node("a");
  auto& b = start_node("b");
  auto& c = start_node("c");
  run(
      [&]() -> task<> {
        auto hc = co_await ready_hc("orders");
        auto on_a = co_await connect_listener(a, "orders", hc.listen_token, "on-a");
        ::kill(a.process().pid(), SIGSTOP);
        killed.push_back(&a);
        auto started = std::chrono::steady_clock::now();
        auto late_listener = [&]() -> task<std::pair<net::ws_connection, net::dial_result>> {
          co_await pause_for(500ms);
          auto on_c = co_await connect_listener(c, "orders", hc.listen_token, "on-c");
          auto accept = co_await read_accept(on_c);
          auto leg = co_await dial_address(c, accept.address);
          co_return std::make_pair(std::move(on_c), std::move(leg));
        };
        auto legs = co_await both(open_sender(b, "orders", hc.send_token), late_listener());
        auto waited = std::chrono::steady_clock::now() - started;
        auto& sender = std::get<0>(legs);
        auto& listener_leg = std::get<1>(legs).second;
        ::kill(a.process().pid(), SIGKILL);
        ::kill(a.process().pid(), SIGCONT);
        require(sender.connection.has_value(),
                "the sender's connect failed: " + std::to_string(sender.status) + " " + sender.reason +
                    sender.error);
        require(listener_leg.connection.has_value(), "the listener's accept failed: " + listener_leg.error);
        EXPECT_LT(waited, 10s) << "the sender waited out a silent listener instead of moving on";
        std::printf("[ cluster  ] tunnel after the freeze: %lld ms\n",
                    (long long)std::chrono::duration_cast<std::chrono::milliseconds>(waited).count());
        co_await send_frame(*sender.connection, opcode::text, true, "through c");
        auto got = co_await read_frame(*listener_leg.connection, "listener leg on c");
        EXPECT_EQ(got.payload, "through c");
        (void)on_a;
      },
      40s);  // without the expiry the sender waits 30 s, the listener for ever
}

// Frame i of a checked stream: 64 KiB that only frame i has.
std::string checked_frame(int i) {
  std::string f(64 * 1024, '\0');
  for (std::size_t k = 0; k < f.size(); ++k) f[k] = char((k * 7 + std::size_t(i) * 131) ^ (k >> 9));
  return f;
}

// Sends `frames` checked frames, calling `midway` after the first third.
task<int> send_checked(net::ws_connection& ws, int frames, std::function<void()> midway) {
  for (int i = 0; i < frames; ++i) {
    if (i == frames / 3) midway();
    co_await send_frame(ws, opcode::binary, true, checked_frame(i));
  }
  co_return frames;
}

// Reads `frames` frames; how many arrived whole, in order and unchanged.
task<int> receive_checked(net::ws_connection& ws, int frames) {
  int intact = 0;
  for (int i = 0; i < frames; ++i) {
    auto f = co_await read_frame(ws, "checked stream");
    if (f.op == opcode::binary && f.payload == checked_frame(i)) ++intact;
  }
  co_return intact;
}

TEST_F(ClusterTunnels, ANodeKilledCostsOnlyItsOwnTunnels) {
  auto& a = start_node("a");
  auto& b = start_node("b");
  auto& c = start_node("c");
  run(
      [&]() -> task<> {
        auto hc = co_await ready_hc("orders");
        auto on_a = co_await connect_listener(a, "orders", hc.listen_token, "on-a");
        auto on_b = co_await connect_listener(b, "orders", hc.listen_token, "on-b");
        // A tunnel from c to the listener on b, open while a dies.
        header_list only_b{{"Microsoft-Relay-AllowedListeners", "on-b"}};
        auto kept = co_await open_tunnel(c, on_b, "orders", hc.send_token, only_b);

        // 16 MiB of checked frames through the tunnel between c and b while a is killed.
        constexpr int frames = 256;
        auto streamed = co_await both(send_checked(kept.sender, frames,
                                                   [&] {
                                                     ::kill(a.process().pid(), SIGKILL);
                                                     killed.push_back(&a);
                                                   }),
                                      receive_checked(kept.listener, frames));
        EXPECT_EQ(std::get<1>(streamed), frames) << "frames that crossed the kill changed or were lost";
        a.process().wait_exit(5s);

        // New senders on c: none may fail, even before a's presence has expired (node_ttl).
        for (int i = 0; i < 10; ++i) {
          auto t = co_await open_tunnel(c, on_b, "orders", hc.send_token);
          co_await send_frame(t.sender, opcode::text, true, "after the kill " + std::to_string(i));
          auto got = co_await read_frame(t.listener, "listener leg on b");
          EXPECT_EQ(got.payload, "after the kill " + std::to_string(i));
        }
        co_await send_frame(kept.sender, opcode::text, true, "still here");
        auto got = co_await read_frame(kept.listener, "listener leg on b");
        EXPECT_EQ(got.payload, "still here") << "a tunnel between other nodes outlived the kill";
        (void)on_a;
      },
      90s);
}

TEST_F(ClusterTunnels, WhileRedisIsDownEachNodeServesItsOwnListenersAndPresenceComesBack) {
  auto& a = start_node("a");
  auto& b = start_node("b");
  bool redis_stopped = false;
  run(
      [&]() -> task<> {
        auto hc = co_await ready_hc("orders");
        auto on_b = co_await connect_listener(b, "orders", hc.listen_token);
        // A tunnel across nodes, open while Redis goes away and comes back: its bytes never touch Redis.
        auto across = co_await open_tunnel(a, on_b, "orders", hc.send_token);

        redis->stop();
        redis_stopped = true;
        auto degraded = co_await wait_health(b, "degraded");
        EXPECT_TRUE(degraded.starts_with("degraded")) << degraded;
        EXPECT_NE(degraded.find("cluster: "), std::string::npos) << degraded;
        EXPECT_NE(degraded.find("this node's listeners only"), std::string::npos) << degraded;
        auto not_ready = co_await get_page(b, "/readyz");
        EXPECT_EQ(not_ready.status, 503) << "a node without its cluster link is not ready";
        EXPECT_NE(not_ready.body.find("cluster: "), std::string::npos) << not_ready.body;
        auto scraped = co_await get_page(b, "/metrics");
        EXPECT_NE(scraped.body.find("\nhcrelay_ready 0\n"), std::string::npos) << "hcrelay_ready is not 0";

        auto local = co_await open_tunnel(b, on_b, "orders", hc.send_token);
        co_await send_frame(local.sender, opcode::text, true, "through b while Redis is away");
        auto got = co_await read_frame(local.listener, "listener leg on b");
        EXPECT_EQ(got.payload, "through b while Redis is away");
        auto elsewhere = co_await open_sender(a, "orders", hc.send_token);
        EXPECT_EQ(elsewhere.status, 404)
            << "a cannot see b's listener while Redis is away: " << elsewhere.reason;

        redis->start();
        redis_stopped = false;
        auto healthy = co_await wait_health(a, "ok", 15s);
        EXPECT_EQ(healthy, "ok\n");
        co_await wait_health(b, "ok", 15s);
        auto ready = co_await get_page(b, "/readyz");
        EXPECT_EQ(ready.status, 200) << ready.body;
        EXPECT_EQ(ready.body, "ready\n");
        // b writes its presence anew (the restarted Redis is empty): then a sender on a reaches the
        // listener on b again.
        std::string listed;
        for (int i = 0; i < 50; ++i) {
          listed = redis_cli({"HLEN", "hc:listeners:localhost/orders"});
          if (listed.starts_with("1")) break;
          co_await pause_for(100ms);
        }
        EXPECT_TRUE(listed.starts_with("1")) << "b's listener is not listed again: " << listed;
        co_await send_frame(across.sender, opcode::binary, true, "across the outage");
        auto kept = co_await read_frame(across.listener, "listener leg on b");
        EXPECT_EQ(kept.payload, "across the outage") << "a tunnel across nodes outlived the Redis restart";
        auto back = co_await open_tunnel(a, on_b, "orders", hc.send_token);
        co_await send_frame(back.sender, opcode::text, true, "through a again");
        auto again = co_await read_frame(back.listener, "listener leg on b");
        EXPECT_EQ(again.payload, "through a again");
      },
      90s);
  if (redis_stopped) redis->start();  // the next test needs it
}

}  // namespace
}  // namespace hc::test
