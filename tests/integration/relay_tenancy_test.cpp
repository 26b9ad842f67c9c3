// tests/integration/relay_tenancy_test: who stays connected when keys and rules change, and that
// every namespace carries traffic. RelayTenancyKeys (a fresh relay per test: each changes keys):
// a regenerated, deleted or reduced rule closes exactly the listeners whose token it invalidates
// (1008, relay/listen recheck_listeners), a deleted hybrid connection closes its
// listeners (1001), renewToken with an old key is refused, open tunnels outlive their key.
// RelayTenancyNewNamespace: --dev-tls re-issues the certificate for a new namespace host.
// RelayTenancyNamespaces (one relay, two namespaces): hcm carries traffic in both, accept
// addresses name the sender's host, tokens do not cross namespaces, an unknown Host learns nothing.
#include "harness.hpp"
#include "hcm_support.hpp"
#include "raw_client.hpp"

#include "net/clock.hpp"
#include "proto/encoding.hpp"
#include "proto/sas.hpp"

#include <boost/asio/write.hpp>

#include <cstdlib>

namespace hc::test {
namespace {

using hcm::quote;
using hcm::shell;

const std::string second_host = "second.hcrelay.test";
const std::string root_rule = "RootManageSharedAccessKey";

std::string ms_text(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

// ------------------------------------------------------------------ control channels
// How a control channel ended.
struct channel_end {
  std::optional<proto::close_info> close;  // the relay's Close, when one came
  std::string how;                         // otherwise: what happened instead
};

// Reads (skipping pings and messages) until the relay's Close and echoes it, within `limit`.
task<channel_end> read_until_close(net::ws_connection& ws, std::chrono::steady_clock::duration limit = 5s) {
  auto ex = co_await asio::this_coro::executor;
  net::deadline watchdog(ex, limit, [&] { ws.stream().close(); });
  channel_end out;
  for (;;) {
    auto [ec, h] = co_await ws.read_header();
    if (ec) {
      out.how = watchdog.expired() ? "no Close came within " + ms_text(limit)
                                   : "the channel ended without a Close: " + ec.message();
      co_return out;
    }
    std::string payload(std::size_t(h.payload_length), '\0');
    std::size_t at = 0;
    while (ws.payload_remaining() > 0) {
      auto r = co_await ws.read_payload(asio::buffer(payload.data() + at, payload.size() - at));
      if (r.ec) {
        out.how = "the channel failed in a frame: " + r.ec.message();
        co_return out;
      }
      at += r.bytes;
    }
    if (h.op != opcode::close) continue;
    watchdog.disarm();
    auto info = proto::parse_close_payload(
        std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
    if (!info) {
      out.how = "a Close frame that does not parse";
      co_return out;
    }
    out.close = *info;
    auto echoed = co_await ws.write_close_raw(std::move(payload));  // RFC 6455's echo; may fail
    (void)echoed;
    co_return out;
  }
}

// The relay closes `ws` with `code` and a reason that starts with `reason_prefix`, within 5 s.
task<> expect_close(net::ws_connection& ws, std::uint16_t code, std::string reason_prefix, std::string who) {
  auto end = co_await read_until_close(ws);
  require(end.close.has_value(), who + ": expected Close " + std::to_string(code) + ", but " + end.how);
  require_eq(end.close->code, code, who + ": Close code (reason \"" + end.close->reason + "\")");
  require(end.close->reason.starts_with(reason_prefix),
          who + ": Close reason \"" + end.close->reason + "\" should start with \"" + reason_prefix + "\"");
}

// The channel is still open: our Ping gets its Pong within 5 s (the relay's own pings skipped).
// The relay reads a channel in order, so a Close it owed for an earlier message comes first.
task<> expect_open(net::ws_connection& ws, std::string who) {
  auto ex = co_await asio::this_coro::executor;
  net::deadline watchdog(ex, 5s, [&] { ws.stream().close(); });
  const std::string probe = "still there?";
  co_await send_frame(ws, opcode::ping, true, probe);
  for (;;) {
    auto f = co_await read_frame(ws, who);
    if (f.op == opcode::pong && f.payload == probe) co_return;
    if (f.op == opcode::close) {
      auto info = close_of(f);
      throw test_failure(who + ": expected the channel to stay open, got Close " + std::to_string(info.code) +
                         " \"" + info.reason + "\"");
    }
    require(f.op == opcode::ping || f.op == opcode::pong,
            who + ": expected a Pong, got " + ::testing::PrintToString(f));
  }
}

// One message each way between the two legs of a tunnel.
task<> expect_legs_carry(net::ws_connection& sender, net::ws_connection& listener, std::string text) {
  co_await send_frame(sender, opcode::binary, true, text);
  auto there = co_await read_frame(listener, "the tunnel's listener leg");
  require_eq(there.payload, text, "sender -> listener");
  auto reply = text + " (reply)";
  co_await send_frame(listener, opcode::binary, true, reply);
  auto back = co_await read_frame(sender, "the tunnel's sender leg");
  require_eq(back.payload, reply, "listener -> sender");
}

// A new sender is offered to `control` (the listener with `listener_id`, when given, among
// several) and the tunnel carries a message each way.
task<> expect_new_tunnel(const relay_process& relay, net::ws_connection& control, std::string path,
                         std::string send_token, std::string listener_id = {}) {
  header_list only_this;
  if (!listener_id.empty()) only_this.emplace_back("Microsoft-Relay-AllowedListeners", listener_id);
  auto t = co_await open_tunnel(relay, control, path, send_token, only_this);
  auto text = "through " + path + (listener_id.empty() ? "" : " to " + listener_id);
  co_await expect_legs_carry(t.sender, t.listener, text);
}

// ------------------------------------------------------------------ keys of localhost's rules
task<boost::json::object> list_keys(const relay_process& relay, std::string hc, std::string rule) {
  auto path = hc + "/authorizationRules/" + rule + "/listKeys";
  auto r = co_await management_call(relay, "POST", path);
  require_eq(r.status, 200, "listKeys " + hc + "/" + rule + " (" + r.body + ")");
  co_return boost::json::parse(r.body).as_object();
}

// POST .../regenerateKeys {"keyType": key_type}; the rule's keys afterwards.
task<boost::json::object> regenerate(const relay_process& relay, std::string hc, std::string rule,
                                     std::string key_type) {
  auto path = hc + "/authorizationRules/" + rule + "/regenerateKeys";
  auto body = R"({"keyType":")" + key_type + R"("})";
  auto r = co_await management_call(relay, "POST", path, body);
  require_eq(r.status, 200, "regenerateKeys " + key_type + " of " + hc + "/" + rule + " (" + r.body + ")");
  co_return boost::json::parse(r.body).as_object();
}

std::string key_of(const boost::json::object& keys, std::string_view which) {
  return std::string(keys.at(which).as_string());
}

// ------------------------------------------------------------------ namespaces by host name
std::string sas(const std::string& host, const std::string& path, const std::string& rule,
                const std::string& key) {
  return proto::make_sas_token("http://" + host + "/" + path, rule, key, net::unix_now() + 3600);
}

// A namespace as its own clients see it: served at `host`, managed with its own root key.
struct tenant {
  std::string name;      // in API paths
  std::string host;      // what its clients dial (Host header, SNI, token audience)
  std::string root_key;  // its RootManageSharedAccessKey
  std::string root_token() const { return sas(host, "", root_rule, root_key); }
};

// TCP to the relay at 127.0.0.1, TLS with SNI and host-name verification for `host` against the
// dev CA: what a client whose DNS resolves `host` to the relay does. The handshake's error.
task<std::pair<net::error_code, net::byte_stream>> tls_attempt(const relay_process& relay, std::string host) {
  auto connected = co_await net::connect_tcp("127.0.0.1", relay.port());
  require(!connected.first, "TCP connect to the relay failed: " + connected.first.message());
  auto stream = net::byte_stream::tls(std::move(connected.second), *relay.tls());
  auto ec = co_await stream.tls_connect(host);
  co_return std::pair{ec, std::move(stream)};
}

task<net::byte_stream> tls_for_host(const relay_process& relay, std::string host) {
  auto attempt = co_await tls_attempt(relay, host);
  require(!attempt.first, "TLS handshake for " + host + " failed: " + attempt.first.message());
  co_return std::move(attempt.second);
}

// One management API call to `host` (Host header and SNI), `path` under /api/v1.
task<raw::response> api_at(const relay_process& relay, std::string host, std::string method, std::string path,
                           std::string token, std::string body = {}) {
  auto stream = co_await tls_for_host(relay, host);
  header_list headers;
  headers.emplace_back("Host", host + ":" + std::to_string(relay.port()));
  headers.emplace_back("Authorization", token);
  headers.emplace_back("Connection", "close");
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  auto request = net::format_request(method, "/api/v1" + path, headers, body);
  co_await raw::send(stream, std::move(request));
  auto r = co_await raw::read_response(stream);
  stream.close();
  co_return r;
}

// A WebSocket dial of `url` (wss://HOST:PORT/...) over tls_for_host(HOST).
task<net::dial_result> dial_at(const relay_process& relay, std::string host, std::string url,
                               header_list headers) {
  auto stream = co_await tls_for_host(relay, host);
  net::dial_request d;
  d.url = std::move(url);
  d.headers = std::move(headers);
  d.tls = relay.tls();
  d.timeout = 10s;
  co_return co_await net::dial_websocket(std::move(d), std::move(stream));
}

std::string gesture_url(const relay_process& relay, const tenant& t, const std::string& path,
                        const std::string& action) {
  return "wss://" + t.host + ":" + std::to_string(relay.port()) + "/$hc/" + path + "?sb-hc-action=" + action;
}

// A listen or connect gesture at the tenant's host with `token` in ServiceBusAuthorization.
task<net::dial_result> gesture_at(const relay_process& relay, const tenant& t, std::string path,
                                  std::string token, std::string action) {
  header_list headers;
  headers.emplace_back("ServiceBusAuthorization", token);
  auto url = gesture_url(relay, t, path, action);
  co_return co_await dial_at(relay, t.host, url, std::move(headers));
}

task<net::dial_result> listener_at(const relay_process& relay, const tenant& t, std::string path,
                                   std::string token) {
  return gesture_at(relay, t, std::move(path), std::move(token), "listen");
}

task<net::dial_result> sender_at(const relay_process& relay, const tenant& t, std::string path,
                                 std::string token) {
  return gesture_at(relay, t, std::move(path), std::move(token), "connect");
}

// Reads the next accept on `control` and dials its address at `host`.
task<std::pair<proto::accept_message, net::dial_result>> accept_at(const relay_process& relay,
                                                                   std::string host,
                                                                   net::ws_connection& control) {
  auto accept = co_await read_accept(control);
  header_list no_headers;
  auto leg = co_await dial_at(relay, host, accept.address, no_headers);
  co_return std::pair{std::move(accept), std::move(leg)};
}

// A hybrid connection of a tenant, made and read through the tenant's own host and root key.
struct tenant_hc {
  std::string name;
  std::string listen_key, send_key;
  std::string listen_connection_string;  // defaultListener's primaryConnectionString
  std::string listen_token, send_token;
};

task<tenant_hc> make_tenant_hc(const relay_process& relay, const tenant& t, std::string name,
                               std::string endpoint) {
  auto entity = "/namespaces/" + t.name + "/hybridConnections/" + name;
  auto token = t.root_token();
  auto body = R"({"endpoint":")" + endpoint + R"("})";
  auto put = co_await api_at(relay, t.host, "PUT", entity, token, body);
  require(put.status == 201 || put.status == 200,
          "PUT " + entity + " at " + t.host + ": " + std::to_string(put.status) + " " + put.body + put.error);
  tenant_hc out;
  out.name = name;
  auto listen_path = entity + "/authorizationRules/defaultListener/listKeys";
  auto listen = co_await api_at(relay, t.host, "POST", listen_path, token);
  require_eq(listen.status, 200, "listKeys defaultListener at " + t.host + " (" + listen.body + ")");
  auto listen_keys = boost::json::parse(listen.body).as_object();
  out.listen_key = key_of(listen_keys, "primaryKey");
  out.listen_connection_string = key_of(listen_keys, "primaryConnectionString");
  auto send_path = entity + "/authorizationRules/defaultSender/listKeys";
  auto send = co_await api_at(relay, t.host, "POST", send_path, token);
  require_eq(send.status, 200, "listKeys defaultSender at " + t.host + " (" + send.body + ")");
  auto send_keys = boost::json::parse(send.body).as_object();
  out.send_key = key_of(send_keys, "primaryKey");
  out.listen_token = sas(t.host, name, "defaultListener", out.listen_key);
  out.send_token = sas(t.host, name, "defaultSender", out.send_key);
  co_return out;
}

// Sends `text` as one binary message and collects what comes back until as many bytes arrived.
task<std::string> echo_through(net::ws_connection& ws, std::string text) {
  auto ex = co_await asio::this_coro::executor;
  net::deadline watchdog(ex, 10s, [&] { ws.stream().close(); });
  co_await send_frame(ws, opcode::binary, true, text);
  std::string got;
  while (got.size() < text.size()) {
    auto f = co_await read_frame(ws, "the sender");
    if (f.op == opcode::close) {
      auto info = close_of(f);
      throw test_failure("the tunnel closed after " + std::to_string(got.size()) +
                         " bytes came back: " + std::to_string(info.code) + " " + info.reason);
    }
    if (proto::is_control(f.op)) continue;
    got += f.payload;
  }
  co_return got;
}

// ================================================================== A: keys and rules change
class RelayTenancyKeys : public relay_test {};

TEST_F(RelayTenancyKeys, SecondaryKeyRegeneratedListenerSignedWithThePrimaryStays) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "rotate-secondary");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto before = co_await list_keys(relay(), hc.name, "defaultListener");
    auto after = co_await regenerate(relay(), hc.name, "defaultListener", "SecondaryKey");
    EXPECT_EQ(key_of(after, "primaryKey"), hc.listen_key);
    EXPECT_NE(key_of(after, "secondaryKey"), key_of(before, "secondaryKey"));
    // The relay re-checks its listeners before it answers: a Close would already be on its way.
    co_await expect_new_tunnel(relay(), control, hc.name, hc.send_token);
    co_await expect_open(control, "the listener signed with the primary key");
    auto still_one = co_await wait_listener_count(relay(), hc.name, 1);
    EXPECT_TRUE(still_one);
  });
}

