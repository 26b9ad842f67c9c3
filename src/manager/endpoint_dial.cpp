// manager/endpoint_dial: resolve + connect with a deadline (see endpoint_dial.hpp).
#include "manager/endpoint_dial.hpp"

#include "net/deadline.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/this_coro.hpp>

namespace hc::manager {
using net::error_code;
using net::tcp;
using net::use_tuple;
namespace asio = net::asio;

net::task<endpoint_connection> dial_endpoint(std::string host, std::uint16_t port,
                                             std::chrono::steady_clock::duration timeout) {
  auto ex = co_await asio::this_coro::executor;
  endpoint_connection out{{}, tcp::socket(ex), {}};
  tcp::resolver resolver(ex);
  net::deadline guard(ex, timeout, [&] {
    resolver.cancel();
    error_code ignored;  // closing aborts the pending connect; its error is reported below
    out.socket.close(ignored);
  });
  auto [rec, endpoints] = co_await resolver.async_resolve(host, std::to_string(port), use_tuple);
  if (rec) {
    out.ec = rec;
    out.error =
        guard.expired() ? "DNS resolution timed out" : "cannot resolve " + host + ": " + rec.message();
    co_return out;
  }
  auto [cec, ep] = co_await asio::async_connect(out.socket, endpoints, use_tuple);
  if (cec) {
    out.ec = cec;
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
    out.error = guard.expired() ? "connect timed out after " + std::to_string(secs) + " s" : cec.message();
    co_return out;
  }
  guard.disarm();
  error_code ignored;  // TCP_NODELAY is an optimisation; a socket that refuses it still works
  out.socket.set_option(tcp::no_delay(true), ignored);
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
