// Unit tests for proto/hc_address: request targets, sb-hc-* splitting, the URLs the relay and
// clients build, and ws:// / wss:// URL parsing.
#include "proto/hc_address.hpp"

#include <gtest/gtest.h>

namespace hc::proto {
namespace {

TEST(ProtoHcAddress, ParsesASenderConnectWithAppQuery) {
  auto t = parse_hc_target(
      "/$hc/name/suffix?a=1&sb-hc-action=listen&sb-hc-id=x&sb-hc-token=SharedAccessSignature%20"
      "sr%3Dabc%26sig%3Dd%252B&b=2%203");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_TRUE(t->websocket_path);
  EXPECT_EQ(t->path, "name/suffix");
  EXPECT_EQ(t->raw_path, "name/suffix");
  EXPECT_EQ(t->action, hc_action::listen);
  EXPECT_EQ(t->id, "x");
  EXPECT_EQ(t->token, "SharedAccessSignature sr=abc&sig=d%2B");
  EXPECT_EQ(t->app_query, "a=1&b=2%203");  // raw, in order
  EXPECT_EQ(t->reject_status, 0);
}

TEST(ProtoHcAddress, DefaultsAndPrefixCase) {
  auto t = parse_hc_target("/$hc/hyco?SB-HC-Token=tok&Sb-Hc-Id=i%2B1&SB-HC-ACTION=Connect");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->action, hc_action::connect);
  EXPECT_EQ(t->token, "tok");
  EXPECT_EQ(t->id, "i+1");
  EXPECT_EQ(t->app_query, "");
  auto bare = parse_hc_target("/$hc/hyco");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->action, hc_action::connect);
  EXPECT_TRUE(bare->id.empty());
}

TEST(ProtoHcAddress, HttpPathWithoutHc) {
  auto t = parse_hc_target("/hyco/api/items?x=1&sb-hc-token=t&y");
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->websocket_path);
  EXPECT_EQ(t->path, "hyco/api/items");
  EXPECT_EQ(t->token, "t");
  EXPECT_EQ(t->app_query, "x=1&y");
}

TEST(ProtoHcAddress, PathIsDecodedAndRawKept) {
  auto t = parse_hc_target("/$hc/my%20hc/a%2Fb?sb-hc-action=request");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "my hc/a/b");
  EXPECT_EQ(t->raw_path, "my%20hc/a%2Fb");
  EXPECT_EQ(t->action, hc_action::request);
}

TEST(ProtoHcAddress, AcceptWithRendezvousAndRejects) {
  auto a = parse_hc_target("/$hc/hyco?sb-hc-action=accept&sb-hc-id=abc_G0&sb-hc-rendezvous=k%2Fey");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->action, hc_action::accept);
  EXPECT_EQ(a->rendezvous, "k/ey");
  EXPECT_EQ(a->reject_status, 0);

  auto dotnet = parse_hc_target(
      "/$hc/hyco?sb-hc-action=accept&sb-hc-id=i&sb-hc-rendezvous=k"
      "&sb-hc-statusCode=401&sb-hc-statusDescription=Status+Description+from+test");
  ASSERT_TRUE(dotnet) << dotnet.error().message;
  EXPECT_EQ(dotnet->reject_status, 401);
  EXPECT_EQ(dotnet->reject_description, "Status Description from test");

  auto node =
      parse_hc_target("/$hc/hyco?sb-hc-action=accept&sb-hc-id=i&statusCode=403&statusDescription=No%20way");
  ASSERT_TRUE(node) << node.error().message;
  EXPECT_EQ(node->reject_status, 403);
  EXPECT_EQ(node->reject_description, "No way");

  auto both = parse_hc_target(
      "/$hc/hyco?statusCode=403&statusDescription=node&sb-hc-action=accept"
      "&sb-hc-statusCode=400&sb-hc-statusDescription=dotnet");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->reject_status, 400);
  EXPECT_EQ(both->reject_description, "dotnet");

  // On a connect, a bare statusCode is the application's own parameter.
  auto app = parse_hc_target("/$hc/hyco?statusCode=abc&sb-hc-action=connect");
  ASSERT_TRUE(app);
  EXPECT_EQ(app->reject_status, 0);
  EXPECT_EQ(app->app_query, "statusCode=abc");
}