TEST_F(RelayTenancyKeys, PrimaryKeyRegeneratedClosesListenersSignedWithItWith1008) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "rotate-primary");
    auto keys = co_await list_keys(relay(), hc.name, "defaultListener");
    auto secondary_token = make_token(relay(), hc.name, "defaultListener", key_of(keys, "secondaryKey"));
    auto root_token = relay().root_token();
    auto by_primary = co_await connect_listener(relay(), hc.name, hc.listen_token, "by-primary");
    auto by_secondary = co_await connect_listener(relay(), hc.name, secondary_token, "by-secondary");
    auto by_root = co_await connect_listener(relay(), hc.name, root_token, "by-root");
    auto fresh = co_await regenerate(relay(), hc.name, "defaultListener", "PrimaryKey");
    EXPECT_NE(key_of(fresh, "primaryKey"), hc.listen_key);
    co_await expect_close(by_primary, 1008, "Authorization revoked",
                          "the listener signed with the old primary");
    auto two_left = co_await wait_listener_count(relay(), hc.name, 2);
    EXPECT_TRUE(two_left) << "the closed listener is still counted";
    co_await expect_open(by_secondary, "the listener signed with the secondary key");
    co_await expect_open(by_root, "the listener with a namespace token");
    co_await expect_new_tunnel(relay(), by_secondary, hc.name, hc.send_token, "by-secondary");
    co_await expect_new_tunnel(relay(), by_root, hc.name, hc.send_token, "by-root");
  });
}

TEST_F(RelayTenancyKeys, RenewTokenSignedWithARegeneratedKeyGetsClose1008) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "renew-old");
    auto keys = co_await list_keys(relay(), hc.name, "defaultListener");
    auto secondary_token = make_token(relay(), hc.name, "defaultListener", key_of(keys, "secondaryKey"));
    auto control = co_await connect_listener(relay(), hc.name, secondary_token);
    auto fresh = co_await regenerate(relay(), hc.name, "defaultListener", "PrimaryKey");
    co_await expect_open(control, "the listener signed with the secondary key");

    // A token signed with the new primary key renews...
    auto new_token = make_token(relay(), hc.name, "defaultListener", key_of(fresh, "primaryKey"));
    auto good_renew = proto::serialize(proto::renew_token_message{new_token});
    co_await send_frame(control, opcode::text, true, good_renew);
    co_await expect_open(control, "after renewing with the new primary key");
    // ...one signed with the key that was just replaced does not.
    auto old_renew = proto::serialize(proto::renew_token_message{hc.listen_token});
    co_await send_frame(control, opcode::text, true, old_renew);
    co_await expect_close(control, 1008, "renewToken refused", "renewing with the old primary key");
    auto none_left = co_await wait_listener_count(relay(), hc.name, 0);
    EXPECT_TRUE(none_left);
  });
}

