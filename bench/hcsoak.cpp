// bench/hcsoak: checksummed bidirectional streams, the traffic of tests/integration/faults_test and
// scripts/soak (bench/soak.py). It owns the stream format and both ends; it knows nothing of the
// relay (it talks plain TCP to whatever is in front of the sink). One io_context, one thread.
//   sink --listen ADDR:PORT [--stats FILE]   checks each stream and echoes every byte back
//   load --target ADDR:PORT --streams N --seconds S [--min-bytes B] [--max-bytes B] [--kbps K]
//        [--seed X] [--stall-seconds T] [--ramp-seconds R] [--report FILE]
// A stream: a 16-byte header ("HCS1", seed u32, length u64, little endian), then `length` bytes
// of payload(seed, offset), then the client's FIN. The sink echoes the payload as it arrives and
// ends with FIN once it had all of it. Outcomes, on both ends: complete; failed (an error: RST,
// refused, timeout: what a fault may do); truncated (a clean EOF before `length`: what a tunnel
// must never do); corrupt (a byte that differs or one too many). Both ends arm SO_LINGER 0 while
// a stream is open, so their own crash shows as RST, never as a clean end.
#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using error_code = boost::system::error_code;
using clock_type = std::chrono::steady_clock;
constexpr auto tuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::size_t header_bytes = 16;
constexpr std::size_t io_bytes = 16 * 1024;  // per read/write: small, 1,000 streams stay in ~50 MB

tcp::endpoint parse(const std::string& s) {
  auto c = s.rfind(':');
  return {asio::ip::make_address(s.substr(0, c)), static_cast<unsigned short>(std::stoi(s.substr(c + 1)))};
}

// ---------------------------------------------------------------- the payload
std::uint64_t mix(std::uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
// Byte `offset` of stream `seed` depends only on both: any range can be checked on its own.
void fill(std::uint32_t seed, std::uint64_t offset, unsigned char* p, std::size_t n) {
  const std::uint64_t key = std::uint64_t(seed) << 40;
  while (n > 0) {
    std::uint64_t word = mix(key + offset / 8);
    for (unsigned k = offset % 8; k < 8 && n > 0; ++k, --n, ++offset)
      *p++ = static_cast<unsigned char>(word >> (8 * k));
  }
}
// How many of `n` bytes at `offset` differ from the payload.
std::uint64_t mismatches(std::uint32_t seed, std::uint64_t offset, const unsigned char* p, std::size_t n) {
  unsigned char want[io_bytes];
  std::uint64_t bad = 0;
  while (n > 0) {
    std::size_t k = std::min(n, sizeof want);
    fill(seed, offset, want, k);
    if (std::memcmp(want, p, k) != 0)
      for (std::size_t i = 0; i < k; ++i) bad += want[i] != p[i];
    p += k, offset += k, n -= k;
  }
  return bad;
}

void put_le(unsigned char* p, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
std::uint64_t get_le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= std::uint64_t(p[i]) << (8 * i);
  return v;
}

// SO_LINGER 0 while a stream is open: if this process dies the kernel sends RST, not FIN.
void arm_reset(tcp::socket& s) {
  error_code ignored;  // a socket already closed fails on its next operation
  s.set_option(asio::socket_base::linger(true, 0), ignored);
}
int tcp_state(tcp::socket& s) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(s.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return -1;
  return info.tcpi_state;
}
void close_orderly(tcp::socket& s) {
  error_code ignored;  // as above
  s.set_option(asio::socket_base::linger(false, 0), ignored);
  s.close(ignored);
}
void close_reset(tcp::socket& s) {
  error_code ignored;  // as above
  s.set_option(asio::socket_base::linger(true, 0), ignored);
  s.close(ignored);
}

void write_file_atomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text << "\n";
  }
  std::rename(tmp.c_str(), path.c_str());
}

