// net/tls: the TLS contexts of every program: the relay's server context and the one client
// context used by hcm, hcconnect and hcctl. TLS 1.2 and 1.3 only, AES-GCM first, session
// tickets, released idle buffers. Contexts are made once at start-up and shared read-only.
#pragma once
#include "net/types.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace boost::asio::ssl {
class context;
}
struct ssl_st;
using SSL = ssl_st;

namespace hc::net {

using tls_context = std::shared_ptr<asio::ssl::context>;

// Throws std::runtime_error naming the file and OpenSSL's reason when a PEM cannot be used.
// ALPN: "h2" when the client offers it and `offer_h2`, else "http/1.1".
tls_context make_server_tls(const std::string& cert_pem_path, const std::string& key_pem_path,
                            bool offer_h2 = true);

// Whether the server context's certificate names `host` (a DNS name, wildcards as RFC 6125
// allows, or an IP literal): what a client's host-name check will say.
bool certificate_covers(const tls_context& server, const std::string& host);

// The server context's certificate's notAfter in Unix seconds (none without a certificate).
std::optional<std::int64_t> certificate_not_after(const tls_context& server);

// Trusts the system store (which honours SSL_CERT_FILE / SSL_CERT_DIR) plus `ca_file` when
// given; verifies the peer; keeps sessions for resumption. Throws on an unreadable ca_file.
tls_context make_client_tls(const std::optional<std::string>& ca_file);

// Client side of TLS session resumption: makes `ssl` offer the last session this context got
// from `peer` ("host:port") and remember the next one it gets, so a new tunnel costs a resumed
// handshake rather than a full one. Safe to call from any thread.
void prepare_client_session(SSL* ssl, const std::string& peer);

// ALPN protocol lists in wire form (length-prefixed names), for byte_stream::offer_protocols.
inline constexpr std::string_view alpn_h2_then_http11{"\x02h2\x08http/1.1", 12};

// The CA file a client should add: the --ca-file flag when given, else HCRELAY_CA_FILE.
std::optional<std::string> ca_file_from(const std::string& flag_value);

}  // namespace hc::net
