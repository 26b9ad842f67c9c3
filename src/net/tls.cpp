// net/tls: server and client TLS context construction (see tls.hpp). Client-side session reuse:
// sessions delivered by the server (TLS 1.3 tickets) are kept per context in OpenSSL's client
// cache and offered again by byte_stream's connect path.
#include "net/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/ssl/context.hpp>

#include <cstdlib>
#include <ctime>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace hc::net {
namespace {

std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

void common_settings(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Idle tunnels must cost almost nothing: give read/write buffers back between records.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // AES-GCM first: the CPUs here have AES-NI/VAES.
  SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
  SSL_CTX_set_cipher_list(ctx,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
}

// Unused resumable sessions per peer (TLS 1.3 tickets are single-use: each is offered once),
// owned by one client SSL_CTX (ex_data, freed with it).
struct session_cache {
  static constexpr std::size_t max_per_peer = 8;
  std::mutex mutex;
  std::unordered_map<std::string, std::deque<SSL_SESSION*>> by_peer;
  ~session_cache() {
    for (auto& [peer, sessions] : by_peer)
      for (auto* session : sessions) SSL_SESSION_free(session);
  }
};

void free_cache(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<session_cache*>(ptr);
}
void free_peer(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::string*>(ptr);
}

int cache_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_cache);
  return index;
}
int peer_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_peer);
  return index;
}

// OpenSSL hands us each new session (TLS 1.3: tickets after the handshake); we keep the newest.
int remember_session(SSL* ssl, SSL_SESSION* session) {
  auto* peer = static_cast<std::string*>(SSL_get_ex_data(ssl, peer_index()));
  auto* cache = static_cast<session_cache*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), cache_index()));
  if (!peer || !cache || !SSL_SESSION_is_resumable(session)) return 0;
  std::lock_guard lock(cache->mutex);
  auto& sessions = cache->by_peer[*peer];
  sessions.push_back(session);
  if (sessions.size() > session_cache::max_per_peer) {
    SSL_SESSION_free(sessions.front());
    sessions.pop_front();
  }
  return 1;  // we keep the reference
}

}  // namespace

void prepare_client_session(SSL* ssl, const std::string& peer) {
  auto* cache = static_cast<session_cache*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), cache_index()));
  if (!cache) return;
  SSL_set_ex_data(ssl, peer_index(), new std::string(peer));
  std::lock_guard lock(cache->mutex);
  auto it = cache->by_peer.find(peer);
  if (it == cache->by_peer.end()) return;
  // A ticket whose connection ended without an orderly close was marked not resumable when that
  // connection was freed: offering it would only cost a full handshake.
  while (!it->second.empty()) {
    SSL_SESSION* newest = it->second.back();
    it->second.pop_back();
    bool usable = SSL_SESSION_is_resumable(newest) == 1;
    if (usable) SSL_set_session(ssl, newest);  // takes its own reference
    SSL_SESSION_free(newest);
    if (usable) return;
  }
}

namespace {
// The server's ALPN choice: h2 when offered (and the relay offers it), else http/1.1; a client
// that names neither gets no ALPN answer and speaks HTTP/1.1.
int select_protocol(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                    unsigned int inlen, void* offer_h2) {
  for (std::string_view want : {std::string_view("h2"), std::string_view("http/1.1")}) {
    if (want == "h2" && offer_h2 == nullptr) continue;
    for (unsigned int i = 0; i < inlen;) {
      unsigned int len = in[i];
      if (i + 1 + len > inlen) break;
      if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == want) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}
}  // namespace

tls_context make_server_tls(const std::string& cert_pem_path, const std::string& key_pem_path,
                            bool offer_h2) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* raw = ctx->native_handle();
  common_settings(raw);
  SSL_CTX_set_options(raw, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(raw, cert_pem_path.c_str()) != 1)
    throw std::runtime_error("cannot use TLS certificate " + cert_pem_path + ": " + openssl_reason());
  if (SSL_CTX_use_PrivateKey_file(raw, key_pem_path.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("cannot use TLS key " + key_pem_path + ": " + openssl_reason());
  if (SSL_CTX_check_private_key(raw) != 1)
    throw std::runtime_error("TLS key " + key_pem_path + " does not match certificate " + cert_pem_path);
  // Resumption is by stateless tickets only (TLS 1.3, and TLS 1.2 tickets): no server-side
  // session store to fill, lock and flush on every handshake.
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_set_num_tickets(raw, 2);  // clients use each ticket once; two keep them ahead
  SSL_CTX_set_alpn_select_cb(raw, select_protocol, offer_h2 ? raw : nullptr);
  return ctx;
}

bool certificate_covers(const tls_context& server, const std::string& host) {
  X509* cert = SSL_CTX_get0_certificate(server->native_handle());
  if (!cert) return false;
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  if (!ec) return X509_check_ip_asc(cert, host.c_str(), 0) == 1;
  return X509_check_host(cert, host.data(), host.size(), 0, nullptr) == 1;
}

std::optional<std::int64_t> certificate_not_after(const tls_context& server) {
  X509* cert = server ? SSL_CTX_get0_certificate(server->native_handle()) : nullptr;
  std::tm when{};
  if (!cert || ASN1_TIME_to_tm(X509_get0_notAfter(cert), &when) != 1) return std::nullopt;
  return std::int64_t(::timegm(&when));
}

tls_context make_client_tls(const std::optional<std::string>& ca_file) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* raw = ctx->native_handle();
  common_settings(raw);
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_default_verify_paths(raw);  // honours SSL_CERT_FILE and SSL_CERT_DIR
  if (ca_file && !ca_file->empty() && SSL_CTX_load_verify_locations(raw, ca_file->c_str(), nullptr) != 1)
    throw std::runtime_error("cannot read CA file " + *ca_file + ": " + openssl_reason());
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_set_ex_data(raw, cache_index(), new session_cache);
  SSL_CTX_sess_set_new_cb(raw, remember_session);
  return ctx;
}

std::optional<std::string> ca_file_from(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("HCRELAY_CA_FILE"); env && *env) return std::string(env);
  return std::nullopt;
}

}  // namespace hc::net
