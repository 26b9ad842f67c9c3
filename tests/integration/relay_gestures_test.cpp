// tests/integration/relay_gestures_test: how the relay answers each gesture before a tunnel
// exists, against a real hcrelay process over TLS (protocol doc §2-§5, §7): reject with the
// listener's status, one-shot and expiring accept addresses, the 25-listener quota, 401 vs 403,
// 404s, senders without tokens, deletion, listener selection by id, the runtime-info GET.
// Every failure case ends with a healthy echo in the same relay process. Harness: harness.hpp.
#include "harness.hpp"

#include "proto/encoding.hpp"
#include "proto/runtime_info.hpp"

#include <boost/asio/this_coro.hpp>

namespace hc::test {
namespace {

class RelayGestures : public relay_test {};

// Opens a sender while the listener answers the accept with `reject_suffix` appended to the
// address; returns (what the sender got, what the listener's reject dial got).
task<std::tuple<net::dial_result, net::dial_result>> reject_next(const relay_process& relay,
                                                                 net::ws_connection& control,
                                                                 const hc_fixture& hc,
                                                                 std::string reject_suffix,
                                                                 header_list sender_headers = {}) {
  auto listener_side = [&]() -> task<net::dial_result> {
    auto accept = co_await read_accept(control);
    co_return co_await dial_address(relay, accept.address + reject_suffix);
  };
  co_return co_await both(open_sender(relay, hc.name, hc.send_token, std::move(sender_headers)),
                          listener_side());
}

TEST_F(RelayGestures, RejectGivesListener410AndSenderTheStatusAndDescription) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "reject");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto [sender, rejected] = co_await reject_next(relay(), control, hc,
                                                   "&sb-hc-statusCode=401&sb-hc-statusDescription=" +
                                                       proto::percent_encode("Status Description from test"));
    EXPECT_EQ(rejected.status, 410) << rejected.error;
    EXPECT_FALSE(sender.connection.has_value());
    EXPECT_EQ(sender.status, 401) << sender.error;
    EXPECT_EQ(sender.reason, "Status Description from test");
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayGestures, RejectWithNodeStyleUnprefixedParameters) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "reject-node");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto [sender, rejected] = co_await reject_next(
        relay(), control, hc,
        "&statusCode=503&statusDescription=" + proto::percent_encode("Node says: not now"));
    EXPECT_EQ(rejected.status, 410) << rejected.error;
    EXPECT_EQ(sender.status, 503) << sender.error;
    EXPECT_EQ(sender.reason, "Node says: not now");
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayGestures, AcceptAddressWorksOnlyOnce) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "reuse");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);
    auto again = co_await dial_address(relay(), t.accept.address);
    EXPECT_EQ(again.status, 403) << again.error;
    auto reject_after_use = co_await dial_address(relay(), t.accept.address + "&sb-hc-statusCode=400");
    EXPECT_EQ(reject_after_use.status, 403) << reject_after_use.error;
    // The tunnel that used the address is unaffected.
    co_await send_frame(t.sender, opcode::text, true, "first use still works");
    auto frame_1 = co_await read_frame(t.listener);
    EXPECT_EQ(frame_1.payload, "first use still works");
    co_await expect_healthy_echo(relay());
  });
}

// The accept window is limits::rendezvous_timeout (30 s, protocol doc §5.1) and not configurable,
// so this test waits for it once.
TEST_F(RelayGestures, AcceptAddressExpiresAndSenderGets504) {
  run(
      [&]() -> task<> {
        auto hc = co_await make_hc(relay(), "expiry");
        auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
        auto started = std::chrono::steady_clock::now();
        auto [sender, accept] =
            co_await both(open_sender(relay(), hc.name, hc.send_token), read_accept(control));
        auto waited = std::chrono::steady_clock::now() - started;
        EXPECT_EQ(sender.status, 504) << sender.error;
        EXPECT_GE(waited, net::limits::rendezvous_timeout - 1s);
        auto late = co_await dial_address(relay(), accept.address);
        EXPECT_EQ(late.status, 403) << late.error;
        co_await expect_healthy_echo(relay());
      },
      net::limits::rendezvous_timeout + 30s);
}

