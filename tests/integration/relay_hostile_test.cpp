// tests/integration/relay_hostile_test: the hostile-input catalog. Every case sends a
// live hcrelay (real TLS, raw bytes from raw_client.hpp) something a broken or malicious client
// would send, checks the exact status or close code, and then checks that the relay still serves
// a good client: a listener handshake after every case, and a full echo through a tunnel when
// each suite ends. Categories: malformed or oversized upgrade requests, SAS tokens, frames on a
// tunnel, frames and JSON on the control channel, accept addresses, a slow head (slowloris) and
// a flood of failing handshakes from one source (per-source limits, relay/source_limits).
//
// Text frames on a tunnel: the relay does NOT check the UTF-8 of forwarded text frames. The protocol relays
// messages end to end untouched and the endpoints own them (a tunnel carries opaque bytes for
// hcm in binary frames anyway). What the relay itself must read is checked: frame headers,
// fragmentation order and Close payloads (code and UTF-8 reason, RFC 6455 §7.4 and §8.1); a
// violation gets Close 1002 on that leg and 1001 on the other. On a listener's control channel the
// relay is the endpoint of every text message: one that is not UTF-8 gets 1007 (RFC 6455 §8.1).
//
// Not repeated here: one-shot accept addresses (RelayGestures.AcceptAddressWorksOnlyOnce) and
// their 30 s expiry (RelayGestures.AcceptAddressExpiresAndSenderGets504).
#include "harness.hpp"
#include "net/clock.hpp"
#include "raw_client.hpp"

#include "proto/encoding.hpp"
#include "proto/sas.hpp"

#include <boost/asio/this_coro.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>

namespace hc::test {
namespace {

// A token with every field under the test's control; `raw_sr` is used (and signed) as given.
std::string sas(std::string_view raw_sr, std::string_view skn, std::string_view key, std::int64_t se) {
  auto sig = proto::sas_key(key).sign(raw_sr, se);
  return "SharedAccessSignature sr=" + std::string(raw_sr) + "&sig=" + proto::percent_encode(sig) +
         "&se=" + std::to_string(se) + "&skn=" + std::string(skn);
}

std::string sr_for(std::string_view uri) {
  return proto::percent_encode(uri);
}

std::string auth_header(std::string_view token) {
  return "ServiceBusAuthorization: " + std::string(token) + "\r\n";
}

// ------------------------------------------------------------------ the shared relay
// One relay per suite (starting one per case would cost more than the cases): the cases below
// are independent of each other; the relay's health is checked after every one.
struct shared_relay {
  test_dir dir;
  std::optional<relay_process> relay;
  hc_fixture hc;  // "hostile": the target of most cases
};
shared_relay* shared = nullptr;

class RelayHostile : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    shared = new shared_relay;
    shared->relay.emplace(shared->dir.path());
    run_bounded([]() -> task<> { shared->hc = co_await make_hc(*shared->relay, "hostile"); }, 20s);
  }
  static void TearDownTestSuite() {
    expect_still_serving(*shared->relay);
    delete shared;
    shared = nullptr;
  }

 protected:
  // After every case: the relay is alive and a good listener still gets its 101.
  void TearDown() override {
    ASSERT_TRUE(relay().process().running()) << "hcrelay died; its log:\n" << relay().process().log();
    run([&]() -> task<> {
      auto good = co_await raw::exchange(
          relay(), raw::upgrade(relay(), raw::listen_target(hc().name), auth_header(hc().listen_token)));
      require_eq(good.status, 101, "a good listener after the case (" + good.reason + good.error + ")");
    });
  }
  void run(const std::function<task<>()>& body, std::chrono::steady_clock::duration timeout = 30s) {
    run_bounded(body, timeout);
  }
  static relay_process& relay() { return *shared->relay; }
  static const hc_fixture& hc() { return shared->hc; }
};

// ------------------------------------------------------------------ requests and tokens
struct request_case {
  std::string name;
  std::function<std::string(const relay_process&, const hc_fixture&)> request;
  int status;
  std::string says;  // a piece of the reason phrase or body ("" = not checked)
};

void PrintTo(const request_case& c, std::ostream* os) {
  *os << c.name;
}

std::string listen_with(const relay_process& r, const hc_fixture& h, std::string_view token) {
  return raw::upgrade(r, raw::listen_target(h.name), auth_header(token));
}

std::string listen_token_for(const relay_process& r, const hc_fixture& h, std::string_view uri) {
  return sas(sr_for(uri), "defaultListener", h.listen_key, net::unix_now() + 3600);
}

// A management call that takes a body, authorized, whose chunked body is `chunks` (the relay
// reads a body only once the route and the caller's right to it are known).
std::string chunked_api_post(const relay_process& r, const hc_fixture& h, std::string_view chunks) {
  return "POST /api/v1/namespaces/localhost/hybridConnections/" + h.name +
         "/authorizationRules/defaultListener/regenerateKeys HTTP/1.1\r\nHost: " + r.host() + "\r\n" +
         auth_header(r.root_token()) + "Transfer-Encoding: chunked\r\n\r\n" + std::string(chunks);
}