TEST_F(RelayTenancyKeys, ListenerSignedWithTheNewKeyConnectsAndCarriesTunnels) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "rotate-new");
    auto fresh = co_await regenerate(relay(), hc.name, "defaultListener", "PrimaryKey");
    auto old_key = co_await open_listener(relay(), hc.name, hc.listen_token);
    EXPECT_EQ(old_key.status, 401) << "a listener signed with the replaced key: " << old_key.reason;
    auto new_token = make_token(relay(), hc.name, "defaultListener", key_of(fresh, "primaryKey"));
    auto dialed = co_await open_listener(relay(), hc.name, new_token);
    require_eq(dialed.status, 101,
               "a listener signed with the new key (" + dialed.reason + dialed.error + ")");
    auto& control = *dialed.connection;
    co_await expect_new_tunnel(relay(), control, hc.name, hc.send_token);
    co_await expect_new_tunnel(relay(), control, hc.name, hc.send_token);
  });
}

// A rule change through the API (`method` on the rule defaultListener, `body`): the listener it
// authorized gets 1008, a listener with a namespace token keeps carrying tunnels, and the rule's
// old token is refused with `refused_with` afterwards.
task<> rule_change_closes_its_listeners(const relay_process& relay, std::string name, std::string method,
                                        std::string body, int refused_with) {
  auto hc = co_await make_hc(relay, name);
  auto by_rule = co_await connect_listener(relay, hc.name, hc.listen_token, "by-rule");
  auto by_root = co_await connect_listener(relay, hc.name, relay.root_token(), "by-root");
  auto changed =
      co_await management_call(relay, method, hc.name + "/authorizationRules/defaultListener", body);
  require(changed.status == 200 || changed.status == 204,
          method + " the rule: " + std::to_string(changed.status) + " " + changed.body);
  co_await expect_close(by_rule, 1008, "Authorization revoked",
                        "the listener of the changed rule (" + method + ")");
  co_await expect_open(by_root, "the listener with a namespace token");
  co_await expect_new_tunnel(relay, by_root, hc.name, hc.send_token, "by-root");
  auto again = co_await open_listener(relay, hc.name, hc.listen_token);
  require_eq(again.status, refused_with, "the rule's old token after " + method + " (" + again.reason + ")");
}

