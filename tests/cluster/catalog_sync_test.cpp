// Relays that share a PostgreSQL catalog (hcrelay --store postgres://...): a change made through
// one relay holds on the other (a hybrid connection created, a key regenerated, a hybrid
// connection deleted: the other relay's listeners are closed), PostgreSQL stopped and started
// under a live tunnel (503 with a sentence, /healthz degraded, the tunnel and new tunnels go on,
// management back by itself), and a --store URL carrying a password refused. One PostgreSQL for
// the suite, a fresh database per test.
#include "cluster_support.hpp"

namespace hc::test {
namespace {

// Relays on one catalog, no Redis: what the catalog alone carries.
class ClusterCatalog : public cluster_test {
 protected:
  relay_process& start_relay(const std::string& name) { return start_node(name, {}, false); }
};

TEST_F(ClusterCatalog, AChangeThroughOneRelayHoldsOnTheOther) {
  auto& a = start_relay("a");
  auto& b = start_relay("b");
  EXPECT_EQ(a.root().key, b.root().key) << "the second relay found the namespace the first created";
  run(
      [&]() -> task<> {
        auto hc = co_await make_hc(a, "orders");
        bool seen = co_await wait_hc_status(b, "orders", 200);
        EXPECT_TRUE(seen) << "b learned of the hybrid connection created through a";

        // A listener on b with the key a is about to regenerate.
        auto control = co_await connect_listener(b, "orders", hc.listen_token);
        auto regenerated =
            co_await management_call(a, "POST", "orders/authorizationRules/defaultListener/regenerateKeys",
                                     R"({"keyType":"PrimaryKey"})");
        EXPECT_EQ(regenerated.status, 200) << regenerated.body;
        auto frame = co_await read_frame(control, "listener on b");
        require_eq(frame.op, opcode::close, "what the listener on b got");
        EXPECT_EQ(close_of(frame).code, 1008) << close_of(frame).reason;

        // A listener on b with the new key; the hybrid connection deleted through a closes it.
        auto key = co_await rule_key(a, "orders", "defaultListener");
        auto token = make_token(b, "orders", "defaultListener", key);
        net::dial_result again;
        for (int i = 0; i < 40 && !again; ++i) {  // b may not have the new key yet
          if (i) co_await pause_for(100ms);
          again = co_await open_listener(b, "orders", token);
        }
        require(bool(again), "b never took the regenerated key: " + std::to_string(again.status));
        co_await delete_hc(a, "orders");
        auto gone = co_await read_frame(*again.connection, "listener on b");
        require_eq(gone.op, opcode::close, "what the listener on b got");
        EXPECT_EQ(close_of(gone).code, 1001) << close_of(gone).reason;
        bool deleted = co_await wait_hc_status(b, "orders", 404);
        EXPECT_TRUE(deleted);
      },
      60s);
}

TEST_F(ClusterCatalog, WhilePostgresIsDownTunnelsGoOnAndManagementAnswers503UntilItIsBack) {
  auto& a = start_relay("a");
  bool stopped = false;
  run(
      [&]() -> task<> {
        auto hc = co_await make_hc(a, "orders");
        auto control = co_await connect_listener(a, "orders", hc.listen_token);
        postgres.server->stop();
        stopped = true;

        auto refused = co_await management_call(a, "PUT", "later", R"({"endpoint":"localhost:9"})");
        EXPECT_EQ(refused.status, 503) << refused.body;
        EXPECT_NE(refused.body.find("cannot reach PostgreSQL"), std::string::npos) << refused.body;
        EXPECT_NE(refused.body.find("\"ServiceUnavailable\""), std::string::npos) << refused.body;
        EXPECT_NE(refused.body.find("retry"), std::string::npos) << refused.body;
        net::http_response health;
        for (int i = 0; i < 40; ++i) {
          health = co_await cluster_test::health(a);
          if (health.body.starts_with("degraded")) break;
          co_await pause_for(100ms);
        }
        EXPECT_EQ(health.status, 200) << "a load balancer keeps a relay that serves tunnels";
        EXPECT_TRUE(health.body.starts_with("degraded")) << health.body;
        EXPECT_NE(health.body.find("store: "), std::string::npos) << health.body;
        auto not_ready = co_await get_page(a, "/readyz");
        EXPECT_EQ(not_ready.status, 503) << "a relay whose store is down is not ready";
        EXPECT_NE(not_ready.body.find("store: "), std::string::npos) << not_ready.body;

        // The catalog in memory carries a new tunnel.
        auto t = co_await open_tunnel(a, control, "orders", hc.send_token);
        co_await send_frame(t.sender, opcode::binary, true, "while the store is down");
        auto got = co_await read_frame(t.listener, "listener leg");
        EXPECT_EQ(got.payload, "while the store is down");

        postgres.server->start();
        stopped = false;
        bool back = false;
        for (int i = 0; i < 100 && !back; ++i) {
          auto r = co_await management_call(a, "PUT", "later", R"({"endpoint":"localhost:9"})");
          back = r.status == 201 || r.status == 200;
          if (!back) co_await pause_for(100ms);
        }
        EXPECT_TRUE(back) << "management calls work again without a restart";
        auto healthy = co_await cluster_test::health(a);
        for (int i = 0; i < 40 && healthy.body != "ok\n"; ++i) {
          co_await pause_for(100ms);
          healthy = co_await cluster_test::health(a);
        }
        EXPECT_EQ(healthy.body, "ok\n");
        auto ready = co_await get_page(a, "/readyz");
        EXPECT_EQ(ready.status, 200) << ready.body;
        co_await send_frame(t.sender, opcode::binary, true, "after");
        auto after = co_await read_frame(t.listener, "listener leg");
        EXPECT_EQ(after.payload, "after") << "the tunnel outlived the outage";
      },
      90s);
  if (stopped) postgres.server->start();  // the next test needs it
}

TEST_F(ClusterCatalog, AStoreUrlWithAPasswordIsRefusedAtStart) {
  auto result = run_program(dir_.path(), bin_path("hcrelay"),
                            {"--data-dir", (dir_.path() / "x").string(), "--listen", "127.0.0.1:0",
                             "--dev-tls", "--store", postgres.server->url("postgres", "s3cret-pass")},
                            30s);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("--store-password-file"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("s3cret-pass"), std::string::npos) << "the password is never repeated";
}

}  // namespace
}  // namespace hc::test