std::vector<request_case> request_cases() {
  using R = const relay_process&;
  using H = const hc_fixture&;
  std::vector<request_case> c;
  // --- malformed or oversized requests
  c.push_back({"HeaderOver32KB",
               [](R r, H h) {
                 return raw::upgrade(r, raw::listen_target(h.name),
                                     "X-Big: " + std::string(40000, 'a') + "\r\n");
               },
               431, "32 KB"});
  c.push_back({"ManySmallHeadersOver32KB",
               [](R r, H h) {
                 std::string extra;
                 for (int i = 0; i < 2000; ++i) extra += "X-H" + std::to_string(i) + ": 0123456789\r\n";
                 return raw::upgrade(r, raw::listen_target(h.name), extra);
               },
               431, ""});
  c.push_back(
      {"MissingSecWebSocketKeyOnListen",
       [](R r, H h) { return raw::upgrade(r, raw::listen_target(h.name), auth_header(h.listen_token), ""); },
       400, "Sec-WebSocket-Key"});
  c.push_back(
      {"MissingSecWebSocketKeyOnConnect",
       [](R r, H h) { return raw::upgrade(r, raw::connect_target(h.name), auth_header(h.send_token), ""); },
       400, "Sec-WebSocket-Key"});
  c.push_back({"SecWebSocketVersion8",
               [](R r, H h) {
                 return raw::upgrade(r, raw::listen_target(h.name), auth_header(h.listen_token),
                                     "dGhlIHNhbXBsZSBub25jZQ==", "8");
               },
               426, "version 13"});
  c.push_back({"MissingSecWebSocketVersion",
               [](R r, H h) {
                 return raw::upgrade(r, raw::connect_target(h.name), auth_header(h.send_token),
                                     "dGhlIHNhbXBsZSBub25jZQ==", "");
               },
               426, "version 13"});
  c.push_back({"HeaderNamedZeroIsJustAHeader",
               [](R r, H h) {
                 return raw::upgrade(r, raw::listen_target(h.name),
                                     "0: zero\r\n" + auth_header(h.listen_token));
               },
               101, ""});
  c.push_back(
      {"GarbageRequestLine", [](R, H) { return std::string("HELLO THERE\r\n\r\n"); }, 400, "malformed"});
  c.push_back(
      {"RequestLineWithoutVersion", [](R, H) { return std::string("GET /\r\n\r\n"); }, 400, "malformed"});
  c.push_back({"Http09StyleVersion", [](R, H) { return std::string("GET / HTTP/0.9\r\n\r\n"); }, 400, ""});
  c.push_back({"NonAsciiInTarget",
               [](R r, H h) {
                 return raw::upgrade(r, "/$hc/caf\xC3\xA9?sb-hc-action=listen", auth_header(h.listen_token));
               },
               400, ""});
  c.push_back(
      {"ControlCharacterInHeaderValue",
       [](R r, H h) { return raw::upgrade(r, raw::listen_target(h.name), std::string("X-Bad: a\x01z\r\n")); },
       400, ""});
  c.push_back({"HeaderLineWithoutColon",
               [](R r, H h) { return raw::upgrade(r, raw::listen_target(h.name), "NoColonHere\r\n"); }, 400,
               ""});
  c.push_back({"AbsurdContentLength",
               [](R r, H) {
                 return "POST /api/v1/namespaces HTTP/1.1\r\nHost: " + r.host() +
                        "\r\nContent-Length: 99999999999999999999999999\r\n\r\n";
               },
               400, ""});
  c.push_back({"ContentLengthOverTheBodyLimit",
               [](R r, H) {
                 return "POST /api/v1/namespaces HTTP/1.1\r\nHost: " + r.host() +
                        "\r\nContent-Length: 10000000000\r\n\r\n";
               },
               413, ""});
  // RFC 9112 §6.3: a body whose length cannot be known is refused, not taken for the next
  // request (request smuggling); to the relay's pages and to a hybrid connection's path alike.
  c.push_back({"TransferEncodingNotEndingInChunked",
               [](R r, H h) {
                 return "POST /" + h.name + "/x HTTP/1.1\r\nHost: " + r.host() +
                        "\r\nTransfer-Encoding: gzip\r\n\r\nGET /" + h.name +
                        "/smuggled HTTP/1.1\r\nHost: " + r.host() + "\r\n\r\n";
               },
               400, "Transfer-Encoding does not end in chunked"});
  c.push_back({"TransferEncodingOnHttp10",
               [](R r, H) {
                 return "POST /api/v1/namespaces HTTP/1.0\r\nHost: " + r.host() +
                        "\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
               },
               400, "Transfer-Encoding"});
  c.push_back({"TwoDifferentContentLengths",
               [](R r, H) {
                 return "POST /api/v1/namespaces HTTP/1.1\r\nHost: " + r.host() +
                        "\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!";
               },
               400, ""});
  c.push_back({"ChunkedGarbage",
               [](R r, H h) { return chunked_api_post(r, h, "zz-not-hex\r\nhello\r\n0\r\n\r\n"); }, 400, ""});
  c.push_back({"ChunkSizeOverflow",
               [](R r, H h) { return chunked_api_post(r, h, "ffffffffffffffffffff\r\nx\r\n"); }, 400, ""});
  c.push_back({"UnknownHcAction",
               [](R r, H h) { return raw::upgrade(r, "/$hc/" + h.name + "?sb-hc-action=teleport"); }, 400,
               ""});
  c.push_back({"RequestRendezvousWithoutAKeyIsRefused",
               [](R r, H h) { return raw::upgrade(r, "/$hc/" + h.name + "?sb-hc-action=request"); }, 403,
               "request address is not valid"});
  c.push_back({"RequestRendezvousWithAGuessedKeyIsRefused",
               [](R r, H h) {
                 return raw::upgrade(
                     r, "/$hc/" + h.name + "?sb-hc-action=request&sb-hc-rendezvous=" + std::string(32, 'a'));
               },
               403, "request address is not valid"});
  c.push_back({"DotDotSegment",
               [](R r, H h) { return raw::upgrade(r, "/$hc/" + h.name + "/../admin?sb-hc-action=listen"); },
               400, ""});
  c.push_back(
      {"BadPercentEscape", [](R r, H) { return raw::upgrade(r, "/$hc/%zz?sb-hc-action=listen"); }, 400, ""});
  c.push_back({"EncodedControlCharacterInPath",
               [](R r, H) { return raw::upgrade(r, "/$hc/a%0Ab?sb-hc-action=listen"); }, 400, ""});
  c.push_back(
      {"EmptyEntityPath", [](R r, H) { return raw::upgrade(r, "/$hc/?sb-hc-action=listen"); }, 400, ""});
  c.push_back({"UnknownNamespaceHost",
               [](R, H h) {
                 return "GET " + raw::listen_target(h.name) +
                        " HTTP/1.1\r\nHost: other.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
               },
               404, "other.example"});
  c.push_back({"SbHcIdOver128Bytes",
               [](R r, H h) {
                 return raw::upgrade(r, raw::listen_target(h.name) + "&sb-hc-id=" + std::string(129, 'i'),
                                     auth_header(h.listen_token));
               },
               400, "sb-hc-id"});
  c.push_back({"SbHcIdWithAControlCharacter",
               [](R r, H h) { return raw::upgrade(r, raw::connect_target(h.name) + "&sb-hc-id=a%1B%5B2Jb"); },
               400, "printable ASCII"});
  c.push_back({"UnknownHybridConnection",
               [](R r, H h) {
                 return raw::upgrade(r, raw::listen_target("no-such-hc"), auth_header(h.listen_token));
               },
               404, "does not exist"});
  c.push_back({"ListenOnAPathBelowTheEntity",
               [](R r, H h) {
                 return raw::upgrade(r, raw::listen_target(h.name + "/below"), auth_header(h.listen_token));
               },
               404, ""});
  c.push_back({"PlainGetOnHcPath",
               [](R r, H h) { return "GET /$hc/" + h.name + " HTTP/1.1\r\nHost: " + r.host() + "\r\n\r\n"; },
               400, "WebSocket upgrades only"});
  // --- tokens (listen gesture; the same authorizer serves connect and renewToken)
  c.push_back({"NoToken", [](R r, H h) { return raw::upgrade(r, raw::listen_target(h.name)); }, 401,
               "No authorization token"});
  c.push_back({"BearerInsteadOfSas",
               [](R r, H h) { return listen_with(r, h, "Bearer eyJhbGciOiJub25lIn0.e30."); }, 401, ""});
  c.push_back({"SignatureNotBase64",
               [](R r, H h) {
                 return listen_with(r, h,
                                    "SharedAccessSignature sr=" + sr_for(r.resource_uri(h.name)) +
                                        "&sig=%%%not-base64%%%&se=" + std::to_string(net::unix_now() + 3600) +
                                        "&skn=defaultListener");
               },
               401, ""});
  c.push_back({"SignatureOfWrongLength",
               [](R r, H h) {
                 return listen_with(r, h,
                                    "SharedAccessSignature sr=" + sr_for(r.resource_uri(h.name)) +
                                        "&sig=AAAA&se=" + std::to_string(net::unix_now() + 3600) +
                                        "&skn=defaultListener");
               },
               401, ""});
  c.push_back({"MissingSr",
               [](R r, H h) {
                 auto t = listen_token_for(r, h, r.resource_uri(h.name));
                 return listen_with(r, h, "SharedAccessSignature " + t.substr(t.find("&sig=") + 1));
               },
               401, "sr"});
  c.push_back({"MissingSig",
               [](R r, H h) {
                 return listen_with(r, h,
                                    "SharedAccessSignature sr=" + sr_for(r.resource_uri(h.name)) + "&se=" +
                                        std::to_string(net::unix_now() + 3600) + "&skn=defaultListener");
               },
               401, "sig"});
  c.push_back({"MissingSe",
               [](R r, H h) {
                 auto t = listen_token_for(r, h, r.resource_uri(h.name));
                 auto se = t.find("&se=");
                 return listen_with(r, h, t.substr(0, se) + t.substr(t.find("&skn=")));
               },
               401, "se"});
  c.push_back({"MissingSkn",
               [](R r, H h) {
                 auto t = listen_token_for(r, h, r.resource_uri(h.name));
                 return listen_with(r, h, t.substr(0, t.find("&skn=")));
               },
               401, "skn"});
  c.push_back({"SeNotANumber",
               [](R r, H h) {
                 return listen_with(r, h,
                                    "SharedAccessSignature sr=" + sr_for(r.resource_uri(h.name)) +
                                        "&sig=AAAA&se=tomorrow&skn=defaultListener");
               },
               401, ""});
  c.push_back({"SeInThePast",
               [](R r, H h) {
                 return listen_with(r, h,
                                    sas(sr_for(r.resource_uri(h.name)), "defaultListener", h.listen_key,
                                        net::unix_now() - 60));
               },
               401, "expired"});
  c.push_back({"SeFarInTheFutureIsValid",
               [](R r, H h) {
                 return listen_with(r, h,
                                    sas(sr_for(r.resource_uri(h.name)), "defaultListener", h.listen_key,
                                        4102444800));  // 2100-01-01
               },
               101, ""});
  c.push_back(
      {"SrForAnotherNamespace",
       [](R r, H h) { return listen_with(r, h, listen_token_for(r, h, "http://other.example/" + h.name)); },
       403, "does not cover"});
  c.push_back({"SrForAnotherPath",
               [](R r, H h) { return listen_with(r, h, listen_token_for(r, h, r.resource_uri("other-hc"))); },
               403, "does not cover"});
  c.push_back(
      {"SrForALongerPath",
       [](R r, H h) { return listen_with(r, h, listen_token_for(r, h, r.resource_uri(h.name + "-more"))); },
       403, ""});
  c.push_back(
      {"SrWithHcPrefix",
       [](R r, H h) { return listen_with(r, h, listen_token_for(r, h, r.resource_uri("$hc/" + h.name))); },
       101, ""});
  c.push_back({"SrWithHcPrefixAndTrailingSlash",
               [](R r, H h) {
                 return listen_with(r, h, listen_token_for(r, h, r.resource_uri("$hc/" + h.name + "/")));
               },
               101, ""});
  c.push_back(
      {"SrWithWssSchemeAndPort",
       [](R r, H h) {
         return listen_with(
             r, h,
             listen_token_for(r, h, "wss://" + r.host() + ":" + std::to_string(r.port()) + "/$hc/" + h.name));
       },
       101, ""});
  c.push_back(
      {"SrWithSbScheme",
       [](R r, H h) { return listen_with(r, h, listen_token_for(r, h, "sb://" + r.host() + "/" + h.name)); },
       101, ""});
  c.push_back({"SrInLowerCaseHex",
               [](R r, H h) {
                 // http%3a%2f%2flocalhost%2fhostile, signed exactly as sent (the 2017-era .NET form).
                 auto lower = proto::to_lower(sr_for(r.resource_uri(h.name)));
                 return listen_with(r, h,
                                    sas(lower, "defaultListener", h.listen_key, net::unix_now() + 3600));
               },
               101, ""});
  c.push_back({"SrReEncodedAfterSigning",
               [](R r, H h) {
                 // Signed over upper-case hex, sent in lower case: the signature no longer matches.
                 auto t = listen_token_for(r, h, r.resource_uri(h.name));
                 auto sr = sr_for(r.resource_uri(h.name));
                 t.replace(t.find(sr), sr.size(), proto::to_lower(sr));
                 return listen_with(r, h, t);
               },
               401, "invalid signature"});
  c.push_back({"UnknownSkn",
               [](R r, H h) {
                 return listen_with(
                     r, h,
                     sas(sr_for(r.resource_uri(h.name)), "noSuchRule", h.listen_key, net::unix_now() + 3600));
               },
               401, "noSuchRule"});
  c.push_back({"KeyOfAnotherRule",
               [](R r, H h) {
                 return listen_with(r, h,
                                    sas(sr_for(r.resource_uri(h.name)), "defaultListener", h.send_key,
                                        net::unix_now() + 3600));
               },
               401, "invalid signature"});
  c.push_back({"KeyWronglyBase64Decoded",
               [](R r, H h) {
                 auto decoded = proto::base64_decode(h.listen_key);
                 std::string key = decoded ? std::string(decoded->begin(), decoded->end()) : "x";
                 return listen_with(
                     r, h,
                     sas(sr_for(r.resource_uri(h.name)), "defaultListener", key, net::unix_now() + 3600));
               },
               401, "invalid signature"});
  c.push_back({"TokenInQueryWinsOverABadHeader",
               [](R r, H h) {
                 return raw::upgrade(
                     r, raw::listen_target(h.name) + "&sb-hc-token=" + proto::percent_encode(h.listen_token),
                     auth_header("SharedAccessSignature garbage"));
               },
               101, ""});
  c.push_back({"BadQueryTokenIsNotRescuedByAGoodHeader",
               [](R r, H h) {
                 return raw::upgrade(r, raw::listen_target(h.name) + "&sb-hc-token=garbage",
                                     auth_header(h.listen_token));
               },
               401, ""});
  c.push_back(
      {"SendTokenCannotListen", [](R r, H h) { return listen_with(r, h, h.send_token); }, 403, "Listen"});
  c.push_back({"HugeToken",
               [](R r, H h) {
                 return listen_with(
                     r, h, "SharedAccessSignature sr=" + std::string(20000, 'a') + "&sig=AAAA&se=1&skn=x");
               },
               401, ""});
  c.push_back({"ConnectWithExpiredToken",
               [](R r, H h) {
                 return raw::upgrade(r, raw::connect_target(h.name),
                                     auth_header(sas(sr_for(r.resource_uri(h.name)), "defaultSender",
                                                     h.send_key, net::unix_now() - 1)));
               },
               401, "expired"});
  return c;
}