TEST_F(RelayGestures, TwentySixthListenerIsRefusedWith403) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "quota");
    std::vector<net::ws_connection> listeners;
    for (std::size_t i = 0; i < net::limits::max_listeners_per_hc; ++i)
      listeners.push_back(
          co_await connect_listener(relay(), hc.name, hc.listen_token, "listener-" + std::to_string(i)));
    auto counted_2 = co_await wait_listener_count(relay(), hc.name, 25);
    EXPECT_TRUE(counted_2);
    auto refused = co_await open_listener(relay(), hc.name, hc.listen_token, "listener-25");
    EXPECT_EQ(refused.status, 403) << refused.error;
    EXPECT_NE(refused.reason.find("25"), std::string::npos) << refused.reason;

    // A freed slot can be taken again.
    co_await send_close(listeners.back(), 1000, "leaving");
    auto frame_3 = co_await read_frame(listeners.back());
    EXPECT_EQ(frame_3.op, opcode::close);
    listeners.pop_back();
    auto counted_4 = co_await wait_listener_count(relay(), hc.name, 24);
    require(counted_4, "the closed listener's slot was not freed");
    listeners.push_back(co_await connect_listener(relay(), hc.name, hc.listen_token, "listener-again"));
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayGestures, WrongKeyIs401) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "auth-wrong-key");
    auto forged = make_token(relay(), hc.name, "defaultListener", "bm90IHRoZSBrZXk=");
    auto listen = co_await open_listener(relay(), hc.name, forged);
    EXPECT_EQ(listen.status, 401) << listen.error;
    auto sender =
        co_await open_sender(relay(), hc.name, make_token(relay(), hc.name, "defaultSender", "nope"));
    EXPECT_EQ(sender.status, 401) << sender.error;
    auto unknown_rule =
        co_await open_listener(relay(), hc.name, make_token(relay(), hc.name, "noSuchRule", hc.listen_key));
    EXPECT_EQ(unknown_rule.status, 401) << unknown_rule.error;
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayGestures, ExpiredTokenIs401) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "auth-expired");
    auto expired = make_token(relay(), hc.name, "defaultListener", hc.listen_key, -1h);
    auto listen = co_await open_listener(relay(), hc.name, expired);
    EXPECT_EQ(listen.status, 401) << listen.error;
    EXPECT_NE(listen.reason.find("expired"), std::string::npos) << listen.reason;
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayGestures, TokenForAnotherPathIs403) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "auth-path");
    co_await make_hc(relay(), "auth-other");
    // Valid signatures (the namespace's root rule and this entity's own rule), scope elsewhere.
    auto root_elsewhere = make_token(relay(), "auth-other", relay().root().key_name, relay().root().key);
    auto listen = co_await open_listener(relay(), hc.name, root_elsewhere);
    EXPECT_EQ(listen.status, 403) << listen.error;
    auto entity_elsewhere = make_token(relay(), "auth-other", "defaultListener", hc.listen_key);
    auto listen2 = co_await open_listener(relay(), hc.name, entity_elsewhere);
    EXPECT_EQ(listen2.status, 403) << listen2.error;
    auto sender = co_await open_sender(relay(), hc.name,
                                       make_token(relay(), "auth-other", "defaultSender", hc.send_key));
    EXPECT_EQ(sender.status, 403) << sender.error;
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayGestures, SendOnlyTokenCannotListenAndListenTokenCannotSend) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "auth-rights");
    auto listen = co_await open_listener(relay(), hc.name, hc.send_token);
    EXPECT_EQ(listen.status, 403) << listen.error;
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto sender = co_await open_sender(relay(), hc.name, hc.listen_token);
    EXPECT_EQ(sender.status, 403) << sender.error;
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayGestures, MissingTokenIs401) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "auth-missing");
    auto listen = co_await open_listener(relay(), hc.name, "");
    EXPECT_EQ(listen.status, 401) << listen.error;
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto sender = co_await open_sender(relay(), hc.name, "");
    EXPECT_EQ(sender.status, 401) << sender.error;
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayGestures, TokenInQueryIsAcceptedAndNotForwarded) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "query-token");
    net::dial_request listen;
    listen.url = "wss://localhost:" + std::to_string(relay().port()) + "/$hc/" + hc.name +
                 "?sb-hc-action=listen&sb-hc-token=" + proto::percent_encode(hc.listen_token);
    listen.tls = relay().tls();
    auto listened = co_await net::dial_websocket(std::move(listen));
    require(listened.connection.has_value(), "listener with sb-hc-token refused: " + listened.error);
    auto& control = *listened.connection;
    auto listener_side = [&]() -> task<proto::accept_message> {
      auto accept = co_await read_accept(control);
      co_await dial_address(relay(), accept.address);
      co_return accept;
    };
    auto results = co_await both(
        open_sender(relay(), hc.name, "", {}, "app=2&sb-hc-token=" + proto::percent_encode(hc.send_token)),
        listener_side());
    auto& sender = std::get<0>(results);
    auto& accept = std::get<1>(results);
    EXPECT_EQ(sender.status, 101) << sender.error;
    EXPECT_NE(accept.address.find("app=2"), std::string::npos) << accept.address;
    EXPECT_EQ(accept.address.find("sb-hc-token"), std::string::npos)
        << "the token must not reach the listener";
    EXPECT_EQ(accept.address.find("SharedAccessSignature"), std::string::npos) << accept.address;
  });
}