// ---------------------------------------------------------------- sink
struct sink_stats {
  std::uint64_t accepted = 0, complete = 0, failed = 0, truncated = 0, corrupt_streams = 0, corrupt_bytes = 0,
                no_header = 0, bytes = 0, open = 0;
  std::string json() const {
    char b[512];
    std::snprintf(
        b, sizeof b,
        "{\"accepted\":%llu,\"complete\":%llu,\"failed\":%llu,\"truncated\":%llu,\"corrupt_streams\":%llu,"
        "\"corrupt_bytes\":%llu,\"no_header\":%llu,\"bytes\":%llu,\"open\":%llu}",
        (unsigned long long)accepted, (unsigned long long)complete, (unsigned long long)failed,
        (unsigned long long)truncated, (unsigned long long)corrupt_streams, (unsigned long long)corrupt_bytes,
        (unsigned long long)no_header, (unsigned long long)bytes, (unsigned long long)open);
    return b;
  }
};

asio::awaitable<void> sink_session(tcp::socket s, sink_stats& st) {
  ++st.accepted;
  ++st.open;
  arm_reset(s);
  error_code nodelay_ignored;  // an optimisation only
  s.set_option(tcp::no_delay(true), nodelay_ignored);
  unsigned char header[header_bytes];
  auto [hec, hn] = co_await asio::async_read(s, asio::buffer(header), tuple);
  if (hec || std::memcmp(header, "HCS1", 4) != 0) {
    ++st.no_header;  // a probe, a tunnel torn down before the first byte, or not our client
    --st.open;
    close_reset(s);
    co_return;
  }
  auto seed = static_cast<std::uint32_t>(get_le(header + 4, 4));
  auto length = get_le(header + 8, 8);
  std::vector<unsigned char> buf(io_bytes);
  std::uint64_t received = 0, bad = 0;
  error_code end;
  for (;;) {
    auto [rec, n] = co_await s.async_read_some(asio::buffer(buf), tuple);
    if (rec) {
      end = rec;
      break;
    }
    std::uint64_t in_range = received < length ? std::min<std::uint64_t>(n, length - received) : 0;
    bad += mismatches(seed, received, buf.data(), in_range) + (n - in_range);
    received += n;
    st.bytes += n;
    auto [wec, w] = co_await asio::async_write(s, asio::buffer(buf.data(), n), tuple);
    if (wec) {
      end = wec;
      break;
    }
  }
  --st.open;
  if (bad) {
    ++st.corrupt_streams;
    st.corrupt_bytes += bad;
    std::fprintf(stderr, "CORRUPT at sink: seed %u length %llu: %llu bad bytes\n", seed,
                 (unsigned long long)length, (unsigned long long)bad);
  }
  if (end != asio::error::eof) {
    ++st.failed;
    close_reset(s);
    co_return;
  }
  if (received < length) {
    ++st.truncated;
    std::fprintf(stderr, "TRUNCATED at sink: seed %u: clean EOF after %llu of %llu bytes\n", seed,
                 (unsigned long long)received, (unsigned long long)length);
    close_reset(s);
    co_return;
  }
  if (!bad) ++st.complete;
  error_code ignored;  // the client may be gone; it then counts its own outcome
  s.shutdown(tcp::socket::shutdown_send, ignored);
  close_orderly(s);
}