class RelayHostileRequest : public RelayHostile, public ::testing::WithParamInterface<request_case> {};

TEST_P(RelayHostileRequest, Status) {
  const auto& c = GetParam();
  run([&]() -> task<> {
    auto bytes = c.request(relay(), hc());
    auto r = co_await raw::exchange(relay(), bytes);
    EXPECT_EQ(r.status, c.status) << r.reason << " " << r.error;
    if (!c.says.empty()) {
      EXPECT_NE((r.reason + r.body).find(c.says), std::string::npos) << r.reason << "\n" << r.body;
    }
    if (c.status == 426) {
      EXPECT_EQ(r.header("Sec-WebSocket-Version"), "13");
    }
  });
}

INSTANTIATE_TEST_SUITE_P(RelayHostile, RelayHostileRequest, ::testing::ValuesIn(request_cases()),
                         [](const auto& info) { return info.param.name; });

// ------------------------------------------------------------------ frames on a tunnel
enum class leg { sender, listener };

struct frame_case {
  std::string name;
  leg offender;
  std::string bytes;         // written raw on the offender's connection (client frames are masked)
  int forwarded_before = 0;  // well-formed frames in `bytes` that cross before the bad one
};

void PrintTo(const frame_case& c, std::ostream* os) {
  *os << c.name;
}

