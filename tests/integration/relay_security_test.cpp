// tests/integration/relay_security_test: the relay security properties that are not
// hostile input as such: TLS 1.0/1.1 refused (openssl s_client), the certificate reloaded on
// SIGHUP without dropping tunnels, keys only in 0600 files and never in logs, metrics, error
// texts or hcctl output, and accept addresses that carry 128 random bits. Related checks live
// elsewhere: single-use accept addresses (RelayGestures.AcceptAddressWorksOnlyOnce), per-source
// limits (RelayHostileSource.*), hcm dialing only its relay (unit: manager_tunnel_test).
// Constant-time signature compare: proto::sas_key::verifies -> constant_time_equals, which is
// CRYPTO_memcmp over the fixed 32-byte MAC (proto/encoding.cpp); checked by review.
#include "harness.hpp"
#include "hcm_support.hpp"
#include "raw_client.hpp"

#include "proto/encoding.hpp"
#include "proto/hc_address.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <fstream>

namespace hc::test {
namespace {

using hcm::quote;
using hcm::shell;

class RelaySecurity : public relay_test {
 protected:
  std::string s_client(const std::string& version_flag, const std::string& extra = {}) {
    return "openssl s_client -connect 127.0.0.1:" + std::to_string(relay().port()) +
           " -servername localhost " + version_flag + " " + extra + " </dev/null";
  }
};

TEST_F(RelaySecurity, Tls10And11AreRefused12And13Succeed) {
  // SECLEVEL=0 lets the client offer the old versions, so a failure is the relay's refusal.
  for (std::string flag : {"-tls1", "-tls1_1"}) {
    auto r = shell(s_client(flag, "-cipher DEFAULT@SECLEVEL=0"));
    EXPECT_NE(r.rc, 0) << flag << " was accepted:\n" << r.output;
    EXPECT_EQ(r.output.find("no protocols available"), std::string::npos)
        << "the client could not offer " << flag << "; the test proves nothing:\n"
        << r.output;
    EXPECT_NE(r.output.find("alert protocol version"), std::string::npos) << r.output;
  }
  auto ca = "-CAfile " + quote(relay().ca_file().string()) + " -verify_return_error";
  auto v12 = shell(s_client("-tls1_2", ca));
  EXPECT_EQ(v12.rc, 0) << v12.output;
  EXPECT_NE(v12.output.find("TLSv1.2"), std::string::npos) << v12.output;
  auto v13 = shell(s_client("-tls1_3", ca));
  EXPECT_EQ(v13.rc, 0) << v13.output;
  EXPECT_NE(v13.output.find("TLSv1.3"), std::string::npos) << v13.output;
}

// The subject line of the certificate the relay presents to a new connection.
std::string served_subject(const relay_process& relay) {
  auto r = shell("openssl s_client -connect 127.0.0.1:" + std::to_string(relay.port()) +
                 " -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -subject");
  return r.output;
}

TEST_F(RelaySecurity, SighupReloadsTheCertificateWithoutDroppingTunnels) {
  auto tls_dir = relay().data_dir() / "tls";
  auto new_cert = dir_.path() / "new.pem";
  auto new_key = dir_.path() / "new.key";
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "reload");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);
    auto before = served_subject(relay());
    EXPECT_NE(before.find("localhost"), std::string::npos) << before;
    EXPECT_EQ(before.find("reloaded"), std::string::npos) << before;

    // A new certificate (self-signed, its own CA) replaces the dev one in place; then SIGHUP.
    auto made =
        shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -keyout " +
              quote(new_key.string()) + " -out " + quote(new_cert.string()) +
              " -subj /CN=reloaded-localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1");
    require_eq(made.rc, 0, "openssl req: " + made.output);
    fs::copy_file(new_cert, tls_dir / "server.pem", fs::copy_options::overwrite_existing);
    fs::copy_file(new_key, tls_dir / "server.key", fs::copy_options::overwrite_existing);
    ::kill(relay().process().pid(), SIGHUP);
    bool reloaded = wait_until(
        [&] { return relay().process().log().find("SIGHUP: reloaded") != std::string::npos; }, 10s);
    require(reloaded, "the relay did not log the reload:\n" + relay().process().log());

    // The tunnel opened before the reload still carries data both ways.
    co_await send_frame(t.sender, opcode::binary, true, "after reload");
    auto there = co_await read_frame(t.listener);
    EXPECT_EQ(there.payload, "after reload");
    co_await send_frame(t.listener, opcode::binary, true, "and back");
    auto back = co_await read_frame(t.sender);
    EXPECT_EQ(back.payload, "and back");

    // New connections see the new certificate: trusted with it, refused with only the dev CA.
    EXPECT_NE(served_subject(relay()).find("reloaded-localhost"), std::string::npos)
        << served_subject(relay());
    auto listen_with = [&](const std::string& ca) {
      net::dial_request d;
      d.url =
          "wss://localhost:" + std::to_string(relay().port()) + "/$hc/" + hc.name + "?sb-hc-action=listen";
      d.headers = {{"ServiceBusAuthorization", hc.listen_token}};
      d.tls = net::make_client_tls(ca);
      return d;
    };
    auto with_new = listen_with(new_cert.string());
    auto fresh = co_await net::dial_websocket(std::move(with_new));
    EXPECT_EQ(fresh.status, 101) << fresh.error;
    auto old_ca_only = listen_with(relay().ca_file().string());
    auto refused = co_await net::dial_websocket(std::move(old_ca_only));
    EXPECT_FALSE(refused.connection.has_value());
    EXPECT_NE(refused.error.find("certificate"), std::string::npos) << refused.error;
  });
}

