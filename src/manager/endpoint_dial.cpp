// manager/endpoint_dial: connect with a deadline, and the timed probe (see endpoint_dial.hpp).
#include "manager/endpoint_dial.hpp"

#include "net/connect_within.hpp"
#include "net/deadline.hpp"
#include "proto/endpoint.hpp"

#include <boost/asio/this_coro.hpp>

namespace hc::manager {
using net::error_code;
using net::tcp;
using net::use_tuple;
namespace asio = net::asio;

bool is_link_local(const asio::ip::address& address) noexcept {
  if (address.is_v6()) {
    auto v6 = address.to_v6();
    if (v6.is_v4_mapped()) return is_link_local(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
    return v6.is_link_local();
  }
  return (address.to_v4().to_uint() & 0xFFFF0000u) == 0xA9FE0000u;  // 169.254.0.0/16
}

net::task<endpoint_connection> dial_endpoint(std::string host, std::uint16_t port, bool allow_link_local,
                                             std::chrono::steady_clock::duration timeout) {
  auto ex = co_await asio::this_coro::executor;
  endpoint_connection out{{}, tcp::socket(ex), {}};
  // A recent resolution is reused (a new tunnel pays no resolver round trip).
  net::address_filter allowed;
  if (!allow_link_local) allowed = [](const asio::ip::address& a) { return !is_link_local(a); };
  auto [ec, socket] = co_await net::connect_within(host, port, timeout, allowed);
  if (ec == asio::error::timed_out) {
    out.ec = ec;
    out.error = "connect timed out after " +
                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) + " s";
    co_return out;
  }
  if (ec) {
    out.ec = ec;
    bool dns = ec.category() == asio::error::get_netdb_category() ||
               ec.category() == asio::error::get_addrinfo_category();
    if (ec == asio::error::access_denied && !allow_link_local)
      // Short: the sender sees it in a status line of at most 200 characters (tunnel.cpp).
      out.error =
          "refused: " + host +
          (proto::is_ip_literal(host) ? " is link-local" : " resolves only to link-local addresses") +
          " (add the connection with --allow-link-local to dial it; cloud metadata services answer there)";
    else
      out.error = dns ? "cannot resolve " + host + ": " + ec.message() : ec.message();
    co_return out;
  }
  out.socket = std::move(socket);  // TCP_NODELAY is set by connect_tcp
  co_return out;
}

net::task<probe_report> probe_endpoint(std::string host, std::uint16_t port,
                                       std::chrono::steady_clock::duration timeout) {
  auto ex = co_await asio::this_coro::executor;
  probe_report report;
  tcp::resolver resolver(ex);
  auto t0 = std::chrono::steady_clock::now();
  auto [rec, endpoints] = co_await resolver.async_resolve(host, std::to_string(port), use_tuple);
  report.resolve_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (rec) {
    report.resolve_error = rec.message();
    co_return report;
  }
  for (auto& entry : endpoints) {
    probe_result r;
    auto ep = entry.endpoint();
    r.address = ep.address().is_v6() ? "[" + ep.address().to_string() + "]:" + std::to_string(ep.port())
                                     : ep.address().to_string() + ":" + std::to_string(ep.port());
    tcp::socket socket(ex);
    net::deadline guard(ex, timeout, [&] {
      error_code ignored;  // closing aborts the connect, which then reports operation_aborted
      socket.close(ignored);
    });
    auto start = std::chrono::steady_clock::now();
    auto [cec] = co_await socket.async_connect(ep, use_tuple);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.ec = guard.expired() ? asio::error::timed_out : cec;
    report.addresses.push_back(std::move(r));
  }
  co_return report;
}

}  // namespace hc::manager
