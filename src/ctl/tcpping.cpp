// ctl/tcpping: resolve, then time COUNT TCP connects (see tcpping.hpp).
#include "ctl/tcpping.hpp"

#include "ctl/options.hpp"
#include "net/spawn.hpp"
#include "proto/endpoint.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <iomanip>
#include <iostream>

namespace hc::ctl {
namespace {

struct attempt {
  std::string address;
  double ms = 0;
  std::string error;  // empty on success
};

net::task<attempt> connect_once(net::tcp::endpoint ep, std::chrono::milliseconds timeout) {
  using namespace net::asio::experimental::awaitable_operators;
  auto ex = co_await net::asio::this_coro::executor;
  net::tcp::socket socket(ex);
  net::asio::steady_timer timer(ex, timeout);
  auto t0 = std::chrono::steady_clock::now();
  auto result = co_await (socket.async_connect(ep, net::use_tuple) || timer.async_wait(net::use_tuple));
  attempt a;
  a.address = ep.address().to_string() + ":" + std::to_string(ep.port());
  a.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (result.index() == 1) {
    a.error = "timed out after " + std::to_string(timeout.count()) + " ms";
  } else if (auto [ec] = std::get<0>(result); ec) {
    a.error = ec.message();
  }
  co_return a;
}

}  // namespace

void add_tcpping_command(CLI::App& app, options& opts) {
  struct args {
    std::string target;
    int count = 4;
    int timeout_ms = 3000;
  };
  auto a = std::make_shared<args>();
  auto* cmd = app.add_subcommand("tcpping", "Time TCP connects to HOST:PORT from this host (DNS shown)")
                  ->fallthrough();
  cmd->add_option("TARGET", a->target, "HOST:PORT")->required();
  cmd->add_option("-n,--count", a->count, "Attempts")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--timeout-ms", a->timeout_ms, "Per-attempt timeout")->capture_default_str();
  cmd->callback([&opts, a] {
    auto ep = proto::parse_endpoint(a->target);
    if (!ep) throw api_failure(ep.error().message);
    net::asio::io_context resolver_io;
    net::tcp::resolver resolver(resolver_io);
    boost::system::error_code ec;
    auto resolved = resolver.resolve(ep->host, std::to_string(ep->port), ec);
    boost::json::object out{{"target", ep->to_string()}};
    if (ec) {
      if (opts.json()) {
        out["error"] = "DNS lookup failed: " + ec.message();
        print_json(out);
      } else {
        std::cout << "DNS: " << ep->host << " does not resolve from this host: " << ec.message() << "\n";
      }
      throw api_failure("cannot resolve " + ep->host);
    }
    boost::json::array addresses;
    for (const auto& r : resolved)
      addresses.push_back(boost::json::value(r.endpoint().address().to_string()));
    if (!opts.json()) {
      std::cout << "DNS: " << ep->host << " ->";
      for (const auto& v : addresses) std::cout << " " << v.as_string().c_str();
      std::cout << "\n";
    }
    auto first = resolved.begin()->endpoint();
    std::vector<attempt> attempts;
    std::cout << std::fixed << std::setprecision(3);
    net::run_sync([&]() -> net::task<> {
      for (int i = 0; i < a->count; ++i) {
        auto r = co_await connect_once(first, std::chrono::milliseconds(a->timeout_ms));
        if (!opts.json())
          std::cout << "Connect to " << r.address << ": " << (r.error.empty() ? "" : r.error + " ")
                    << "time=" << r.ms << " ms\n";
        attempts.push_back(std::move(r));
      }
    }());
    double lo = 1e18, hi = 0, sum = 0;
    int ok = 0;
    boost::json::array rows;
    for (const auto& r : attempts) {
      rows.push_back({{"address", r.address}, {"ms", r.ms}, {"error", r.error}});
      if (!r.error.empty()) continue;
      ++ok;
      lo = std::min(lo, r.ms);
      hi = std::max(hi, r.ms);
      sum += r.ms;
    }
    if (opts.json()) {
      out["addresses"] = addresses;
      out["attempts"] = rows;
      out["succeeded"] = ok;
      if (ok) out["minMs"] = lo, out["avgMs"] = sum / ok, out["maxMs"] = hi;
      print_json(out);
    } else {
      std::cout << ok << " of " << attempts.size() << " connected";
      if (ok) std::cout << ", min/avg/max = " << lo << "/" << sum / ok << "/" << hi << " ms";
      std::cout << "\n";
    }
    if (ok == 0)
      throw api_failure("no TCP connection to " + ep->to_string() + " could be opened from this host");
  });
}

}  // namespace hc::ctl
