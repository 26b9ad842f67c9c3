// net/egress_proxy: the route to a relay through an HTTP or SOCKS5 proxy (see egress_proxy.hpp).
// Settings parsing and NO_PROXY matching first, then the two handshakes, then connect_egress.
#include "net/egress_proxy.hpp"

#include "net/address_range.hpp"
#include "net/byte_stream.hpp"
#include "net/connect_within.hpp"
#include "net/deadline.hpp"
#include "net/http.hpp"
#include "proto/encoding.hpp"
#include "util/private_file.hpp"

#include <array>
#include <boost/asio/this_coro.hpp>
#include <boost/url/parse.hpp>
#include <cstdlib>
#include <stdexcept>

namespace hc::net {
namespace {

egress_settings& process_route() {
  static egress_settings settings;  // written once by use_egress() before any connection
  return settings;
}

std::string host_port(std::string_view host, std::uint16_t port) {
  bool v6 = host.find(':') != std::string_view::npos;
  return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// The first of `names` set (non-empty) in the environment, with the name it was found under.
std::optional<std::pair<std::string, std::string>> first_env(std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (const char* v = std::getenv(name); v && *v) return std::pair{std::string(name), std::string(v)};
  return std::nullopt;
}

std::optional<proxy_route> route_from_env(std::initializer_list<const char*> names) {
  auto found = first_env(names);
  if (!found) return std::nullopt;
  return parse_proxy_url(found->second, found->first);
}

std::vector<std::string> split_no_proxy(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto entry = proto::to_lower(trimmed(list.substr(0, comma)));
    if (!entry.empty()) out.push_back(std::move(entry));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return out;
}

// curl's rules: "*" is every host; "example.com" and ".example.com" match the name and every
// name below it; an IP literal matches itself; ADDRESS/BITS matches an IP literal inside it.
bool bypasses_proxy(std::string_view host_in, const std::vector<std::string>& no_proxy) {
  auto host = proto::to_lower(host_in);
  error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  bool literal = !ec;
  for (std::string entry : no_proxy) {
    if (entry == "*") return true;
    if (entry.find('/') != std::string::npos) {
      if (literal && address_matches(ip, entry)) return true;
      continue;
    }
    if (entry.size() > 2 && entry.front() == '[' && entry.back() == ']')
      entry = entry.substr(1, entry.size() - 2);
    if (!entry.empty() && entry.front() == '.') entry.erase(0, 1);
    if (entry.empty()) continue;
    if (host == entry) return true;
    if (!literal && host.size() > entry.size() && host.ends_with(entry) &&
        host[host.size() - entry.size() - 1] == '.')
      return true;
  }
  return false;
}

// Reads exactly out.size() bytes.
task<error_code> read_exactly(byte_stream& stream, std::span<std::uint8_t> out) {
  std::size_t have = 0;
  while (have < out.size()) {
    auto r = co_await stream.read_some(asio::buffer(out.data() + have, out.size() - have));
    if (r.ec) co_return r.ec;
    have += r.bytes;
  }
  co_return error_code{};
}

// CONNECT host:port; "" when the proxy answered 2xx, else what went wrong, in words.
task<std::string> http_connect(byte_stream& stream, const proxy_route& proxy, const std::string& target) {
  header_list headers{{"Host", target}};
  if (!proxy.user.empty())
    headers.emplace_back("Proxy-Authorization",
                         "Basic " + proto::base64_encode(proxy.user + ":" + proxy.password));
  std::string head = format_request("CONNECT", target, headers);
  auto written = co_await stream.write(asio::buffer(head));
  if (written.ec) co_return "sending CONNECT to " + proxy.label() + " failed: " + written.ec.message();
  std::string leftover;
  http_response response;
  auto read = co_await read_response(stream, leftover, response, 64 * 1024, true);  // head only
  if (!read)
    co_return proxy.label() + " sent no answer to CONNECT " + target + ": " +
        (read.bad ? read.bad->message : read.ec.message());
  if (response.status / 100 != 2) {
    std::string why = proxy.label() + " refused CONNECT " + target + ": " + std::to_string(response.status) +
                      " " + response.reason;
    if (response.status == 407)
      why += proxy.user.empty() ? " (give a user: http://USER@HOST:PORT with --proxy-password-file, or "
                                  "http://USER:PASSWORD@HOST:PORT in HTTPS_PROXY)"
                                : " (the proxy did not accept user '" + proxy.user + "' and its password)";
    co_return why;
  }
  if (!leftover.empty()) co_return proxy.label() + " sent data before the relay's TLS handshake began";
  co_return std::string{};
}

std::string_view socks5_reply_text(std::uint8_t code) {
  static constexpr std::array<std::string_view, 9> texts{"succeeded",
                                                         "general SOCKS server failure",
                                                         "connection not allowed by the proxy's rules",
                                                         "network unreachable",
                                                         "host unreachable",
                                                         "connection refused",
                                                         "TTL expired",
                                                         "command not supported",
                                                         "address type not supported"};
  return code < texts.size() ? texts[code] : std::string_view("unknown reply code");
}

// RFC 1928 CONNECT (the relay's name resolved by the proxy), with RFC 1929 username/password
// when the route has a user; "" on success.
task<std::string> socks5_connect(byte_stream& stream, const proxy_route& proxy, const std::string& host,
                                 std::uint16_t port) {
  const bool with_password = !proxy.user.empty();
  std::vector<std::uint8_t> hello{5, 1, std::uint8_t(with_password ? 2 : 0)};
  auto w = co_await stream.write(asio::buffer(hello));
  if (w.ec) co_return "sending the SOCKS5 greeting to " + proxy.label() + " failed: " + w.ec.message();
  std::array<std::uint8_t, 2> choice{};
  if (auto ec = co_await read_exactly(stream, choice))
    co_return proxy.label() + " sent no answer to the SOCKS5 greeting: " + ec.message();
  if (choice[0] != 5) co_return proxy.label() + " does not speak SOCKS5 (is it an HTTP proxy? use http://)";
  if (choice[1] == 0xff)
    co_return proxy.label() +
        (with_password ? " accepts no username/password authentication"
                       : " requires authentication: give socks5://USER@HOST:PORT with --proxy-password-file");
  if (choice[1] == 2 && with_password) {  // a method we did not offer falls to the refusal below
    if (proxy.user.size() > 255 || proxy.password.size() > 255)
      co_return "the SOCKS5 user name and password are limited to 255 bytes each";
    std::vector<std::uint8_t> auth{1, std::uint8_t(proxy.user.size())};
    auth.insert(auth.end(), proxy.user.begin(), proxy.user.end());
    auth.push_back(std::uint8_t(proxy.password.size()));
    auth.insert(auth.end(), proxy.password.begin(), proxy.password.end());
    auto aw = co_await stream.write(asio::buffer(auth));
    if (aw.ec) co_return "sending the SOCKS5 credentials to " + proxy.label() + " failed: " + aw.ec.message();
    std::array<std::uint8_t, 2> verdict{};
    if (auto ec = co_await read_exactly(stream, verdict))
      co_return proxy.label() + " closed the connection during SOCKS5 authentication: " + ec.message();
    if (verdict[1] != 0)
      co_return proxy.label() + " refused user '" + proxy.user + "' and its password (SOCKS5 authentication)";
  } else if (choice[1] != 0) {
    co_return proxy.label() + " chose an authentication method hcrelay does not offer";
  }
  std::vector<std::uint8_t> request{5, 1, 0};
  error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (!ec && ip.is_v4()) {
    request.push_back(1);
    for (auto b : ip.to_v4().to_bytes()) request.push_back(b);
  } else if (!ec) {
    request.push_back(4);
    for (auto b : ip.to_v6().to_bytes()) request.push_back(b);
  } else {
    if (host.size() > 255) co_return "the relay's host name is longer than SOCKS5 allows (255 bytes)";
    request.push_back(3);
    request.push_back(std::uint8_t(host.size()));
    request.insert(request.end(), host.begin(), host.end());
  }
  request.push_back(std::uint8_t(port >> 8));
  request.push_back(std::uint8_t(port & 0xff));
  auto rw = co_await stream.write(asio::buffer(request));
  if (rw.ec) co_return "sending the SOCKS5 CONNECT to " + proxy.label() + " failed: " + rw.ec.message();
  std::array<std::uint8_t, 4> reply{};
  if (auto rec = co_await read_exactly(stream, reply))
    co_return proxy.label() + " closed the connection before answering CONNECT " + host_port(host, port) +
        ": " + rec.message();
  if (reply[1] != 0)
    co_return proxy.label() + " refused CONNECT " + host_port(host, port) + ": " +
        std::string(socks5_reply_text(reply[1]));
  // The bound address that follows: 4 (IPv4), 16 (IPv6) or 1+N (name) bytes, then the port.
  std::size_t rest = reply[3] == 1 ? 4 : reply[3] == 4 ? 16 : 0;
  if (reply[3] == 3) {
    std::array<std::uint8_t, 1> len{};
    if (auto lec = co_await read_exactly(stream, len)) co_return proxy.label() + ": " + lec.message();
    rest = len[0];
  } else if (rest == 0) {
    co_return proxy.label() + " answered with an unknown address type";
  }
  std::vector<std::uint8_t> bound(rest + 2);
  if (auto bec = co_await read_exactly(stream, bound)) co_return proxy.label() + ": " + bec.message();
  co_return std::string{};
}

}  // namespace

// "HTTP proxy 127.0.0.1:3128 (from --proxy)": the hop as errors and diagnostics name it.
static std::string with_source(const proxy_route& proxy) {
  return proxy.label() + " (from " + proxy.source + ")";
}

std::string proxy_route::label() const {
  return std::string(protocol == kind::socks5 ? "SOCKS5" : "HTTP") + " proxy " + host_port(host, port);
}

proxy_route parse_proxy_url(std::string_view url, std::string source) {
  auto bad = [&](const std::string& why) {
    return std::invalid_argument(source + ": " + why +
                                 " (expected http://[USER@]HOST:PORT or socks5://[USER@]HOST:PORT)");
  };
  auto u = boost::urls::parse_uri(url);
  if (!u) throw bad("not a URL");  // the text is not echoed: it may hold a password
  proxy_route route;
  auto scheme = proto::to_lower(u->scheme());
  if (scheme == "http")
    route.protocol = proxy_route::kind::http_connect;
  else if (scheme == "socks5" || scheme == "socks5h")
    route.protocol = proxy_route::kind::socks5;
  else if (scheme == "https")
    throw bad(
        "TLS to the proxy itself is not supported; the relay's TLS runs end to end through an http:// proxy");
  else
    throw bad("scheme '" + scheme + "' is not supported");
  route.host = std::string(u->host_address());
  if (route.host.empty()) throw bad("no proxy host");
  route.port = u->has_port() ? u->port_number() : 1080;
  if (route.port == 0) throw bad("port 0");
  if (u->has_userinfo()) {
    route.user = std::string(u->user());
    route.password = std::string(u->password());
  }
  route.source = std::move(source);
  return route;
}

egress_settings egress_from(const std::string& proxy_flag, const std::string& password_file) {
  egress_settings s;
  if (proxy_flag == "direct" || proxy_flag == "none") return s;
  if (!proxy_flag.empty()) {
    auto route = parse_proxy_url(proxy_flag, "--proxy");
    if (!route.password.empty())
      throw std::invalid_argument(
          "--proxy: a password in the URL shows in `ps` to every user of this host; give the user in the URL "
          "and the password with --proxy-password-file FILE (mode 0600), or set HTTPS_PROXY in the "
          "environment instead");
    if (!password_file.empty()) {
      if (route.user.empty())
        throw std::invalid_argument("--proxy-password-file needs a user in --proxy (http://USER@HOST:PORT)");
      route.password = util::read_secret_file(password_file, "--proxy-password-file");
    }
    s.https = s.plain = route;
  } else {
    if (!password_file.empty())
      throw std::invalid_argument("--proxy-password-file is for the proxy given with --proxy");
    // Only the lower-case http_proxy: a CGI program gets HTTP_PROXY from a request's "Proxy:"
    // header (httpoxy), so curl and others ignore the upper-case form.
    s.https = route_from_env({"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"});
    s.plain = route_from_env({"http_proxy", "all_proxy", "ALL_PROXY"});
  }
  if (auto list = first_env({"no_proxy", "NO_PROXY"})) s.no_proxy = split_no_proxy(list->second);
  return s;
}

void use_egress(egress_settings settings) {
  process_route() = std::move(settings);
}

std::optional<proxy_route> proxy_for(std::string_view host, bool tls) {
  const auto& s = process_route();
  const auto& route = tls ? s.https : s.plain;
  if (!route || bypasses_proxy(host, s.no_proxy)) return std::nullopt;
  return route;
}

task<egress_connection> connect_egress(const std::string& host, std::uint16_t port, bool tls,
                                       std::chrono::steady_clock::duration limit) {
  auto ex = co_await asio::this_coro::executor;
  egress_connection out{tcp::socket(ex), {}};
  auto proxy = proxy_for(host, tls);
  const std::string hop = proxy ? with_source(*proxy) : host_port(host, port);
  auto until = std::chrono::steady_clock::now() + limit;  // the proxy's handshake counts too
  auto [ec, socket] = co_await connect_within(proxy ? proxy->host : host, proxy ? proxy->port : port, limit);
  if (ec == asio::error::timed_out) {
    out.error = "timed out connecting to " + hop;
    co_return out;
  }
  if (ec) {
    out.error = "cannot connect to " + hop + ": " + ec.message();
    co_return out;
  }
  if (!proxy) {
    out.socket = std::move(socket);
    co_return out;
  }
  auto stream = byte_stream::plain(std::move(socket));
  deadline guard(ex, until - std::chrono::steady_clock::now(), [&stream] { stream.close(); });
  std::string why;  // g++ 12: no co_await inside a conditional expression
  if (proxy->protocol == proxy_route::kind::http_connect)
    why = co_await http_connect(stream, *proxy, host_port(host, port));
  else
    why = co_await socks5_connect(stream, *proxy, host, port);
  guard.disarm();
  if (guard.expired())
    why = proxy->label() + " did not complete its handshake in time (for " + host_port(host, port) + ")";
  if (!why.empty()) {
    out.error = why;
    co_return out;
  }
  out.socket = std::move(stream.socket());
  co_return out;
}

task<egress_check> check_egress(const std::string& host, std::uint16_t port, bool tls,
                                std::chrono::steady_clock::duration limit) {
  auto proxy = proxy_for(host, tls);
  egress_check out;
  out.route = proxy ? "through " + with_source(*proxy) : "direct";
  auto connected = co_await connect_egress(host, port, tls, limit);
  out.error = std::move(connected.error);
  error_code ignored;
  connected.socket.close(ignored);
  co_return out;
}

}  // namespace hc::net