std::vector<frame_case> frame_cases() {
  using raw::frame;
  std::vector<frame_case> c;
  c.push_back({"Rsv1Bit", leg::sender, frame(0x80 | 0x40 | 0x2, "compressed?")});
  c.push_back({"Rsv3Bit", leg::listener, frame(0x80 | 0x10 | 0x1, "x")});
  c.push_back({"ReservedDataOpcode3", leg::sender, frame(0x80 | 0x3, "x")});
  c.push_back({"ReservedControlOpcodeB", leg::listener, frame(0x80 | 0xB, "x")});
  c.push_back({"PingOver125Bytes", leg::sender, frame(0x80 | 0x9, std::string(126, 'p'))});
  c.push_back({"CloseOver125Bytes", leg::listener,
               frame(0x80 | 0x8, raw::close_payload(1000, std::string(200, 'r')))});
  c.push_back({"UnmaskedClientFrame", leg::sender, frame(0x80 | 0x2, "bare", false)});
  c.push_back({"UnmaskedFrameFromListener", leg::listener, frame(0x80 | 0x2, "bare", false)});
  c.push_back(
      {"CloseReasonNotUtf8", leg::sender, frame(0x80 | 0x8, raw::close_payload(1000, "bad \xC3\x28 utf8"))});
  c.push_back(
      {"CloseReasonOverlongUtf8", leg::listener, frame(0x80 | 0x8, raw::close_payload(1000, "\xC0\xAF"))});
  c.push_back({"CloseCode1005MayNotBeSent", leg::sender, frame(0x80 | 0x8, raw::close_payload(1005, ""))});
  c.push_back({"CloseCode999", leg::listener, frame(0x80 | 0x8, raw::close_payload(999, ""))});
  c.push_back({"ClosePayloadOfOneByte", leg::sender, frame(0x80 | 0x8, "\x03")});
  c.push_back({"FragmentedPing", leg::sender, frame(0x9, "ping")});
  c.push_back({"FragmentedClose", leg::listener, frame(0x8, raw::close_payload(1000, ""))});
  c.push_back({"ContinuationWithoutStart", leg::sender, frame(0x80 | 0x0, "orphan")});
  c.push_back({"NewMessageInsideAFragmentedOne", leg::listener,
               frame(0x2, "first half") + frame(0x80 | 0x1, "a new message before the first ended"), 1});
  c.push_back({"LengthOf2To63", leg::sender, frame(0x80 | 0x2, "", true, std::uint64_t(1) << 63)});
  c.push_back({"LengthOfAllOnes", leg::listener, frame(0x80 | 0x2, "", true, ~std::uint64_t(0))});
  return c;
}

