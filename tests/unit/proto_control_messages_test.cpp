// Unit tests for proto/control_messages: accept, request, response and renewToken JSON, unknown commands, and
// the bounds (size, depth, shape) that keep hostile listener input an error value.
#include "proto/control_messages.hpp"

#include <gtest/gtest.h>

namespace hc::proto {
namespace {

accept_message sample_accept() {
  accept_message m;
  m.address = "wss://relay.example:443/$hc/hyco?sb-hc-action=accept&sb-hc-id=abc&sb-hc-rendezvous=k";
  m.id = "abc";
  m.connect_headers = {{"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                       {"Sec-WebSocket-Version", "13"},
                       {"X-App", "a;b-c/d.e \"quoted\""},
                       {"Host", "relay.example"}};
  m.remote = remote_endpoint{"10.0.0.1", 1234};
  return m;
}

TEST(ProtoControlMessages, SerializeAcceptExactShape) {
  EXPECT_EQ(
      serialize(sample_accept()),
      R"({"accept":{"address":"wss://relay.example:443/$hc/hyco?sb-hc-action=accept&sb-hc-id=abc&sb-hc-rendezvous=k",)"
      R"("id":"abc","connectHeaders":{"Sec-WebSocket-Key":"dGhlIHNhbXBsZSBub25jZQ==","Sec-WebSocket-Version":"13",)"
      R"("X-App":"a;b-c/d.e \"quoted\"","Host":"relay.example"},)"
      R"("remoteEndpoint":{"address":"10.0.0.1","port":1234}}})");
}

TEST(ProtoControlMessages, SerializeAcceptWithoutRemoteEndpoint) {
  accept_message m;
  m.address = "wss://h/x";
  m.id = "i";
  EXPECT_EQ(serialize(m), R"({"accept":{"address":"wss://h/x","id":"i","connectHeaders":{}}})");
}

TEST(ProtoControlMessages, SerializeJoinsRepeatedHeaders) {
  accept_message m;
  m.connect_headers = {{"X-A", "1"}, {"x-a", "2"}, {"X-B", "3"}};
  const auto parsed = parse_relay_command(serialize(m));
  ASSERT_TRUE(parsed);
  const auto& back = std::get<accept_message>(*parsed);
  ASSERT_EQ(back.connect_headers.size(), 2u);
  EXPECT_EQ(back.connect_headers[0], (std::pair<std::string, std::string>{"X-A", "1, 2"}));
}

TEST(ProtoControlMessages, AcceptRoundTrips) {
  const accept_message m = sample_accept();
  auto parsed = parse_relay_command(serialize(m));
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_TRUE(std::holds_alternative<accept_message>(*parsed));
  const auto& back = std::get<accept_message>(*parsed);
  EXPECT_EQ(back.address, m.address);
  EXPECT_EQ(back.id, m.id);
  EXPECT_EQ(back.connect_headers, m.connect_headers);  // document order and spelling kept
  ASSERT_TRUE(back.remote);
  EXPECT_EQ(back.remote->address, "10.0.0.1");
  EXPECT_EQ(back.remote->port, 1234);
}

TEST(ProtoControlMessages, ParseRelayCommandLenientParts) {
  auto no_headers = parse_relay_command(R"({"accept":{"address":"a","id":"i","remoteEndpoint":null}})");
  ASSERT_TRUE(no_headers) << no_headers.error().message;
  EXPECT_FALSE(std::get<accept_message>(*no_headers).remote);
  auto other = parse_relay_command(R"({"somethingNew":{"id":"i"}})");
  ASSERT_TRUE(other);
  EXPECT_EQ(std::get<unknown_command>(*other).name, "somethingNew");
}

TEST(ProtoControlMessages, ParseRelayCommandErrors) {
  for (std::string_view bad : {
           R"({"accept":[]})",
           R"({"accept":{"id":"i"}})",
           R"({"accept":{"address":5,"id":"i"}})",
           R"({"accept":{"address":"a"}})",
           R"({"accept":{"address":"a","id":"i","connectHeaders":[]}})",
           R"({"accept":{"address":"a","id":"i","connectHeaders":{"X":1}}})",
           R"({"accept":{"address":"a","id":"i","remoteEndpoint":"1.2.3.4"}})",
           R"({"accept":{"address":"a","id":"i","remoteEndpoint":{"address":"x","port":70000}}})",
           R"({"accept":{"address":"a","id":"i","remoteEndpoint":{"address":"x","port":"80"}}})",
           R"({"accept":{"address":"a","id":"i","remoteEndpoint":{"address":"x","port":-1}}})",
       }) {
    auto r = parse_relay_command(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().status, 400) << bad;
    EXPECT_NE(r.error().message.find("accept"), std::string::npos) << r.error().message;
  }
}

TEST(ProtoControlMessages, RenewTokenRoundTrips) {
  const renew_token_message m{"SharedAccessSignature sr=a&sig=b%2B&se=1&skn=k"};
  const std::string json = serialize(m);
  EXPECT_EQ(json, R"({"renewToken":{"token":"SharedAccessSignature sr=a&sig=b%2B&se=1&skn=k"}})");
  auto parsed = parse_listener_command(json);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(std::get<renew_token_message>(*parsed).token, m.token);
}

TEST(ProtoControlMessages, UnknownListenerCommandsKeepTheirName) {
  for (auto [json, name] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {R"({"request":{"id":"1"}})", "request"},
           {R"({"ping":{}})", "ping"},
           {R"({"future":42})", "future"},
       }) {
    auto parsed = parse_listener_command(json);
    ASSERT_TRUE(parsed) << json;
    ASSERT_TRUE(std::holds_alternative<unknown_command>(*parsed));
    EXPECT_EQ(std::get<unknown_command>(*parsed).name, name);
  }
}

TEST(ProtoControlMessages, ListenerCommandErrorsAre400AndDoNotEchoTokens) {
  for (std::string_view bad : {
           "",
           "not json",
           R"({"renewToken":{"token":"SharedAccessSignature sr=a&sig=SECRETSIG)",  // truncated
           "[]",
           R"("renewToken")",
           "42",
           "null",
           "{}",
           R"({"renewToken":"SharedAccessSignature sr=a&sig=SECRETSIG"})",
           R"({"renewToken":{}})",
           R"({"renewToken":{"token":7}})",
           R"({"renewToken":{"token":""}})",
           R"({"renewToken":{"token":null}})",
       }) {
    auto r = parse_listener_command(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().status, 400) << bad;
    EXPECT_EQ(r.error().code, errc::bad_request);
    EXPECT_EQ(r.error().message.find("SECRETSIG"), std::string::npos) << r.error().message;
  }
  EXPECT_NE(parse_listener_command(R"({"renewToken":{"token":7}})").error().message.find("renewToken.token"),
            std::string::npos);
}