TEST_F(RelayGestures, UnknownPathIs404) {
  run([&]() -> task<> {
    auto token = relay().root_token();
    auto listen = co_await open_listener(relay(), "no-such-hc", token);
    EXPECT_EQ(listen.status, 404) << listen.error;
    EXPECT_NE(listen.reason.find("Endpoint does not exist"), std::string::npos) << listen.reason;
    auto sender = co_await open_sender(relay(), "no-such-hc", token);
    EXPECT_EQ(sender.status, 404) << sender.error;
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayGestures, NoListenerConnectedIs404) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "lonely");
    auto sender = co_await open_sender(relay(), hc.name, hc.send_token);
    EXPECT_EQ(sender.status, 404) << sender.error;
    EXPECT_NE(sender.reason.find("no listeners"), std::string::npos) << sender.reason;
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayGestures, SenderNeedsNoTokenWhenClientAuthorizationIsOff) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "open-door",
                               R"({"requiresClientAuthorization":false,"endpoint":"localhost:9"})");
    auto no_token_listener = co_await open_listener(relay(), hc.name, "");
    EXPECT_EQ(no_token_listener.status, 401) << "listeners always need a token";
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, hc.name, "");
    co_await send_frame(t.sender, opcode::binary, true, "anonymous");
    auto frame_5 = co_await read_frame(t.listener);
    EXPECT_EQ(frame_5.payload, "anonymous");
    co_await send_frame(t.listener, opcode::binary, true, "welcome");
    auto frame_6 = co_await read_frame(t.sender);
    EXPECT_EQ(frame_6.payload, "welcome");
  });
}

TEST_F(RelayGestures, DeleteWhileConnectedClosesListenerWith1001) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "doomed");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    co_await delete_hc(relay(), hc.name);
    auto closed = co_await read_frame(control, "listener control channel");
    require(closed.op == opcode::close, "expected a Close on the control channel");
    EXPECT_EQ(close_of(closed).code, 1001);
    co_await send_frame(control, opcode::close, true, closed.payload);
    auto ended_7 = co_await read_until_error(control);
    EXPECT_TRUE(ended_7);
    auto sender = co_await open_sender(relay(), hc.name, hc.send_token);
    EXPECT_EQ(sender.status, 404) << sender.error;
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayGestures, AllowedListenersSelectsByListenerId) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "select");
    auto a = co_await connect_listener(relay(), hc.name, hc.listen_token, "listener-a");
    auto b = co_await connect_listener(relay(), hc.name, hc.listen_token, "listener-b");
    // Header lists are named: net/types.hpp.
    const header_list only_b{{"Microsoft-Relay-AllowedListeners", "listener-z, listener-b"}};
    const header_list not_b{{"Microsoft-Relay-DisallowedListeners", "listener-b"}};
    // Each sender names b; b rejects with a status that says it was b. a must see nothing.
    for (int i = 0; i < 6; ++i) {
      auto [sender, rejected] =
          co_await reject_next(relay(), b, hc, "&sb-hc-statusCode=409&sb-hc-statusDescription=b", only_b);
      EXPECT_EQ(sender.status, 409) << sender.error;
      EXPECT_EQ(rejected.status, 410) << rejected.error;
    }
    for (int i = 0; i < 6; ++i) {
      auto [sender, rejected] =
          co_await reject_next(relay(), a, hc, "&sb-hc-statusCode=409&sb-hc-statusDescription=a", not_b);
      EXPECT_EQ(sender.status, 409) << sender.error;
    }
    // Control frames are in order: had an accept gone to the wrong listener, it would come
    // before the Pong.
    co_await send_frame(a, opcode::ping, true, "a");
    auto frame_8 = co_await read_frame(a);
    EXPECT_EQ(frame_8, (ws_frame{opcode::pong, true, "a"}));
    co_await send_frame(b, opcode::ping, true, "b");
    auto frame_9 = co_await read_frame(b);
    EXPECT_EQ(frame_9, (ws_frame{opcode::pong, true, "b"}));
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayGestures, AllowedListenersWithoutMatchIs404) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "select-none");
    auto a = co_await connect_listener(relay(), hc.name, hc.listen_token, "listener-a");
    const header_list only_x{{"Microsoft-Relay-AllowedListeners", "listener-x"}};
    auto sender = co_await open_sender(relay(), hc.name, hc.send_token, only_x);
    EXPECT_EQ(sender.status, 404) << sender.error;
    EXPECT_NE(sender.reason.find("AllowedListeners"), std::string::npos) << sender.reason;
    co_await send_frame(a, opcode::ping, true, "a");
    auto frame_10 = co_await read_frame(a);
    EXPECT_EQ(frame_10, (ws_frame{opcode::pong, true, "a"})) << "no accept may reach listener-a";
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayGestures, RuntimeInfoGetReturnsMetadataAndListenerCount) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "runtime-info", R"({"endpoint":"db.internal:1433"})");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto get = [&](std::string token) -> task<net::http_response> {
      net::http_call call;
      call.url = relay().https_url("/" + hc.name + "?api-version=2016-07");
      call.headers = {{"Authorization", std::move(token)}, {"X-PROCESS-AT", "ServiceBus"}};
      call.tls = relay().tls();
      call.timeout = 10s;
      auto r = co_await net::call_http(std::move(call));
      require(r.response.has_value(), "runtime-info GET failed: " + r.error);
      co_return std::move(*r.response);
    };
    auto ok = co_await get(hc.listen_token);
    EXPECT_EQ(ok.status, 200) << ok.body;
    auto info = proto::parse_runtime_info_xml(ok.body);
    require(info.has_value(), "the runtime info does not parse: " + ok.body);
    EXPECT_EQ(info->listener_count, 1);
    EXPECT_TRUE(info->requires_client_authorization);
    EXPECT_NE(info->user_metadata.find("db.internal:1433"), std::string::npos) << info->user_metadata;
    EXPECT_NE(info->user_metadata.find("endpoint"), std::string::npos) << info->user_metadata;
    EXPECT_FALSE(info->created_at.empty());

    auto forged = co_await get(make_token(relay(), hc.name, "defaultListener", "bm90IHRoZSBrZXk="));
    EXPECT_EQ(forged.status, 401) << forged.body;
  });
}

// A listener whose token runs out without renewToken is closed with 1008 once the grace
// (--token-grace, 1 s here instead of 5 min) is over, not before; one that renewed in time stays and
// still takes senders.
TEST(RelayTokenExpiry, AListenerThatDoesNotRenewIsClosedWith1008AfterTheGraceAndARenewingOneStays) {
  test_dir dir;
  relay_process relay(dir.path(), {"--token-grace", "1"});
  run_bounded(
      [&]() -> task<> {
        auto hc = co_await make_hc(relay, "expiring");
        auto started = std::chrono::steady_clock::now();
        auto lapsing = co_await connect_listener(
            relay, hc.name, make_token(relay, hc.name, "defaultListener", hc.listen_key, 2s), "lapsing");
        auto renewing = co_await connect_listener(
            relay, hc.name, make_token(relay, hc.name, "defaultListener", hc.listen_key, 2s), "renewing");
        auto fresh = make_token(relay, hc.name, "defaultListener", hc.listen_key, 1h);
        co_await send_frame(renewing, opcode::text, true, R"({"renewToken":{"token":")" + fresh + "\"}}");

        ws_frame frame;
        do {
          frame = co_await read_frame(lapsing, "the listener that did not renew");
        } while (frame.op != opcode::close);
        auto closed_after = std::chrono::steady_clock::now() - started;
        auto close = close_of(frame);
        EXPECT_EQ(close.code, 1008);
        EXPECT_NE(close.reason.find("The token has expired"), std::string::npos) << close.reason;
        // se counts whole seconds: the token lapsed 1 to 2 s after it was made, the grace is 1 s more.
        EXPECT_GE(closed_after, 2s) << "closed before its token and grace ran out";

        auto stays = co_await open_tunnel(relay, renewing, hc.name, hc.send_token);
        EXPECT_FALSE(stays.accept.id.empty());
        co_await send_frame(stays.sender, opcode::binary, true, "still here");
        auto echoed = co_await read_frame(stays.listener, "the renewed listener's tunnel");
        EXPECT_EQ(echoed.payload, "still here");
        co_await send_close(stays.sender, 1000, "done");
        co_await echo_until_close(stays.listener);
        co_await expect_healthy_echo(relay);
      },
      30s);
}

}  // namespace
}  // namespace hc::test