class RelayHostileTunnelFrame : public RelayHostile, public ::testing::WithParamInterface<frame_case> {};

// The offending leg gets Close 1002, the other leg 1001, and nothing else crosses.
TEST_P(RelayHostileTunnelFrame, OffenderGets1002OtherLeg1001) {
  const auto& c = GetParam();
  run([&]() -> task<> {
    auto h = co_await make_hc(relay(), "frames-" + proto::to_lower(c.name));
    auto control = co_await connect_listener(relay(), h.name, h.listen_token);
    auto t = co_await open_tunnel(relay(), control, h.name, h.send_token);
    auto& offender = c.offender == leg::sender ? t.sender : t.listener;
    auto& other = c.offender == leg::sender ? t.listener : t.sender;
    auto written = co_await offender.stream().write(asio::buffer(c.bytes));
    require(!written.ec, "writing the frame failed");
    auto to_offender = co_await read_frame(offender, "offending leg");
    EXPECT_EQ(to_offender.op, opcode::close);
    if (to_offender.op == opcode::close) {
      EXPECT_EQ(close_of(to_offender).code, 1002);
    }
    auto to_other = co_await read_frame(other, "other leg");
    if (c.forwarded_before > 0 && to_other.op != opcode::close)
      to_other = co_await read_frame(other, "other leg");
    EXPECT_EQ(to_other.op, opcode::close);
    if (to_other.op == opcode::close) {
      EXPECT_EQ(close_of(to_other).code, 1001);
    }
    co_await send_close(control, 1000, "done");
  });
}

INSTANTIATE_TEST_SUITE_P(RelayHostile, RelayHostileTunnelFrame, ::testing::ValuesIn(frame_cases()),
                         [](const auto& info) { return info.param.name; });

// Text that is not UTF-8 crosses untouched (see the file comment: the relay does not judge
// forwarded text), and the tunnel stays open.
TEST_F(RelayHostile, TextFrameWithBadUtf8IsForwardedUntouched) {
  run([&]() -> task<> {
    auto h = co_await make_hc(relay(), "bad-utf8-text");
    auto control = co_await connect_listener(relay(), h.name, h.listen_token);
    auto t = co_await open_tunnel(relay(), control, h.name, h.send_token);
    const std::string bad = "not \xC3\x28 utf-8 \xFF";
    co_await send_frame(t.sender, opcode::text, true, bad);
    auto got = co_await read_frame(t.listener);
    EXPECT_EQ(got.op, opcode::text);
    EXPECT_EQ(got.payload, bad);
    co_await send_frame(t.listener, opcode::text, true, "still open");
    auto back = co_await read_frame(t.sender);
    EXPECT_EQ(back.payload, "still open");
  });
}

// ------------------------------------------------------------------ the control channel
struct control_case {
  std::string name;
  std::function<std::string(const relay_process&, const hc_fixture&)> bytes;  // raw frames
  int close_code;  // 0: ignored, the channel answers the Ping that follows
};

void PrintTo(const control_case& c, std::ostream* os) {
  *os << c.name;
}

std::string text_frame(std::string_view json) {
  return raw::frame(0x80 | 0x1, json);
}

