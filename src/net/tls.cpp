// net/tls: server and client TLS context construction (see tls.hpp). Client-side session reuse:
// sessions delivered by the server (TLS 1.3 tickets) are kept per context in OpenSSL's client
// cache and offered again by byte_stream's connect path.
#include "net/tls.hpp"

#include <boost/asio/ssl/context.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <stdexcept>

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

}  // namespace

tls_context make_server_tls(const std::string& cert_pem_path, const std::string& key_pem_path) {
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
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_SERVER);
  return ctx;
}

tls_context make_client_tls(const std::optional<std::string>& ca_file) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* raw = ctx->native_handle();
  common_settings(raw);
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_default_verify_paths(raw);  // honours SSL_CERT_FILE and SSL_CERT_DIR
  if (ca_file && !ca_file->empty() && SSL_CTX_load_verify_locations(raw, ca_file->c_str(), nullptr) != 1)
    throw std::runtime_error("cannot read CA file " + *ca_file + ": " + openssl_reason());
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_CLIENT);
  return ctx;
}

std::optional<std::string> ca_file_from(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("HCRELAY_CA_FILE"); env && *env) return std::string(env);
  return std::nullopt;
}

}  // namespace hc::net