TEST_F(RelayTenancyKeys, DeletingTheRuleClosesItsListenersWith1008) {
  run([&]() -> task<> {
    co_await rule_change_closes_its_listeners(relay(), "rule-deleted", "DELETE", "", 401);
  });
}

TEST_F(RelayTenancyKeys, RuleReducedToSendClosesItsListenersWith1008) {
  run([&]() -> task<> {
    co_await rule_change_closes_its_listeners(relay(), "rule-reduced", "PUT", R"({"rights":["Send"]})", 403);
  });
}

TEST_F(RelayTenancyKeys, DeletingTheHybridConnectionClosesItsListenersWith1001) {
  run([&]() -> task<> {
    auto doomed = co_await make_hc(relay(), "doomed");
    auto bystander = co_await make_hc(relay(), "bystander");
    auto root_token = relay().root_token();
    auto by_rule = co_await connect_listener(relay(), doomed.name, doomed.listen_token);
    auto by_root = co_await connect_listener(relay(), doomed.name, root_token);
    auto other = co_await connect_listener(relay(), bystander.name, bystander.listen_token);
    co_await delete_hc(relay(), doomed.name);
    co_await expect_close(by_rule, 1001, "The hybrid connection was deleted", "the rule's listener");
    co_await expect_close(by_root, 1001, "The hybrid connection was deleted",
                          "the namespace token's listener");
    co_await expect_open(other, "the listener of another hybrid connection");
    co_await expect_new_tunnel(relay(), other, bystander.name, bystander.send_token);
  });
}

TEST_F(RelayTenancyKeys, OpenTunnelsOutliveTheRegenerationOfTheirListenersKey) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "tunnel-outlives");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);
    co_await expect_legs_carry(t.sender, t.listener, "before the key changed");
    auto fresh = co_await regenerate(relay(), hc.name, "defaultListener", "PrimaryKey");
    co_await expect_close(control, 1008, "Authorization revoked", "the tunnel's listener");
    co_await expect_legs_carry(t.sender, t.listener, "after the key changed");
    co_await send_close(t.sender, 1000, "done");
    auto at_listener = co_await read_frame(t.listener, "the tunnel's listener leg");
    require(at_listener.op == opcode::close, "the sender's Close reaches the listener leg");
    co_await send_frame(t.listener, opcode::close, true, at_listener.payload);
    auto at_sender = co_await read_frame(t.sender, "the tunnel's sender leg");
    EXPECT_EQ(at_sender.op, opcode::close);
    EXPECT_EQ(close_of(at_sender).code, 1000);
  });
}

// ================================================================== B: a new namespace host
class RelayTenancyNewNamespace : public relay_test {};

TEST_F(RelayTenancyNewNamespace, DevTlsCertificateCoversItsHostAndOpenConnectionsStay) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "before");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);
    auto before = co_await tls_attempt(relay(), second_host);
    EXPECT_TRUE(before.first) << "the dev certificate covered " << second_host
                              << " before the namespace existed";
    before.second.close();

    auto hcctl = "HCRELAY_CONNECTION_STRING=" + quote(relay().root().to_string()) + " " +
                 quote(bin_path("hcctl")) + " --ca-file " + quote(relay().ca_file().string()) + " -o json ";
    auto created = shell(hcctl + "namespace create second --host " + second_host);
    require_eq(created.rc, 0, "hcctl namespace create: " + created.output);
    boost::json::error_code bad_json;
    auto parsed = boost::json::parse(created.output, bad_json);
    require(!bad_json && parsed.is_object(), "hcctl -o json printed no JSON object: " + created.output);
    const auto& view = parsed.as_object();
    EXPECT_EQ(view.if_contains("warning"), nullptr)
        << "--dev-tls covers every namespace host: " << created.output;
    EXPECT_EQ(view.at("host").as_string(), second_host) << created.output;

    auto after = co_await tls_attempt(relay(), second_host);
    EXPECT_FALSE(after.first) << "TLS for " << second_host
                              << " after the namespace was created: " << after.first.message();
    after.second.close();

    // Served at its host: its own root key (read by the relay administrator) manages it there.
    auto keys_path = "/namespaces/second/authorizationRules/" + root_rule + "/listKeys";
    auto admin_token = relay().root_token();
    auto keys = co_await api_at(relay(), relay().host(), "POST", keys_path, admin_token);
    require_eq(keys.status, 200, "listKeys of the new namespace's root rule (" + keys.body + ")");
    auto second_keys = boost::json::parse(keys.body).as_object();
    tenant second{"second", second_host, key_of(second_keys, "primaryKey")};
    auto second_token = second.root_token();
    auto shown = co_await api_at(relay(), second_host, "GET", "/namespaces/second", second_token);
    require_eq(shown.status, 200, "GET the namespace at its own host (" + shown.body + shown.error + ")");
    auto shown_view = boost::json::parse(shown.body).as_object();
    EXPECT_EQ(shown_view.at("name").as_string(), "second");

    // What was open before carries on.
    co_await expect_legs_carry(t.sender, t.listener, "opened before the namespace");
    co_await expect_open(control, "the listener connected before the namespace");
    co_await expect_new_tunnel(relay(), control, hc.name, hc.send_token);
  });
}

TEST_F(RelayTenancyNewNamespace, OperatorCertificateThatDoesNotCoverTheHostGetsAWarningNamingIt) {
  // An operator's certificate: the dev one of the fixture's relay (localhost, 127.0.0.1, ::1).
  auto tls_dir = relay().data_dir() / "tls";
  auto data = dir_.path() / "operator";
  child_process op(bin_path("hcrelay"),
                   {"--data-dir", data.string(), "--listen", "127.0.0.1:0", "--tls-cert",
                    (tls_dir / "server.pem").string(), "--tls-key", (tls_dir / "server.key").string()},
                   dir_.path() / "operator.log");
  ASSERT_TRUE(wait_for_file(data / "root.connection-string", 20s)) << op.log();
  auto root = read_text_file(data / "root.connection-string");
  root.erase(root.find_last_not_of("\r\n") + 1);
  auto hcctl = "HCRELAY_CONNECTION_STRING=" + quote(root) + " " + quote(bin_path("hcctl")) + " --ca-file " +
               quote((tls_dir / "ca.pem").string()) + " ";
  auto covered = shell(hcctl + "namespace create also-local --host localhost.localdomain");
  EXPECT_EQ(covered.rc, 0) << covered.output;
  EXPECT_NE(covered.output.find("warning: the TLS certificate"), std::string::npos)
      << "localhost.localdomain is not in the certificate: " << covered.output;
  EXPECT_NE(covered.output.find("'localhost.localdomain'"), std::string::npos) << covered.output;
  auto json = shell(hcctl + "-o json namespace create second --host " + second_host);
  ASSERT_EQ(json.rc, 0) << json.output;
  auto view = boost::json::parse(json.output).as_object();
  ASSERT_NE(view.if_contains("warning"), nullptr) << json.output;
  EXPECT_NE(std::string(view.at("warning").as_string()).find(second_host), std::string::npos) << json.output;
  EXPECT_NE(op.log().find("does not cover host '" + second_host + "'"), std::string::npos) << op.log();
}

// ================================================================== B: two namespaces at work
struct two_namespaces {
  test_dir dir;
  std::optional<relay_process> relay;
  tenant first, second;
};
two_namespaces* shared = nullptr;

