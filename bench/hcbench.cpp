// bench/hcbench: the load tool for scripts/bench, built so the client is never the bottleneck:
// one io_context per core, plain TCP, large buffers, TCP_NODELAY. `sink` is the far end of every
// path; the other verbs drive a path and print one JSON object with their figures.
//   sink --listen ADDR:PORT                       'U'+size: read size bytes, answer 8-byte count;
//                                                 'D'+size: send size bytes; 'E': echo until EOF
//   throughput --target H:P --bytes N --direction up|down [--streams K]
//   latency --target H:P --count N [--gap-ms G]   connect, 1-byte echo, close; p50/p99 in ms
//                                                 (G ms of quiet between connections)
//   rate --target H:P --concurrency C --seconds S new echo connections per second
//   hold --target H:P --connections N [--parallel P]  open N echo connections, at most P opening at
//                                                 once (as apps connect over time), check each, hold
//                                                 until stdin closes
#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t chunk = 256 * 1024;

namespace {

tcp::endpoint parse(const std::string& s) {
  auto c = s.rfind(':');
  return {asio::ip::make_address(s.substr(0, c)), static_cast<unsigned short>(std::stoi(s.substr(c + 1)))};
}

void put_u64(unsigned char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
std::uint64_t get_u64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t(p[i]) << (8 * i);
  return v;
}

asio::awaitable<void> sink_session(tcp::socket s) {
  s.set_option(tcp::no_delay(true));
  unsigned char cmd[9];
  auto [ec, n] = co_await asio::async_read(s, asio::buffer(cmd, 1), tuple);
  if (ec) co_return;
  std::vector<unsigned char> buf(chunk);
  if (cmd[0] == 'E') {
    for (;;) {
      auto [rec, got] = co_await s.async_read_some(asio::buffer(buf), tuple);
      if (rec) break;
      auto [wec, put] = co_await asio::async_write(s, asio::buffer(buf.data(), got), tuple);
      if (wec) co_return;
    }
    boost::system::error_code ignored;
    s.shutdown(tcp::socket::shutdown_send, ignored);
    co_return;
  }
  std::tie(ec, n) = co_await asio::async_read(s, asio::buffer(cmd + 1, 8), tuple);
  if (ec) co_return;
  std::uint64_t size = get_u64(cmd + 1);
  if (cmd[0] == 'U') {
    std::uint64_t total = 0;
    while (total < size) {
      auto [rec, got] = co_await s.async_read_some(
          asio::buffer(buf.data(), std::min<std::uint64_t>(chunk, size - total)), tuple);
      if (rec) co_return;
      total += got;
    }
    unsigned char ack[8];
    put_u64(ack, total);
    co_await asio::async_write(s, asio::buffer(ack), tuple);
  } else if (cmd[0] == 'D') {
    std::uint64_t sent = 0;
    while (sent < size) {
      auto len = std::min<std::uint64_t>(chunk, size - sent);
      auto [wec, put] = co_await asio::async_write(s, asio::buffer(buf.data(), len), tuple);
      if (wec) co_return;
      sent += put;
    }
  }
  boost::system::error_code ignored;
  s.shutdown(tcp::socket::shutdown_send, ignored);
  co_await s.async_read_some(asio::buffer(buf), tuple);  // wait for the client's close
}

asio::awaitable<void> sink_accept(tcp::acceptor& a) {
  for (;;) {
    auto [ec, s] = co_await a.async_accept(tuple);
    if (ec) co_return;
    asio::co_spawn(a.get_executor(), sink_session(std::move(s)), asio::detached);
  }
}

// Runs `make(i)` coroutines across one io_context per core and waits for all.
template <class Make>
void run_parallel(int count, Make make) {
  int threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<asio::io_context>> ios;
  for (int t = 0; t < threads; ++t) ios.push_back(std::make_unique<asio::io_context>());
  for (int i = 0; i < count; ++i) asio::co_spawn(*ios[i % threads], make(i), asio::detached);
  std::vector<std::thread> pool;
  for (auto& io : ios) pool.emplace_back([&io] { io->run(); });
  for (auto& t : pool) t.join();
}

asio::awaitable<tcp::socket> dial(tcp::endpoint ep) {
  tcp::socket s(co_await asio::this_coro::executor);
  co_await s.async_connect(ep, asio::use_awaitable);
  s.set_option(tcp::no_delay(true));
  co_return s;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, std::size_t(p * double(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hcbench: load tool for scripts/bench"};
  app.require_subcommand(1);
  std::string listen, target, direction = "up";
  std::uint64_t bytes = 1ull << 30;
  int streams = 1, count = 2000, concurrency = 32, connections = 1000, gap_ms = 0;
  double seconds = 5;
  auto* sink = app.add_subcommand("sink", "serve U/D/E requests");
  sink->add_option("--listen", listen)->required();
  auto* thr = app.add_subcommand("throughput", "bulk bytes");
  thr->add_option("--target", target)->required();
  thr->add_option("--bytes", bytes);
  thr->add_option("--direction", direction)->check(CLI::IsMember({"up", "down"}));
  thr->add_option("--streams", streams);
  auto* lat = app.add_subcommand("latency", "sequential connect-echo-close");
  lat->add_option("--target", target)->required();
  lat->add_option("--count", count);
  lat->add_option("--gap-ms", gap_ms, "quiet time between connections (lets background work finish)");
  auto* rate = app.add_subcommand("rate", "new connections per second");
  rate->add_option("--target", target)->required();
  rate->add_option("--concurrency", concurrency);
  rate->add_option("--seconds", seconds);
  auto* hold = app.add_subcommand("hold", "hold N echo connections");
  hold->add_option("--target", target)->required();
  hold->add_option("--connections", connections);
  int parallel = 64;
  hold->add_option("--parallel", parallel, "connections opening at once");
  CLI11_PARSE(app, argc, argv);

  if (*sink) {
    asio::io_context io;
    tcp::acceptor a(io, parse(listen));
    std::printf("{\"listening\":%u}\n", a.local_endpoint().port());
    std::fflush(stdout);
    asio::co_spawn(io, sink_accept(a), asio::detached);
    int threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back([&] { io.run(); });
    io.run();
    return 0;
  }
  auto ep = parse(target);
  std::atomic<int> failures{0};
  if (*thr) {
    std::uint64_t per = bytes / std::uint64_t(streams);
    auto start = clock_type::now();
    run_parallel(streams, [&](int) -> asio::awaitable<void> {
      try {
        auto s = co_await dial(ep);
        unsigned char cmd[9] = {static_cast<unsigned char>(direction == "up" ? 'U' : 'D')};
        put_u64(cmd + 1, per);
        co_await asio::async_write(s, asio::buffer(cmd), asio::use_awaitable);
        std::vector<unsigned char> buf(chunk);
        std::uint64_t done = 0;
        if (direction == "up") {
          while (done < per)
            done += co_await asio::async_write(
                s, asio::buffer(buf.data(), std::min<std::uint64_t>(chunk, per - done)), asio::use_awaitable);
          unsigned char ack[8];
          co_await asio::async_read(s, asio::buffer(ack), asio::use_awaitable);
          if (get_u64(ack) != per) ++failures;
        } else {
          while (done < per) {
            auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), tuple);
            if (ec) break;
            done += n;
          }
          if (done != per) ++failures;
        }
      } catch (...) {
        ++failures;
      }
    });
    double secs = std::chrono::duration<double>(clock_type::now() - start).count();
    std::printf("{\"bytes\":%llu,\"seconds\":%.3f,\"gbit_per_s\":%.3f,\"failures\":%d}\n",
                (unsigned long long)(per * streams), secs, double(per * streams) * 8 / secs / 1e9,
                failures.load());
    return failures ? 1 : 0;
  }
  if (*lat) {
    std::vector<double> ms;
    ms.reserve(count);
    run_parallel(1, [&](int) -> asio::awaitable<void> {
      for (int i = 0; i < count; ++i) {
        auto t0 = clock_type::now();
        try {
          auto s = co_await dial(ep);
          unsigned char out[2] = {'E', 'x'}, in[1];
          co_await asio::async_write(s, asio::buffer(out), asio::use_awaitable);
          co_await asio::async_read(s, asio::buffer(in), asio::use_awaitable);
          s.close();
          ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
        } catch (...) {
          ++failures;
        }
        if (gap_ms > 0) {
          auto ex = co_await asio::this_coro::executor;  // own statement: net/types.hpp
          asio::steady_timer gap(ex, std::chrono::milliseconds(gap_ms));
          co_await gap.async_wait(asio::use_awaitable);
        }
      }
    });
    std::printf("{\"count\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"failures\":%d}\n", count,
                percentile(ms, 0.5), percentile(ms, 0.99), percentile(ms, 1.0), failures.load());
    return failures ? 1 : 0;
  }
  if (*rate) {
    std::atomic<long> done{0};
    auto until = clock_type::now() +
                 std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
    auto start = clock_type::now();
    run_parallel(concurrency, [&](int) -> asio::awaitable<void> {
      while (clock_type::now() < until) {
        try {
          auto s = co_await dial(ep);
          unsigned char out[2] = {'E', 'x'}, in[1];
          co_await asio::async_write(s, asio::buffer(out), asio::use_awaitable);
          co_await asio::async_read(s, asio::buffer(in), asio::use_awaitable);
          ++done;
        } catch (...) {
          ++failures;
        }
      }
    });
    double secs = std::chrono::duration<double>(clock_type::now() - start).count();
    std::printf("{\"connections\":%ld,\"per_second\":%.1f,\"failures\":%d}\n", done.load(),
                double(done) / secs, failures.load());
    return 0;
  }
  if (*hold) {
    asio::io_context io;
    std::vector<tcp::socket> held;
    held.reserve(connections);
    std::atomic<int> open{0};
    int next = 0;
    for (int w = 0; w < std::max(1, parallel); ++w) {
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            while (next < connections) {
              ++next;
              try {
                auto s = co_await dial(ep);
                unsigned char out[2] = {'E', 'x'}, in[1];
                co_await asio::async_write(s, asio::buffer(out), asio::use_awaitable);
                co_await asio::async_read(s, asio::buffer(in), asio::use_awaitable);
                held.push_back(std::move(s));
                ++open;
              } catch (...) {
                ++failures;
              }
            }
          },
          asio::detached);
    }
    io.run();
    std::printf("{\"open\":%d,\"failures\":%d}\n", open.load(), failures.load());
    std::fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
    }
    return 0;
  }
  return 0;
}