std::vector<control_case> control_cases() {
  using R = const relay_process&;
  using H = const hc_fixture&;
  using raw::frame;
  std::vector<control_case> c;
  c.push_back({"NotJsonIsIgnored", [](R, H) { return text_frame("this is not JSON {"); }, 0});
  c.push_back({"JsonArrayIsIgnored", [](R, H) { return text_frame("[1,2,3]"); }, 0});
  c.push_back({"DeepNestingIsIgnored",
               [](R, H) { return text_frame(std::string(5000, '[') + std::string(5000, ']')); }, 0});
  c.push_back({"DeepNestingInsideACommandIsIgnored",
               [](R, H) {
                 return text_frame("{\"renewToken\":" + std::string(3000, '{') + std::string(3000, '}') +
                                   "}");
               },
               0});
  c.push_back(
      {"NulBytesAreIgnored", [](R, H) { return text_frame(std::string("{\"renewToken\0\":1}", 17)); }, 0});
  c.push_back(
      {"UnknownCommandIsIgnored", [](R, H) { return text_frame(R"({"teleport":{"to":"mars"}})"); }, 0});
  c.push_back({"AcceptFromTheListenerIsIgnored",
               [](R, H) {
                 return text_frame(
                     R"({"accept":{"address":"wss://evil.example/","id":"x","connectHeaders":{}}})");
               },
               0});
  c.push_back({"BinaryFrameIsIgnored", [](R, H) { return frame(0x80 | 0x2, "binary"); }, 0});
  c.push_back(
      {"FragmentedBinaryIsIgnored", [](R, H) { return frame(0x2, "bin") + frame(0x80 | 0x0, "ary"); }, 0});
  c.push_back({"RenewTokenWithAGoodTokenKeepsTheChannel",
               [](R, H h) { return text_frame(R"({"renewToken":{"token":")" + h.listen_token + "\"}}"); },
               0});
  c.push_back(
      {"StringOver64KiBGets1009",
       [](R, H) { return text_frame(R"({"renewToken":{"token":")" + std::string(70 * 1024, 'a') + "\"}}"); },
       1009});
  c.push_back({"FragmentsOver64KiBGet1009",
               [](R, H) {
                 return frame(0x1, R"({"x":")" + std::string(40 * 1024, 'a')) +
                        frame(0x80 | 0x0, std::string(40 * 1024, 'a') + "\"}");
               },
               1009});
  c.push_back({"RenewTokenWithGarbageGets1008",
               [](R, H) { return text_frame(R"({"renewToken":{"token":"SharedAccessSignature garbage"}})"); },
               1008});
  c.push_back({"RenewTokenWithASendTokenGets1008",
               [](R, H h) { return text_frame(R"({"renewToken":{"token":")" + h.send_token + "\"}}"); },
               1008});
  c.push_back({"RenewTokenExpiredGets1008",
               [](R r, H h) {
                 auto expired = sas(sr_for(r.resource_uri(h.name)), "defaultListener", h.listen_key,
                                    net::unix_now() - 10);
                 return text_frame(R"({"renewToken":{"token":")" + expired + "\"}}");
               },
               1008});
  c.push_back({"RsvBitsGet1002", [](R, H) { return frame(0x80 | 0x20 | 0x1, "{}"); }, 1002});
  c.push_back({"ReservedOpcodeGets1002", [](R, H) { return frame(0x80 | 0x7, "{}"); }, 1002});
  c.push_back({"UnmaskedFrameGets1002", [](R, H) { return frame(0x80 | 0x1, "{}", false); }, 1002});
  c.push_back({"ContinuationWithoutStartGets1002", [](R, H) { return frame(0x80 | 0x0, "{}"); }, 1002});
  c.push_back({"TextInterruptedByTextGets1002",
               [](R, H) { return frame(0x1, "{\"a\":") + frame(0x80 | 0x1, "{}"); }, 1002});
  c.push_back(
      {"PingOver125BytesGets1002", [](R, H) { return frame(0x80 | 0x9, std::string(200, 'p')); }, 1002});
  c.push_back({"FragmentedPingGets1002", [](R, H) { return frame(0x9, "p"); }, 1002});
  c.push_back(
      {"TextThatIsNotUtf8Gets1007", [](R, H) { return frame(0x80 | 0x1, "{\"x\":\"\xC3\x28\"}"); }, 1007});
  c.push_back({"TextEndingInAPartialCharacterGets1007",
               [](R, H) { return frame(0x1, "{\"x\":\"\xE2\x82") + frame(0x80 | 0x0, "\"}"); }, 1007});
  c.push_back({"CloseReasonNotUtf8Gets1002",
               [](R, H) { return frame(0x80 | 0x8, raw::close_payload(1000, "\xED\xA0\x80 surrogate")); },
               1002});
  c.push_back(
      {"CloseCode1006Gets1002", [](R, H) { return frame(0x80 | 0x8, raw::close_payload(1006, "")); }, 1002});
  c.push_back({"LengthOf2To63Gets1002",
               [](R, H) { return frame(0x80 | 0x1, "", true, std::uint64_t(1) << 63); }, 1002});
  return c;
}

class RelayHostileControl : public RelayHostile, public ::testing::WithParamInterface<control_case> {};

// The case's frames, then a Ping: an ignored message leaves the channel answering (Pong), a
// refused one ends it with the expected Close code (Pongs before it are skipped).
TEST_P(RelayHostileControl, Answer) {
  const auto& c = GetParam();
  run([&]() -> task<> {
    auto control = co_await connect_listener(relay(), hc().name, hc().listen_token);
    auto bytes = c.bytes(relay(), hc()) + raw::frame(0x80 | 0x9, "after");
    auto w = co_await control.stream().write(asio::buffer(bytes));
    require(!w.ec, "writing on the control channel failed");
    for (;;) {
      auto f = co_await read_frame(control, "control channel");
      if (c.close_code == 0) {
        EXPECT_EQ(f.op, opcode::pong) << "the channel should have ignored the message";
        EXPECT_EQ(f.payload, "after");
        co_await send_close(control, 1000, "done");
        break;
      }
      if (f.op == opcode::pong) continue;
      EXPECT_EQ(f.op, opcode::close);
      if (f.op == opcode::close) {
        EXPECT_EQ(close_of(f).code, c.close_code);
      }
      break;
    }
  });
}

INSTANTIATE_TEST_SUITE_P(RelayHostile, RelayHostileControl, ::testing::ValuesIn(control_cases()),
                         [](const auto& info) { return info.param.name; });

// ------------------------------------------------------------------ accept addresses
std::string accept_address(const relay_process& r, std::string_view path, std::string_view rendezvous) {
  return "wss://" + r.host() + ":" + std::to_string(r.port()) + "/$hc/" + std::string(path) +
         "?sb-hc-action=accept&sb-hc-id=forged" +
         (rendezvous.empty() ? "" : "&sb-hc-rendezvous=" + std::string(rendezvous));
}

TEST_F(RelayHostile, ForgedRendezvousKeyIs403) {
  run([&]() -> task<> {
    auto forged = co_await dial_address(relay(), accept_address(relay(), hc().name, proto::random_hex(16)));
    EXPECT_EQ(forged.status, 403) << forged.error;
    EXPECT_NE(forged.reason.find("not valid"), std::string::npos) << forged.reason;
  });
}

TEST_F(RelayHostile, AcceptWithoutRendezvousKeyIs403) {
  run([&]() -> task<> {
    auto missing = co_await dial_address(relay(), accept_address(relay(), hc().name, ""));
    EXPECT_EQ(missing.status, 403) << missing.error;
  });
}

TEST_F(RelayHostile, ForgedRejectIs403) {
  run([&]() -> task<> {
    auto forged = co_await dial_address(
        relay(), accept_address(relay(), hc().name, proto::random_hex(16)) + "&sb-hc-statusCode=500");
    EXPECT_EQ(forged.status, 403) << forged.error;
  });
}

// A valid key used on another hybrid connection's path: refused, and the waiting sender is told.
TEST_F(RelayHostile, ValidKeyOnTheWrongPathIs403AndSenderGets502) {
  run([&]() -> task<> {
    auto a = co_await make_hc(relay(), "wrong-path-a");
    auto control = co_await connect_listener(relay(), a.name, a.listen_token);
    auto listener_side = [&]() -> task<net::dial_result> {
      auto accept = co_await read_accept(control);
      auto address = accept.address;
      auto at = address.find("/$hc/" + a.name);
      require(at != std::string::npos, "the accept address names the entity: " + address);
      address.replace(at, 5 + a.name.size(), "/$hc/" + hc().name);
      co_return co_await dial_address(relay(), address);
    };
    auto [sender, wrong] = co_await both(open_sender(relay(), a.name, a.send_token), listener_side());
    EXPECT_EQ(wrong.status, 403) << wrong.error;
    EXPECT_EQ(sender.status, 502) << sender.error;
  });
}

// ------------------------------------------------------------------ slowloris
// A head dripped one byte a second is cut when limits::handshake_timeout (10 s) has passed since
// the TCP accept. The only slow case in the catalog.
TEST_F(RelayHostile, HeadSentOneBytePerSecondIsCutAt10Seconds) {
  run(
      [&]() -> task<> {
        auto started = std::chrono::steady_clock::now();
        auto stream = co_await raw::connect(relay());
        std::string head =
            raw::upgrade(relay(), raw::listen_target(hc().name), auth_header(hc().listen_token));
        bool cut = false;
        auto drip = [&]() -> task<bool> {
          asio::steady_timer pace(co_await asio::this_coro::executor);
          for (std::size_t i = 0; i < head.size() && !cut; ++i) {
            auto w = co_await stream.write(asio::buffer(head.data() + i, 1));
            if (w.ec) co_return true;
            pace.expires_after(1s);  // the attack's pace, not a wait for the relay
            co_await pace.async_wait(net::use_tuple);
          }
          co_return true;
        };
        auto watch = [&]() -> task<bool> {
          auto closed = co_await raw::closed_within(stream, net::limits::handshake_timeout + 3s);
          cut = true;
          co_return closed;
        };
        auto results = co_await both(watch(), drip());
        auto waited = std::chrono::steady_clock::now() - started;
        // Cut while the head was still dripping (it needs minutes), within the watch's bound of the
        // timeout + 3 s after TLS; never before the timeout, which starts after `started`.
        EXPECT_TRUE(std::get<0>(results)) << "the relay did not close the slow connection";
        EXPECT_GE(waited, net::limits::handshake_timeout - 1s);
      },
      30s);
}

// ------------------------------------------------------------------ per-source limits
class RelayHostileSource : public relay_test {};

// Polls GET /metrics every 10 ms, at most `tries` times, until the relay answers; a connection it
// closes before answering (still over a limit) counts as not yet. The status, or 0.
task<int> status_once_serving(const relay_process& relay, int tries) {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  for (int i = 0; i < tries; ++i) {
    try {
      auto probe = co_await raw::exchange(relay, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
      co_return probe.status;
    } catch (const test_failure&) {
    }
    pause.expires_after(10ms);
    co_await pause.async_wait(net::use_tuple);
  }
  co_return 0;
}

// hyco-ws reconnects without backoff: 500 listen attempts with a bad key in a tight loop from
// one address. The first limits::auth_failure_burst get their 401; after that the relay answers
// 429 with Retry-After without looking at the token, and once the flood stops a good client from
// the same address is served again within a couple of seconds.
// The allowance refills at 0.5 per second here (--auth-failure-refill), so what passes depends on
// how long the flood took, which is measured, not assumed: exactly the burst plus what refilled.
TEST(RelayHostileFlood, FloodOfFailingListenersIsRateLimitedThenRecovers) {
  test_dir dir;
  relay_process relay(dir.path(), {"--auth-failure-refill", "0.5"});
  run_bounded(
      [&]() -> task<> {
        auto h = co_await make_hc(relay, "flood");
        auto bad_token = make_token(relay, h.name, "defaultListener", h.send_key);  // wrong key
        auto bad = raw::upgrade(relay, raw::listen_target(h.name), auth_header(bad_token));
        constexpr std::size_t attempts = 200;
        std::size_t unauthorized = 0, limited = 0, other = 0, first_limited = 0;
        std::string sample_reason, sample_retry;
        auto started = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < attempts; ++i) {
          auto r = co_await raw::exchange(relay, bad);
          if (r.status == 401) {
            ++unauthorized;
          } else if (r.status == 429) {
            if (limited++ == 0) first_limited = i;
            sample_reason = r.reason;
            sample_retry = std::string(r.header("Retry-After"));
          } else {
            ++other;
          }
        }
        double flood_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::printf("[ flood    ] %zu attempts in %.3f s: %zu x 401, %zu x 429\n", attempts, flood_seconds,
                    unauthorized, limited);
        auto burst = std::size_t(net::limits::auth_failure_burst);
        auto refilled = std::size_t(flood_seconds * 0.5) + 1;
        EXPECT_EQ(other, 0u);
        EXPECT_GE(first_limited, burst) << "the whole burst is allowed";
        EXPECT_LE(first_limited, burst + refilled) << "429 once the burst and what refilled are spent";
        EXPECT_GE(unauthorized, burst);
        EXPECT_LE(unauthorized, burst + refilled) << "more passed than " << flood_seconds << " s refill";
        EXPECT_EQ(limited, attempts - unauthorized);
        EXPECT_NE(sample_reason.find("Too many failed authentications from 127.0.0.1; retry after"),
                  std::string::npos)
            << sample_reason;
        int retry = sample_retry.empty() ? 0 : std::stoi(sample_retry);
        EXPECT_GE(retry, 1);
        EXPECT_LE(retry, 2) << "one failure back takes 2 s at 0.5 per second";

        // A second of quiet, then five more failures: at 0.5 per second at most one more gets its
        // 401 (at the default 10 per second all five would).
        asio::steady_timer quiet(co_await asio::this_coro::executor);
        quiet.expires_after(1s);  // the attacker's pause, not a wait for the relay
        co_await quiet.async_wait(net::use_tuple);
        for (int i = 0; i < 5; ++i) {
          auto r = co_await raw::exchange(relay, bad);
          unauthorized += r.status == 401 ? 1 : 0;
        }
        double since_start =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        EXPECT_LE(unauthorized, burst + std::size_t(since_start * 0.5) + 1)
            << "more failures answered than the burst and " << since_start << " s of refill allow";

        // The flood stops; a good listener from the same address gets in after Retry-After.
        auto stopped = std::chrono::steady_clock::now();
        asio::steady_timer pause(co_await asio::this_coro::executor);
        int status = 0;
        while (std::chrono::steady_clock::now() - stopped < 12s) {
          auto good = co_await raw::exchange(
              relay, raw::upgrade(relay, raw::listen_target(h.name), auth_header(h.listen_token)));
          status = good.status;
          if (status != 429) break;
          pause.expires_after(std::chrono::seconds(std::stoi(std::string(good.header("Retry-After")))));
          co_await pause.async_wait(net::use_tuple);
        }
        EXPECT_EQ(status, 101);  // within the loop's bound, having waited only as Retry-After said
        co_await expect_healthy_echo(relay);
      },
      90s);
}