class RelayTenancyNamespaces : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    shared = new two_namespaces;
    shared->relay.emplace(shared->dir.path());
    auto& relay = *shared->relay;
    require_eq(relay.root().key_name, root_rule, "the relay's root rule");
    shared->first = tenant{proto::to_lower(relay.host()), relay.host(), relay.root().key};
    run_bounded(
        []() -> task<> {
          auto& relay = *shared->relay;
          auto admin_token = relay.root_token();
          auto body = R"({"host":")" + second_host + R"("})";
          auto created = co_await api_at(relay, relay.host(), "PUT", "/namespaces/second", admin_token, body);
          require_eq(created.status, 201, "PUT /namespaces/second (" + created.body + ")");
          auto view = boost::json::parse(created.body).as_object();
          require(view.if_contains("warning") == nullptr, "a warning under --dev-tls: " + created.body);
          auto keys_path = "/namespaces/second/authorizationRules/" + root_rule + "/listKeys";
          auto keys = co_await api_at(relay, relay.host(), "POST", keys_path, admin_token);
          require_eq(keys.status, 200, "listKeys of second's root rule (" + keys.body + ")");
          auto key_view = boost::json::parse(keys.body).as_object();
          shared->second = tenant{"second", second_host, key_of(key_view, "primaryKey")};
        },
        20s);
  }
  static void TearDownTestSuite() {
    expect_still_serving(*shared->relay);
    delete shared;
    shared = nullptr;
  }

 protected:
  void TearDown() override {
    ASSERT_TRUE(relay().process().running()) << "hcrelay died; its log:\n" << relay().process().log();
  }
  void run(const std::function<task<>()>& body, std::chrono::steady_clock::duration timeout = 30s) {
    run_bounded(body, timeout);
  }
  static relay_process& relay() { return *shared->relay; }
  static const tenant& first() { return shared->first; }
  static const tenant& second() { return shared->second; }

  test_dir dir_;  // this test's own files (hcm configs and logs)
};

TEST_F(RelayTenancyNamespaces, EachNamespaceCarriesTrafficThroughItsOwnHcm) {
  hcm::tcp_echo_server endpoint_one, endpoint_two;
  auto one = hcm::sync(
      make_tenant_hc(relay(), first(), "traffic", "localhost:" + std::to_string(endpoint_one.port())));
  auto two = hcm::sync(
      make_tenant_hc(relay(), second(), "traffic", "localhost:" + std::to_string(endpoint_two.port())));
  EXPECT_NE(two.listen_connection_string.find("Endpoint=sb://" + second_host + ":"), std::string::npos)
      << two.listen_connection_string;

  hcm::hcm_instance hcm_one(dir_.path() / "hcm-one", relay().ca_file(), {{"HCM_REFRESH_SECONDS", "1"}});
  // Nothing resolves second.hcrelay.test: the project's resolver shim points it at the relay.
  // Under a sanitizer build the shim is preloaded ahead of the ASan runtime: allow that order.
  const char* asan = std::getenv("ASAN_OPTIONS");
  auto asan_options = std::string(asan ? asan : "") + (asan && *asan ? ":" : "") + "verify_asan_link_order=0";
  hcm::hcm_instance hcm_two(dir_.path() / "hcm-two", relay().ca_file(),
                            {{"HCM_REFRESH_SECONDS", "1"},
                             {"LD_PRELOAD", bin_path("libhcintercept.so")},
                             {"HCCONNECT_HOSTS", second_host + "=127.0.0.1"},
                             {"ASAN_OPTIONS", asan_options}});
  auto added_one = hcm_one.cli("add " + quote(one.listen_connection_string));
  ASSERT_EQ(added_one.rc, 0) << added_one.output;
  auto added_two = hcm_two.cli("add " + quote(two.listen_connection_string));
  ASSERT_EQ(added_two.rc, 0) << added_two.output;
  hcm_one.start();
  hcm_two.start();
  ASSERT_TRUE(hcm_one.wait_status("localhost", "traffic", "Connected")) << hcm_one.log();
  ASSERT_TRUE(hcm_two.wait_status("second", "traffic", "Connected")) << hcm_two.log();

  run([&]() -> task<> {
    auto to_one = co_await sender_at(relay(), first(), "traffic", one.send_token);
    require(to_one.connection.has_value(),
            "sender in namespace one: " + std::to_string(to_one.status) + " " + to_one.reason + to_one.error);
    auto back_one = co_await echo_through(*to_one.connection, "to the endpoint of namespace one");
    EXPECT_EQ(back_one, "to the endpoint of namespace one");
    auto to_two = co_await sender_at(relay(), second(), "traffic", two.send_token);
    require(to_two.connection.has_value(),
            "sender in namespace two: " + std::to_string(to_two.status) + " " + to_two.reason + to_two.error);
    auto back_two = co_await echo_through(*to_two.connection, "to the endpoint of namespace two");
    EXPECT_EQ(back_two, "to the endpoint of namespace two");
  });
  EXPECT_EQ(endpoint_one.accepted(), 1) << "namespace one's tunnel reached its own endpoint";
  EXPECT_EQ(endpoint_two.accepted(), 1) << "namespace two's tunnel reached its own endpoint";
}