TEST(ProtoControlMessages, OversizeIs413) {
  const std::string big =
      R"({"renewToken":{"token":")" + std::string(max_control_message_bytes, 'a') + R"("}})";
  auto r = parse_listener_command(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 413);
  EXPECT_EQ(r.error().code, errc::too_large);
  EXPECT_FALSE(parse_relay_command(big));
}

TEST(ProtoControlMessages, DeepNestingIsAnErrorNotACrash) {
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  auto r = parse_listener_command(deep);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 400);
  const std::string deep_obj = R"({"renewToken":)" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_FALSE(parse_listener_command(deep_obj));
  // Depth within the bound is fine for an unknown command.
  const std::string ok = R"({"x":)" + std::string(20, '[') + std::string(20, ']') + "}";
  EXPECT_TRUE(parse_listener_command(ok));
}

// HTTP mode as Azure sends it to any listener (protocol doc §6.2): hcm answers it (501).
TEST(ProtoControlMessages, RequestIsParsedWithWhatAListenerNeedsToAnswerIt) {
  auto parsed = parse_relay_command(
      R"({"request":{"address":"wss://g1.example/$hc/x?sb-hc-action=request&sb-hc-id=1","id":"42",)"
      R"("requestTarget":"/x/status?a=1","method":"GET","remoteEndpoint":{"address":"10.0.0.1","port":5},)"
      R"("requestHeaders":{"Accept":"*/*"},"body":true}})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  auto* request = std::get_if<request_message>(&*parsed);
  ASSERT_NE(request, nullptr);
  EXPECT_EQ(request->id, "42");
  EXPECT_EQ(request->method, "GET");
  EXPECT_EQ(request->target, "/x/status?a=1");
  EXPECT_TRUE(request->body);
  auto small = parse_relay_command(R"({"request":{"id":"43"}})");
  ASSERT_TRUE(small) << small.error().message;
  EXPECT_FALSE(std::get<request_message>(*small).body);
  auto no_id = parse_relay_command(R"({"request":{"method":"GET"}})");
  ASSERT_FALSE(no_id);
  EXPECT_NE(no_id.error().message.find("request.id"), std::string::npos) << no_id.error().message;
}

TEST(ProtoControlMessages, ResponseSerializesAsTheSdksSendIt) {
  response_message r{"42", 501, "Not Implemented", {{"Content-Type", "text/plain"}}, false};
  EXPECT_EQ(serialize(r),
            R"({"response":{"requestId":"42","statusCode":501,"statusDescription":"Not Implemented",)"
            R"("responseHeaders":{"Content-Type":"text/plain"},"body":false}})");
}

// The relay's side of HTTP mode (protocol doc §6.2): a whole request, and address and id only
// (no method, no body: both SDKs take that absence as "fetch it over the rendezvous").
TEST(ProtoControlMessages, RequestSerializesWholeOrAsAddressAndIdOnly) {
  request_message m;
  m.id = "r1";
  m.address = "wss://relay.example:443/$hc/web?sb-hc-action=request&sb-hc-id=r1&sb-hc-rendezvous=k";
  m.method = "POST";
  m.target = "/web/upload?x=1";
  m.remote = remote_endpoint{"10.0.0.2", 40000};
  m.headers = {{"Content-Type", "text/plain"}, {"X-Name", "caf\xe9"}, {"x-name", "two"}};
  m.body = true;
  EXPECT_EQ(
      serialize(m),
      R"({"request":{"address":"wss://relay.example:443/$hc/web?sb-hc-action=request&sb-hc-id=r1&sb-hc-rendezvous=k",)"
      R"("id":"r1","requestTarget":"/web/upload?x=1","method":"POST","remoteEndpoint":{"address":"10.0.0.2",)"
      R"("port":40000},"requestHeaders":{"Content-Type":"text/plain","X-Name":"café, two"},"body":true}})");
  m.method.clear();
  EXPECT_EQ(
      serialize(m),
      R"({"request":{"address":"wss://relay.example:443/$hc/web?sb-hc-action=request&sb-hc-id=r1&sb-hc-rendezvous=k",)"
      R"("id":"r1"}})");
}

// What listeners send back: statusCode as a number (the SDKs) or digits in a string (the
// protocol's sample); header values Node kept as numbers; a missing body means none.
TEST(ProtoControlMessages, ResponseParsesAsListenersSendIt) {
  auto parsed = parse_listener_command(
      R"({"response":{"requestId":"r1","statusCode":"201","statusDescription":"Created",)"
      R"("responseHeaders":{"Content-Type":"text/plain","Content-Length":5,"X-Flag":true},"body":true}})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  auto& r = std::get<response_message>(*parsed);
  EXPECT_EQ(r.request_id, "r1");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.description, "Created");
  EXPECT_EQ(r.headers,
            (header_list{{"Content-Type", "text/plain"}, {"Content-Length", "5"}, {"X-Flag", "true"}}));
  EXPECT_TRUE(r.body);
  auto bare = parse_listener_command(R"({"response":{"requestId":"r2","statusCode":404}})");
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_EQ(std::get<response_message>(*bare).status, 404);
  EXPECT_FALSE(std::get<response_message>(*bare).body);
  EXPECT_TRUE(std::get<response_message>(*bare).headers.empty());
}

TEST(ProtoControlMessages, BadResponsesAre400NamingTheField) {
  struct bad {
    const char* json;
    const char* names;
  };
  for (auto [json, names] :
       {bad{R"({"response":{"statusCode":200}})", "response.requestId"},
        bad{R"({"response":{"requestId":"r","statusCode":99}})", "response.statusCode"},
        bad{R"({"response":{"requestId":"r","statusCode":1000}})", "response.statusCode"},
        bad{R"({"response":{"requestId":"r","statusCode":"20x"}})", "response.statusCode"},
        bad{R"({"response":{"requestId":"r","statusCode":-200}})", "response.statusCode"},
        bad{R"({"response":{"requestId":"r","statusCode":200.5}})", "response.statusCode"},
        bad{R"({"response":{"requestId":"r"}})", "response.statusCode"},
        bad{R"({"response":{"requestId":"r","statusCode":200,"responseHeaders":[]}})",
            "response.responseHeaders"},
        bad{R"({"response":{"requestId":"r","statusCode":200,"responseHeaders":{"A":{}}}})",
            "response.responseHeaders.A"},
        bad{R"({"response":{"requestId":"r","statusCode":200,"body":"yes"}})", "response.body"},
        bad{R"({"response":"x"})", "response"}}) {
    auto parsed = parse_listener_command(json);
    ASSERT_FALSE(parsed) << json;
    EXPECT_EQ(parsed.error().status, 400) << json;
    EXPECT_NE(parsed.error().message.find(names), std::string::npos)
        << json << ": " << parsed.error().message;
  }
}

}  // namespace
}  // namespace hc::proto