asio::awaitable<void> sink_accept(tcp::acceptor& a, sink_stats& st) {
  for (;;) {
    auto [ec, s] = co_await a.async_accept(tuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;  // EMFILE and the like: the client sees a reset and counts it
    asio::co_spawn(a.get_executor(), sink_session(std::move(s), st), asio::detached);
  }
}

asio::awaitable<void> write_stats_every(std::string path, const sink_stats& st) {
  auto ex = co_await asio::this_coro::executor;  // own statement: net/types.hpp
  asio::steady_timer t(ex);
  for (;;) {
    write_file_atomically(path, st.json());
    t.expires_after(std::chrono::milliseconds(250));
    auto [ec] = co_await t.async_wait(tuple);
    if (ec) co_return;
  }
}

// ---------------------------------------------------------------- load
struct load_options {
  tcp::endpoint target;
  int streams = 100;
  double seconds = 10;
  std::uint64_t min_bytes = 1024, max_bytes = 1 << 20;
  double kbps = 0;  // per stream, 0: as fast as the path goes
  std::uint32_t seed = 1;
  double stall_seconds = 30;
  double ramp_seconds = 0;  // worker i starts at i/streams of this: no burst of handshakes
};

struct load_stats {
  std::uint64_t started = 0, complete = 0, failed_setup = 0, failed_cut = 0, truncated = 0,
                corrupt_streams = 0, corrupt_bytes = 0, stalled = 0, bytes_sent = 0, bytes_received = 0,
                bytes_verified = 0;
  std::vector<double> failure_times;   // seconds since start, each failed stream (setup or cut)
  std::vector<std::string> anomalies;  // truncated, corrupt or stalled streams, described
};

class load_run {
 public:
  load_run(asio::io_context& io, load_options o) : io_(io), o_(o), started_(clock_type::now()) {}
  load_stats& stats() { return st_; }
  double elapsed() const { return std::chrono::duration<double>(clock_type::now() - started_).count(); }

  asio::awaitable<void> worker(int index) {
    std::mt19937_64 rng(mix(o_.seed * 1000003ull + std::uint64_t(index)));
    if (o_.ramp_seconds > 0) {
      asio::steady_timer ramp(
          io_, std::chrono::duration_cast<clock_type::duration>(
                   std::chrono::duration<double>(o_.ramp_seconds * index / std::max(1, o_.streams))));
      auto [rec] = co_await ramp.async_wait(tuple);
      (void)rec;
    }
    auto until = started_ +
                 std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o_.seconds));
    while (clock_type::now() < until) {
      std::uniform_int_distribution<std::uint64_t> size(o_.min_bytes, o_.max_bytes);
      auto length = size(rng);
      auto seed = static_cast<std::uint32_t>(rng());
      bool failed = co_await one_stream(seed, length);
      if (failed) {  // the path is down or a fault cut it: do not spin
        asio::steady_timer t(io_, std::chrono::milliseconds(100));
        co_await t.async_wait(tuple);
      }
    }
  }

 private:
  struct stream_state {
    stream_state(tcp::socket sock, std::uint32_t sd, std::uint64_t len)
        : socket(std::move(sock)), seed(sd), length(len) {}
    tcp::socket socket;
    std::uint32_t seed;
    std::uint64_t length;
    std::uint64_t sent = 0, received = 0, bad = 0;
    error_code write_error, read_error;
    clock_type::time_point progress = clock_type::now();
    bool write_done = false, read_done = false;
    bool reset_taken_by_writer = false;  // the read's EOF came after the writer saw the RST
    bool stalled = false;
  };

  void failed(stream_state& s, bool cut) {
    ++(cut ? st_.failed_cut : st_.failed_setup);
    if (st_.failure_times.size() < 100000) st_.failure_times.push_back(elapsed());
  }
  void anomaly(const std::string& what) {
    std::fprintf(stderr, "%s\n", what.c_str());
    if (st_.anomalies.size() < 50) st_.anomalies.push_back(what);
  }

  // True when the stream failed (an error, so the caller pauses before the next).
  asio::awaitable<bool> one_stream(std::uint32_t seed, std::uint64_t length) {
    ++st_.started;
    stream_state s(tcp::socket(io_), seed, length);
    asio::steady_timer watchdog(io_);
    bool connected = false;
    {
      watchdog.expires_after(std::chrono::seconds(10));
      watchdog.async_wait([&](error_code ec) {
        if (!ec && !connected) {
          error_code ignored;  // aborts the connect
          s.socket.close(ignored);
        }
      });
      auto [cec] = co_await s.socket.async_connect(o_.target, tuple);
      connected = true;
      watchdog.cancel();
      if (cec) {
        failed(s, false);
        co_return true;
      }
    }
    arm_reset(s.socket);
    error_code nodelay_ignored;  // an optimisation only
    s.socket.set_option(tcp::no_delay(true), nodelay_ignored);
    {
      using namespace asio::experimental::awaitable_operators;
      auto joined = write_side(s) && read_side(s) && watch(s);  // named first: net/types.hpp
      co_await std::move(joined);
    }
    close_orderly(s.socket);
    char what[256];
    if (s.bad || s.received > s.length) {
      ++st_.corrupt_streams;
      st_.corrupt_bytes += s.bad + (s.received > s.length ? s.received - s.length : 0);
      std::snprintf(what, sizeof what, "CORRUPT: seed %u length %llu: %llu bad bytes at %.2f s", seed,
                    (unsigned long long)length, (unsigned long long)s.bad, elapsed());
      anomaly(what);
      co_return false;
    }
    if (s.read_error == asio::error::eof && s.received < s.length && !s.reset_taken_by_writer) {
      ++st_.truncated;
      std::snprintf(what, sizeof what,
                    "TRUNCATED: seed %u: clean EOF after %llu of %llu echoed bytes (%llu sent%s%s) at %.2f s",
                    seed, (unsigned long long)s.received, (unsigned long long)length,
                    (unsigned long long)s.sent, s.write_error ? ", write: " : "",
                    s.write_error ? s.write_error.message().c_str() : "", elapsed());
      anomaly(what);
      co_return true;
    }
    if (s.stalled) {
      ++st_.stalled;
      std::snprintf(what, sizeof what,
                    "STALLED: seed %u: no progress for %.0f s after %llu sent, %llu of %llu echoed at %.2f s",
                    seed, o_.stall_seconds, (unsigned long long)s.sent, (unsigned long long)s.received,
                    (unsigned long long)length, elapsed());
      anomaly(what);
      co_return true;
    }
    if (s.read_error != asio::error::eof || s.write_error) {
      failed(s, s.received > 0);
      co_return true;
    }
    ++st_.complete;
    st_.bytes_verified += s.received;
    co_return false;
  }

  asio::awaitable<void> write_side(stream_state& s) {
    co_await write_all(s);
    s.write_done = true;
  }
  asio::awaitable<void> write_all(stream_state& s) {
    std::vector<unsigned char> buf(io_bytes);
    put_le(buf.data(), 0x31534348, 4);  // "HCS1"
    put_le(buf.data() + 4, s.seed, 4);
    put_le(buf.data() + 8, s.length, 8);
    auto [hec, hn] = co_await asio::async_write(s.socket, asio::buffer(buf.data(), header_bytes), tuple);
    if (hec) {
      s.write_error = hec;
      co_return;
    }
    auto began = clock_type::now();
    asio::steady_timer pace(io_);
    while (s.sent < s.length) {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(io_bytes, s.length - s.sent));
      fill(s.seed, s.sent, buf.data(), n);
      auto [wec, w] = co_await asio::async_write(s.socket, asio::buffer(buf.data(), n), tuple);
      if (wec) {
        s.write_error = wec;
        co_return;
      }
      s.sent += n;
      st_.bytes_sent += n;
      s.progress = clock_type::now();
      if (o_.kbps > 0) {
        pace.expires_at(began + std::chrono::duration_cast<clock_type::duration>(
                                    std::chrono::duration<double>(double(s.sent) / (o_.kbps * 1024))));
        auto [tec] = co_await pace.async_wait(tuple);
        (void)tec;
      }
    }
    error_code ignored;  // a failed half-close shows as a read error
    s.socket.shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> read_side(stream_state& s) {
    std::vector<unsigned char> buf(io_bytes);
    for (;;) {
      auto [ec, n] = co_await s.socket.async_read_some(asio::buffer(buf), tuple);
      if (ec) {
        s.read_error = ec;
        s.read_done = true;
        // Linux reports a RST once, to whichever call comes first: when the writer took it, this
        // read sees EOF. That EOF is the reset's, not a FIN (a FIN leaves the writer unharmed).
        // The writer's completion may not have run yet, so ask the socket: after a RST it is CLOSED,
        // after a FIN it is CLOSE_WAIT (or TIME_WAIT once our own FIN went out).
        s.reset_taken_by_writer = s.write_error == asio::error::connection_reset ||
                                  s.write_error == asio::error::broken_pipe ||
                                  tcp_state(s.socket) == TCP_CLOSE;
        // The echo ended: a writer still blocked has nobody left to read it.
        if (!s.write_done) {
          error_code ignored;  // the writer then ends with operation_aborted
          s.socket.cancel(ignored);
        }
        co_return;
      }
      std::uint64_t in_range = s.received < s.length ? std::min<std::uint64_t>(n, s.length - s.received) : 0;
      s.bad += mismatches(s.seed, s.received, buf.data(), in_range);
      s.received += n;
      st_.bytes_received += n;
      s.progress = clock_type::now();
    }
  }

  // Ends a stream that made no progress for stall_seconds (a hung tunnel is a failure too).
  asio::awaitable<void> watch(stream_state& s) {
    asio::steady_timer t(io_);
    auto limit =
        std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o_.stall_seconds));
    while (!(s.read_done && s.write_done)) {
      t.expires_after(std::chrono::milliseconds(250));
      auto [ec] = co_await t.async_wait(tuple);
      (void)ec;
      if (!(s.read_done && s.write_done) && clock_type::now() - s.progress > limit) {
        s.stalled = true;
        close_reset(s.socket);
        co_return;
      }
    }
  }

  asio::io_context& io_;
  load_options o_;
  clock_type::time_point started_;
  load_stats st_;
};