TEST(ProtoHcAddress, Errors) {
  for (std::string_view bad :
       {"", "hyco", "/", "/$hc/", "/$hc", "/$hc/?sb-hc-action=listen", "/$hc/a%zz", "/$hc/a/../b", "/$hc/..",
        "/$hc/a/%2E%2E/b", "/$hc/a%0Ab", "/$hc/hyco?sb-hc-action=dance",
        "/$hc/hyco?sb-hc-action=", "/$hc/hyco?sb-hc-action=accept&sb-hc-statusCode=abc",
        "/$hc/hyco?sb-hc-action=accept&sb-hc-statusCode=99",
        "/$hc/hyco?sb-hc-action=accept&sb-hc-statusCode=600", "/$hc/hyco?sb-hc-action=accept&statusCode=1000",
        "/$hc/hyco?sb-hc-id=%zz"}) {
    auto t = parse_hc_target(bad);
    ASSERT_FALSE(t) << bad;
    EXPECT_EQ(t.error().status, 400) << bad;
    EXPECT_FALSE(t.error().message.empty());
  }
  auto action = parse_hc_target("/$hc/hyco?sb-hc-action=dance");
  EXPECT_NE(action.error().message.find("sb-hc-action"), std::string::npos);
  EXPECT_NE(action.error().message.find("dance"), std::string::npos);
}

TEST(ProtoHcAddress, SegmentPrefix) {
  EXPECT_TRUE(is_segment_prefix("hyco", "hyco"));
  EXPECT_TRUE(is_segment_prefix("hyco", "hyco/suffix"));
  EXPECT_TRUE(is_segment_prefix("HYCO", "hyco/Suffix"));
  EXPECT_TRUE(is_segment_prefix("a/b", "a/b/c"));
  EXPECT_TRUE(is_segment_prefix("hyco/", "hyco/x"));
  EXPECT_FALSE(is_segment_prefix("hy", "hyco"));
  EXPECT_FALSE(is_segment_prefix("hyco", "hycox"));
  EXPECT_FALSE(is_segment_prefix("hyco/x", "hyco"));
  EXPECT_FALSE(is_segment_prefix("", "hyco"));
  EXPECT_TRUE(is_segment_prefix("", ""));
}

TEST(ProtoHcAddress, BuildAcceptAddress) {
  EXPECT_EQ(build_rendezvous_address("relay.example", 443, "name/suffix", "a=1&b=2", hc_action::accept,
                                     "id 1/x", "k+y="),
            "wss://relay.example:443/$hc/name/suffix?a=1&b=2&sb-hc-action=accept&sb-hc-id=id%201%2Fx"
            "&sb-hc-rendezvous=k%2By%3D");
  EXPECT_EQ(build_rendezvous_address("relay.example", 8443, "hyco", "", hc_action::accept, "i", "k"),
            "wss://relay.example:8443/$hc/hyco?sb-hc-action=accept&sb-hc-id=i&sb-hc-rendezvous=k");
  EXPECT_EQ(build_rendezvous_address("::1", 9000, "hyco", "", hc_action::accept, "i", "k"),
            "wss://[::1]:9000/$hc/hyco?sb-hc-action=accept&sb-hc-id=i&sb-hc-rendezvous=k");
}

TEST(ProtoHcAddress, AcceptAddressRoundTripsThroughParse) {
  const std::string address = build_rendezvous_address("relay.example", 443, "my%20hc/sfx", "q=1",
                                                       hc_action::accept, "abc_G0", "r/k");
  auto url = parse_ws_url(address);
  ASSERT_TRUE(url);
  auto t = parse_hc_target(url->target);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->action, hc_action::accept);
  EXPECT_EQ(t->path, "my hc/sfx");
  EXPECT_EQ(t->raw_path, "my%20hc/sfx");
  EXPECT_EQ(t->id, "abc_G0");
  EXPECT_EQ(t->rendezvous, "r/k");
  EXPECT_EQ(t->app_query, "q=1");

  const std::string reject = build_reject_url(address, 401, "Status Description from test");
  EXPECT_EQ(reject,
            address + "&sb-hc-statusCode=401&sb-hc-statusDescription=Status%20Description%20from%20test");
  auto r = parse_hc_target(parse_ws_url(reject)->target);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reject_status, 401);
  EXPECT_EQ(r->reject_description, "Status Description from test");
}