TEST_F(RelaySecurity, SighupWithABrokenKeyKeepsServingTheOldCertificate) {
  auto tls_dir = relay().data_dir() / "tls";
  {
    std::ofstream broken(tls_dir / "server.key", std::ios::trunc);
    broken << "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
  }
  ::kill(relay().process().pid(), SIGHUP);
  bool logged = wait_until(
      [&] { return relay().process().log().find("SIGHUP: TLS reload failed") != std::string::npos; }, 10s);
  EXPECT_TRUE(logged) << relay().process().log();
  run([&]() -> task<> { co_await expect_healthy_echo(relay()); });
}

TEST_F(RelaySecurity, AcceptAddressesCarry128RandomBits) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "unguessable");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    std::vector<std::string> keys;
    for (int i = 0; i < 3; ++i) {
      auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);
      auto target = t.accept.address.substr(t.accept.address.find("/$hc/"));
      auto parsed = proto::parse_hc_target(target);
      require(parsed.has_value(), "the accept address parses: " + t.accept.address);
      EXPECT_EQ(parsed->rendezvous.size(), 32u) << parsed->rendezvous;
      EXPECT_EQ(parsed->rendezvous.find_first_not_of("0123456789abcdef"), std::string::npos)
          << parsed->rendezvous;
      for (const auto& k : keys) EXPECT_NE(k, parsed->rendezvous);
      keys.push_back(parsed->rendezvous);
    }
  });
}

// Everything a person or a scraper can read: the relay's log at debug level, /metrics, error
// texts of refused gestures and hcctl's output. None may contain a key or a signature.
TEST_F(RelaySecurity, KeysNeverAppearInLogsMetricsOrErrorTexts) {
  std::vector<std::string> secrets{relay().root().key};
  std::vector<std::string> readable;
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "secrets");
    secrets.push_back(hc.listen_key);
    secrets.push_back(hc.send_key);
    const std::vector<std::string> tokens{hc.listen_token, hc.send_token};
    for (const auto& token : tokens) {
      auto sig = token.substr(token.find("sig=") + 4);
      sig = sig.substr(0, sig.find('&'));
      secrets.push_back(sig);                                 // URL-encoded, as sent
      secrets.push_back(proto::percent_decode(sig).value());  // base64, as computed
    }
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);
    co_await send_frame(t.sender, opcode::binary, true, "payload");
    auto got = co_await read_frame(t.listener);
    EXPECT_EQ(got.payload, "payload");
    // Refusals whose texts might be tempted to quote what they got.
    auto wrong_key = make_token(relay(), hc.name, "defaultListener", hc.send_key);
    auto expired = make_token(relay(), hc.name, "defaultListener", hc.listen_key, -60s);
    const std::vector<std::string> refused_tokens{wrong_key, expired, hc.send_token};
    for (const auto& token : refused_tokens) {
      auto r = co_await open_listener(relay(), hc.name, token);
      readable.push_back(r.reason + "\n" + r.error);
      for (const auto& [k, v] : r.headers) readable.push_back(k + ": " + v);
    }
    auto renew = co_await connect_listener(relay(), hc.name, hc.listen_token);
    co_await send_frame(renew, opcode::text, true, R"({"renewToken":{"token":")" + wrong_key + "\"}}");
    auto closed = co_await read_frame(renew);
    readable.push_back(closed.payload);
    net::http_call metrics;
    metrics.url = relay().https_url("/metrics");
    metrics.tls = relay().tls();
    auto m = co_await net::call_http(metrics);
    require(m.response.has_value(), "GET /metrics: " + m.error);
    readable.push_back(m.response->body);
  });
  auto cs = relay().root().to_string();
  auto hcctl = bin_path("hcctl") + " --ca-file " + quote(relay().ca_file().string()) + " ";
  auto with_root = "HCRELAY_CONNECTION_STRING=" + quote(cs) + " " + hcctl;
  for (const auto& args : {"hc create via-hcctl --endpoint localhost:9", "hc list", "hc show secrets",
                           "-o json hc show secrets", "diagnose secrets", "hc delete via-hcctl"}) {
    auto r = shell(with_root + args);
    if (!std::string_view(args).starts_with("diagnose")) {  // diagnose fails: the listener is gone
      EXPECT_EQ(r.rc, 0) << "hcctl " << args << ":\n" << r.output;
    }
    readable.push_back(r.output);
  }
  // A wrong key: hcctl's error text must not echo the connection string.
  auto wrong = cs;
  wrong.replace(wrong.find(relay().root().key), relay().root().key.size(),
                "d3Jvbmcga2V5IGZvciB0aGlzIHRlc3Q=");
  secrets.push_back("d3Jvbmcga2V5IGZvciB0aGlzIHRlc3Q=");
  auto refused = shell("HCRELAY_CONNECTION_STRING=" + quote(wrong) + " " + hcctl + "hc list");
  EXPECT_NE(refused.rc, 0) << refused.output;
  readable.push_back(refused.output);
  readable.push_back(relay().process().log());

  for (const auto& secret : secrets)
    for (const auto& text : readable)
      EXPECT_EQ(text.find(secret), std::string::npos)
          << "a secret (" << secret.substr(0, 6) << "...) leaked in:\n"
          << text.substr(0, 2000);

  // Files that hold keys are private.
  for (auto file : {relay().data_dir() / "root.connection-string", relay().data_dir() / "tls" / "server.key",
                    relay().data_dir() / "tls" / "ca.key", relay().data_dir() / "relay.db"}) {
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file << " has mode " << std::oct << (st.st_mode & 0777);
  }
}

}  // namespace
}  // namespace hc::test