TEST_F(RelayTenancyNamespaces, AcceptAddressesNameTheHostTheSenderUsed) {
  run([&]() -> task<> {
    const std::vector<const tenant*> tenants{&first(), &second()};
    for (const tenant* t : tenants) {
      auto hc = co_await make_tenant_hc(relay(), *t, "accepts", "localhost:9");
      auto dialed = co_await listener_at(relay(), *t, hc.name, hc.listen_token);
      require(dialed.connection.has_value(), "listener at " + t->host + ": " + dialed.reason + dialed.error);
      auto& control = *dialed.connection;
      auto legs =
          co_await both(sender_at(relay(), *t, hc.name, hc.send_token), accept_at(relay(), t->host, control));
      auto& sender = std::get<0>(legs);
      auto& accept = std::get<1>(legs).first;
      auto& listener = std::get<1>(legs).second;
      auto prefix = "wss://" + t->host + ":" + std::to_string(relay().port()) + "/$hc/accepts?";
      EXPECT_TRUE(accept.address.starts_with(prefix)) << accept.address << " should start with " << prefix;
      require(sender.connection.has_value(), "sender at " + t->host + ": " + sender.reason + sender.error);
      require(listener.connection.has_value(),
              "accept at " + t->host + ": " + listener.reason + listener.error);
      auto text = "through " + t->host;
      co_await expect_legs_carry(*sender.connection, *listener.connection, text);
    }
  });
}

TEST_F(RelayTenancyNamespaces, SendTokensDoNotCrossNamespaces) {
  run([&]() -> task<> {
    auto one = co_await make_tenant_hc(relay(), first(), "orders", "localhost:9");
    auto two = co_await make_tenant_hc(relay(), second(), "orders", "localhost:9");
    struct attempt {
      const tenant* at;
      std::string token;
      std::string what;
      int want;  // 401 refused; 404 "no listeners": the token itself was accepted
    };
    std::vector<attempt> attempts;
    attempts.push_back({&second(), one.send_token, "namespace one's Send token as issued", 401});
    attempts.push_back({&second(), sas(second_host, "orders", "defaultSender", one.send_key),
                        "a token for namespace two signed with namespace one's Send key", 401});
    attempts.push_back({&second(), sas(second_host, "orders", root_rule, first().root_key),
                        "a token for namespace two signed with namespace one's root key", 401});
    attempts.push_back({&second(), two.send_token, "namespace two's own Send token", 404});
    attempts.push_back({&first(), two.send_token, "namespace two's Send token as issued", 401});
    attempts.push_back({&first(), sas(first().host, "orders", "defaultSender", two.send_key),
                        "a token for namespace one signed with namespace two's Send key", 401});
    attempts.push_back({&first(), sas(first().host, "orders", root_rule, second().root_key),
                        "a token for namespace one signed with namespace two's root key", 401});
    attempts.push_back({&first(), one.send_token, "namespace one's own Send token", 404});
    for (const auto& a : attempts) {
      auto r = co_await sender_at(relay(), *a.at, "orders", a.token);
      EXPECT_EQ(r.status, a.want) << a.what << " at " << a.at->host << ": " << r.reason << r.error;
      EXPECT_FALSE(r.connection.has_value()) << a.what;
    }
  });
}

TEST_F(RelayTenancyNamespaces, UnknownHostGets404WithoutTheHostsTheRelayServes) {
  run([&]() -> task<> {
    const std::string host = "unknown.hcrelay.test:" + std::to_string(relay().port());
    const std::vector<std::string> requests{
        "GET /$hc/orders?sb-hc-action=connect HTTP/1.1\r\nHost: " + host +
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n",
        "GET /api/v1/namespaces HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"};
    for (const auto& request : requests) {
      auto r = co_await raw::exchange(relay(), request);
      auto first_line = request.substr(0, request.find('\r'));
      EXPECT_EQ(r.status, 404) << first_line << ": " << r.reason << r.error;
      std::string text = r.reason + "\n" + r.body;
      for (const auto& [k, v] : r.headers) text += "\n" + k + ": " + v;
      EXPECT_FALSE(r.body.empty()) << first_line;
      EXPECT_EQ(text.find("localhost"), std::string::npos) << first_line << " names a served host:\n" << text;
      EXPECT_EQ(text.find(second_host), std::string::npos) << first_line << " names a served host:\n" << text;
    }
  });
}

}  // namespace
}  // namespace hc::test