// Connections that never finish their handshake: one address may hold
// limits::max_handshakes_per_source; the next is closed at once. When they go, service returns.
TEST_F(RelayHostileSource, TooManyUnfinishedHandshakesFromOneAddress) {
  run([&]() -> task<> {
    co_await make_hc(relay(), "idle");  // the relay is up and serving before the crowd arrives
    std::vector<net::tcp::socket> idle;
    for (std::size_t i = 0; i < net::limits::max_handshakes_per_source; ++i) {
      auto c = co_await net::connect_tcp("127.0.0.1", relay().port());
      require(!c.first, "connect " + std::to_string(i) + ": " + c.first.message());
      idle.push_back(std::move(c.second));
    }
    // The accept loop takes connections in order, so the next one is over the limit.
    auto extra = co_await net::connect_tcp("127.0.0.1", relay().port());
    require(!extra.first, "connect: " + extra.first.message());
    auto stream = net::byte_stream::plain(std::move(extra.second));
    auto closed = co_await raw::closed_within(stream, 3s);
    EXPECT_TRUE(closed) << "connection " << idle.size() + 1 << " should have been closed at once";
    for (auto& s : idle) s.close();
    idle.clear();
    // The relay sees the idle ones go (their TLS handshakes end) and serves again.
    int status = co_await status_once_serving(relay(), 200);
    EXPECT_NE(status, 0) << "the relay did not serve again after the idle connections closed";
    co_await expect_healthy_echo(relay());
  });
}

// Out of file descriptors (a crowd larger than the relay's limit): accept fails with EMFILE
// again and again. The relay must pause between attempts (not spin and flood its log) and serve
// again once descriptors are free.
// The relay runs at its descriptor limit. UBSan checks a virtual call by asking whether the
// vtable's memory is readable, and it asks by opening a pipe: at the limit that pipe fails and
// the runtime reports every virtual call as "invalid vptr" ("memory cannot be printed"). That
// report is about the sanitizer's own descriptors, not the relay: this relay runs with the vptr
// check off; every other check and every other test keep it.
class RelayOutOfDescriptors : public relay_test {
 protected:
  void SetUp() override {
    const char* inherited = std::getenv("UBSAN_OPTIONS");
    saved_ = inherited ? std::optional<std::string>(inherited) : std::nullopt;
    auto suppressions = dir_.path() / "ubsan-suppressions.txt";
    std::ofstream(suppressions) << "vptr_check:*\n";
    auto options = saved_.value_or("") + (saved_ && !saved_->empty() ? ":" : "") +
                   "suppressions=" + suppressions.string();
    ::setenv("UBSAN_OPTIONS", options.c_str(), 1);
    relay_test::SetUp();
    restore();
  }
  void TearDown() override {
    restore();
    relay_test::TearDown();
  }

 private:
  void restore() {
    if (saved_)
      ::setenv("UBSAN_OPTIONS", saved_->c_str(), 1);
    else
      ::unsetenv("UBSAN_OPTIONS");
  }
  std::optional<std::string> saved_;
};

TEST_F(RelayOutOfDescriptors, TheAcceptLoopBacksOffAndRecovers) {
  constexpr int limit = 64;
  auto lowered = run_program(dir_.path(), "/usr/bin/prlimit",
                             {"--pid", std::to_string(relay().process().pid()),
                              "--nofile=" + std::to_string(limit) + ":" + std::to_string(limit)});
  ASSERT_EQ(lowered.exit_code, 0) << lowered.output;
  run([&]() -> task<> {
    std::vector<net::tcp::socket> crowd;  // more than the relay can accept: the kernel queues the rest
    for (int i = 0; i < limit + 16; ++i) {
      auto c = co_await net::connect_tcp("127.0.0.1", relay().port());
      require(!c.first, "connect " + std::to_string(i) + ": " + c.first.message());
      crowd.push_back(std::move(c.second));
    }
    asio::steady_timer pause(co_await asio::this_coro::executor);
    pause.expires_after(2s);  // the relay runs out of descriptors and keeps failing meanwhile
    co_await pause.async_wait(net::use_tuple);
    auto log = relay().process().log();
    std::size_t failures = 0;
    for (auto at = log.find("failed: Too many open files"); at != std::string::npos;
         at = log.find("failed: Too many open files", at + 1))
      ++failures;
    EXPECT_GT(failures, 0u) << "the relay never ran out of descriptors: the test did not test anything";
    // One attempt per limits::accept_retry_delay: about 20 in 2 s; a spinning loop logs millions.
    EXPECT_LT(failures, 100u) << "the accept loop spins on EMFILE";
    for (auto& c : crowd) c.close();
    crowd.clear();
    int status = co_await status_once_serving(relay(), 300);
    EXPECT_EQ(status, 200) << "the relay did not serve again once descriptors were free";
  });
}

}  // namespace
}  // namespace hc::test