TEST(ProtoHcAddress, ListenAndConnectUrls) {
  EXPECT_EQ(build_listen_url("ns.example", 443, "hyco"), "wss://ns.example/$hc/hyco?sb-hc-action=listen");
  EXPECT_EQ(build_listen_url("ns.example", 8443, "a b/c", "g-1"),
            "wss://ns.example:8443/$hc/a%20b/c?sb-hc-action=listen&sb-hc-id=g-1");
  EXPECT_EQ(build_connect_url("ns.example", 443, "hyco", "x y"),
            "wss://ns.example/$hc/hyco?sb-hc-action=connect&sb-hc-id=x%20y");
  EXPECT_EQ(build_reject_url("wss://h/$hc/x", 400, "Rejected by user code"),
            "wss://h/$hc/x?sb-hc-statusCode=400&sb-hc-statusDescription=Rejected%20by%20user%20code");
  EXPECT_EQ(to_string(hc_action::listen), "listen");
  EXPECT_EQ(to_string(hc_action::request), "request");
}

TEST(ProtoHcAddress, ParseWsUrl) {
  auto a = parse_ws_url("wss://relay.example:8443/$hc/hyco?sb-hc-action=listen");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->host, "relay.example");
  EXPECT_EQ(a->port, 8443);
  EXPECT_EQ(a->target, "/$hc/hyco?sb-hc-action=listen");

  auto b = parse_ws_url("ws://localhost/x");
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->tls);
  EXPECT_EQ(b->port, 80);
  EXPECT_EQ(b->target, "/x");

  auto c = parse_ws_url("WSS://h.example");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 443);
  EXPECT_EQ(c->target, "/");

  auto d = parse_ws_url("wss://[::1]:9443/$hc/a?b=1#frag");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->host, "::1");
  EXPECT_EQ(d->port, 9443);
  EXPECT_EQ(d->target, "/$hc/a?b=1");

  auto e = parse_ws_url("wss://[::1]/p");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port, 443);

  auto f = parse_ws_url("wss://h?x=1");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->target, "/?x=1");
}

TEST(ProtoHcAddress, ParseWsUrlErrors) {
  for (std::string_view bad :
       {"", "https://h/", "wss://", "wss:///path", "wss://h:0/", "wss://h:65536/", "wss://h:/", "wss://h:x/",
        "wss://[::1/", "wss://[::1]x/", "wss://u:p@h/", "wss://h/a b", "ws://[::1]:/"}) {
    auto u = parse_ws_url(bad);
    ASSERT_FALSE(u) << bad;
    EXPECT_EQ(u.error().status, 400);
    EXPECT_NE(u.error().message.find("wss://"), std::string::npos);
  }
}

}  // namespace
TEST(ProtoHcAddress, IdIsShortPrintableAscii) {
  auto at_limit = parse_hc_target("/$hc/h?sb-hc-id=" + std::string(max_hc_id_bytes, 'i'));
  ASSERT_TRUE(at_limit) << at_limit.error().message;
  EXPECT_EQ(at_limit->id.size(), max_hc_id_bytes);
  auto over = parse_hc_target("/$hc/h?sb-hc-id=" + std::string(max_hc_id_bytes + 1, 'i'));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().status, 400);
  EXPECT_NE(over.error().message.find("at most 128"), std::string::npos) << over.error().message;
  for (std::string bad : {"a%01b", "a%1Bb", "a%7Fb", "caf%C3%A9"}) {
    auto t = parse_hc_target("/$hc/h?sb-hc-id=" + bad);
    EXPECT_FALSE(t) << bad;
  }
  auto spaced = parse_hc_target("/$hc/h?sb-hc-id=a+b%20c");
  ASSERT_TRUE(spaced);
  EXPECT_EQ(spaced->id, "a b c");
}

}  // namespace hc::proto
