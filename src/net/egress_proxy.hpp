// net/egress_proxy: how hcm, hcconnect and hcctl reach a relay when the only way out of their
// network is a proxy: HTTP CONNECT (Basic authentication) or SOCKS5 (username/password, the
// relay's name resolved by the proxy). The route is chosen once at start-up from --proxy or the
// environment (https_proxy, all_proxy, no_proxy as curl reads them) and read by ws_client and
// warm_pool for every relay leg. Local endpoints (hcm's services) never go through it.
#pragma once
#include "net/types.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hc::net {

struct proxy_route {
  enum class kind { http_connect, socks5 };
  kind protocol = kind::http_connect;
  std::string host;
  std::uint16_t port = 0;
  std::string user;      // empty: no authentication
  std::string password;  // never logged; label() leaves it out
  std::string source;    // where it came from: "--proxy", "HTTPS_PROXY", ...

  // "HTTP proxy 127.0.0.1:3128" / "SOCKS5 proxy 127.0.0.1:1080": how errors name the hop.
  std::string label() const;
};

struct egress_settings {
  std::optional<proxy_route> https;   // for wss:// and https:// relays
  std::optional<proxy_route> plain;   // for ws:// and http:// relays (--insecure-plaintext)
  std::vector<std::string> no_proxy;  // hosts, .domain suffixes, IP literals; "*" is every host
};

// Parses http://[user[:password]@]host[:port], socks5:// or socks5h:// (both let the proxy
// resolve the relay's name); the port is 1080 when absent, as curl has it. Throws
// std::invalid_argument with a sentence that names `source` when the URL cannot be used.
proxy_route parse_proxy_url(std::string_view url, std::string source);

// --proxy wins ("direct" turns the environment off); else the environment. `password_file`
// (--proxy-password-file) supplies the password of a --proxy URL, which may not carry one
// itself (a command line shows in `ps`). Throws std::invalid_argument on a bad setting.
egress_settings egress_from(const std::string& proxy_flag, const std::string& password_file);

// Sets the process's route once, at start-up, before any relay connection is made.
void use_egress(egress_settings settings);

// The proxy a connection to `host` goes through, if any (tls: wss/https, else ws/http).
std::optional<proxy_route> proxy_for(std::string_view host, bool tls);

struct egress_connection {
  tcp::socket socket;
  std::string error;  // set when there is no connection: which hop failed and why
};

// A TCP connection to host:port, through the proxy that proxy_for() names or directly, with
// TCP_NODELAY set, within `limit` (resolving, connecting and the proxy's handshake).
task<egress_connection> connect_egress(const std::string& host, std::uint16_t port, bool tls,
                                       std::chrono::steady_clock::duration limit);

// For diagnostics (hcctl diagnose, hcm test): the route to host:port in words ("through HTTP
// proxy 127.0.0.1:3128 (from --proxy)" or "direct") and whether a connection opened ("" when it
// did, else the failing hop's sentence). The connection is closed again.
struct egress_check {
  std::string route;
  std::string error;
};
task<egress_check> check_egress(const std::string& host, std::uint16_t port, bool tls,
                                std::chrono::steady_clock::duration limit);

}  // namespace hc::net