std::string report_json(const load_options& o, const load_stats& st, double seconds) {
  std::string j = "{";
  auto num = [&](const char* k, double v, bool comma = true) {
    char b[96];
    std::snprintf(b, sizeof b, "\"%s\":%.17g%s", k, v, comma ? "," : "");
    j += b;
  };
  num("streams", o.streams);
  num("seed", o.seed);
  num("seconds", seconds);
  num("started", double(st.started));
  num("complete", double(st.complete));
  num("failed_setup", double(st.failed_setup));
  num("failed_cut", double(st.failed_cut));
  num("truncated", double(st.truncated));
  num("corrupt_streams", double(st.corrupt_streams));
  num("corrupt_bytes", double(st.corrupt_bytes));
  num("stalled", double(st.stalled));
  num("bytes_sent", double(st.bytes_sent));
  num("bytes_received", double(st.bytes_received));
  num("bytes_verified", double(st.bytes_verified));
  j += "\"failure_times\":[";
  for (std::size_t i = 0; i < st.failure_times.size(); ++i) {
    char b[32];
    std::snprintf(b, sizeof b, "%s%.2f", i ? "," : "", st.failure_times[i]);
    j += b;
  }
  j += "],\"anomalies\":[";
  for (std::size_t i = 0; i < st.anomalies.size(); ++i) j += (i ? ",\"" : "\"") + st.anomalies[i] + "\"";
  j += "]}";
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hcsoak: checksummed bidirectional streams (fault tests, scripts/soak)"};
  app.require_subcommand(1);
  std::string listen, target, stats_file, report_file;
  load_options o;
  auto* sink = app.add_subcommand("sink", "check and echo streams");
  sink->add_option("--listen", listen)->required();
  sink->add_option("--stats", stats_file, "rewrite this JSON file with the counters every 250 ms");
  auto* load = app.add_subcommand("load", "run N concurrent streams for S seconds");
  load->add_option("--target", target)->required();
  load->add_option("--streams", o.streams);
  load->add_option("--seconds", o.seconds, "start new streams until then");
  load->add_option("--min-bytes", o.min_bytes);
  load->add_option("--max-bytes", o.max_bytes);
  load->add_option("--kbps", o.kbps, "pace each stream's sending to this many KiB/s (0: unpaced)");
  load->add_option("--seed", o.seed);
  load->add_option("--stall-seconds", o.stall_seconds, "a stream without progress this long fails");
  load->add_option("--ramp-seconds", o.ramp_seconds, "spread the streams' starts over this long");
  load->add_option("--report", report_file, "also write the JSON report here");
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGPIPE, SIG_IGN);

  asio::io_context io(1);
  if (*sink) {
    tcp::acceptor a(io, parse(listen));
    std::printf("{\"listening\":%u}\n", a.local_endpoint().port());
    std::fflush(stdout);
    sink_stats st;
    asio::co_spawn(io, sink_accept(a, st), asio::detached);
    if (!stats_file.empty()) asio::co_spawn(io, write_stats_every(stats_file, st), asio::detached);
    asio::signal_set stop(io, SIGTERM, SIGINT);
    stop.async_wait([&](error_code, int) { io.stop(); });
    io.run();
    if (!stats_file.empty()) write_file_atomically(stats_file, st.json());
    std::printf("%s\n", st.json().c_str());
    return 0;
  }
  o.target = parse(target);
  o.max_bytes = std::max(o.max_bytes, o.min_bytes);
  load_run run(io, o);
  for (int i = 0; i < o.streams; ++i) asio::co_spawn(io, run.worker(i), asio::detached);
  io.run();
  auto json = report_json(o, run.stats(), run.elapsed());
  if (!report_file.empty()) write_file_atomically(report_file, json);
  std::printf("%s\n", json.c_str());
  const auto& st = run.stats();
  return st.truncated || st.corrupt_streams || st.stalled ? 2 : 0;
}
