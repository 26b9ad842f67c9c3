// bench/micro_tls: what one TLS handshake costs with the settings every program uses
// (net::make_server_tls / make_client_tls and the --dev-tls certificate), full and resumed from a
// ticket, both sides in one thread over a memory BIO pair. The protocol opens a new WebSocket
// (and so a new TLS connection) for each leg of every tunnel, so a new tunnel pays this twice
// on the relay and once each in hcm and hcconnect; the figure bounds the tunnel rate.
#include "net/tls.hpp"
#include "relay/tls/dev_ca.hpp"

#include <benchmark/benchmark.h>
#include <openssl/ssl.h>
#include <boost/asio/ssl/context.hpp>

#include <filesystem>
#include <stdexcept>

namespace {

int fresh_peer = 0;  // a peer name never seen: no ticket to offer

struct tls_peers {
  hc::net::tls_context server, client;
  tls_peers() {
    auto dir = std::filesystem::temp_directory_path() / "hcmicro-tls";
    auto files = hc::relay::ensure_dev_tls(dir.string(), {"localhost"});
    server = hc::net::make_server_tls(files.server_pem, files.server_key);
    client = hc::net::make_client_tls(files.ca_pem);
  }
};

// Runs one handshake to completion and lets the client take the server's tickets. With `resume`
// the client offers a ticket from the previous handshake, exactly as the programs' dials do
// (net::prepare_client_session); returns whether the handshake was a resumption.
bool handshake(tls_peers& peers, bool resume) {
  SSL* c = SSL_new(peers.client->native_handle());
  SSL* s = SSL_new(peers.server->native_handle());
  BIO *cb = nullptr, *sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(c, cb, cb);
  SSL_set_bio(s, sb, sb);
  SSL_set1_host(c, "localhost");
  SSL_set_tlsext_host_name(c, "localhost");
  hc::net::prepare_client_session(c, resume ? "localhost:443" : "localhost:" + std::to_string(++fresh_peer));
  SSL_set_connect_state(c);
  SSL_set_accept_state(s);
  bool client_done = false, server_done = false;
  for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
    if (!client_done) client_done = SSL_do_handshake(c) == 1;
    if (!server_done) server_done = SSL_do_handshake(s) == 1;
  }
  if (!client_done || !server_done) throw std::runtime_error("TLS handshake did not complete");
  char byte;
  SSL_read(c, &byte, 1);  // takes the NewSessionTicket messages (then wants more input)
  bool resumed = SSL_session_reused(c) == 1;
  // As the programs do after an orderly end: otherwise OpenSSL drops the session on SSL_free.
  SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_set_shutdown(s, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(c);
  SSL_free(s);
  return resumed;
}

void tls_handshake(benchmark::State& state) {
  static tls_peers peers;
  bool resume = state.range(0) == 1;
  handshake(peers, resume);  // the first ticket
  bool resumed = false;
  for (auto _ : state) resumed = handshake(peers, resume);
  if (resume && !resumed) state.SkipWithError("the session was not resumed");
  state.SetLabel(resume ? "resumed, both sides" : "full, both sides");
}
BENCHMARK(tls_handshake)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace
