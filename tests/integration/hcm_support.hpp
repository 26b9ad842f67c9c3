// tests/integration/hcm_support: what the hcm tests add to harness.hpp: the test fixture (a relay,
// hybrid connections on it), an hcm service process with its own config dir, its UI token, the hcm CLI run to
// completion (exit code + output), an in-test sender (a loopback TCP port whose every connection becomes
// relay connect + splice, the hcconnect role) on its own thread and io_context, a TCP echo endpoint, shell
// commands (redis-cli, curl) and free ports for third-party servers. Each object belongs to one test; nothing
// is shared between tests.
#pragma once
#include "harness.hpp"
#include "net/pump.hpp"
#include "net/relay_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <thread>

namespace hc::test::hcm {

inline std::uint16_t free_port() {
  asio::io_context io;
  net::tcp::acceptor a(io, {asio::ip::address_v4::loopback(), 0});
  return a.local_endpoint().port();
}

// Runs a shell command to completion; stdout and stderr together.
struct command_result {
  int rc = -1;
  std::string output;
};
inline command_result shell(const std::string& command) {
  command_result r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
  int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Single-quoted for sh (connection strings hold ';' and '=').
inline std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline std::string listener_string(const relay_process& relay, const std::string& name,
                                   const std::string& rule, const std::string& key) {
  return hc_connection_string(relay, name, rule, key);
}

// Runs a coroutine to completion on a private io_context (for use outside run_bounded).
template <class T>
T sync(task<T> t, std::chrono::steady_clock::duration limit = 20s) {
  asio::io_context io;
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(t), [&](std::exception_ptr e, T v) {
    failure = e;
    if (!e) out = std::move(v);
  });
  io.run_for(limit);
  if (failure) std::rethrow_exception(failure);
  if (!out) throw test_failure("a relay call did not finish in time");
  return std::move(*out);
}

// One hcm installation: a config dir, the CLI, and (after start()) the service.
class hcm_instance {
 public:
  hcm_instance(fs::path dir, fs::path ca_file, std::vector<std::pair<std::string, std::string>> env = {})
      : dir_(std::move(dir)), ca_file_(std::move(ca_file)), env_(std::move(env)) {
    fs::create_directories(dir_);
  }
  const fs::path& config_dir() const { return dir_; }

  command_result cli(const std::string& args) const {
    std::string prefix = "HCRELAY_CA_FILE=" + quote(ca_file_.string()) + " ";
    for (auto& [k, v] : env_) prefix += k + "=" + quote(v) + " ";
    return shell(prefix + quote(bin_path("hcm")) + " --config-dir " + quote(dir_.string()) + " " + args);
  }

  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"run", "--config-dir", dir_.string(), "--log-level", "debug"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto env = env_;
    env.emplace_back("HCRELAY_CA_FILE", ca_file_.string());
    process_.emplace(bin_path("hcm"), args, dir_ / "hcm-stdout.log", env);
  }
  child_process& process() { return *process_; }
  void kill9() {
    ::kill(process_->pid(), SIGKILL);
    process_->wait_exit(5s);
  }

  // `hcm show NS NAME -o json`, parsed (empty object when it failed).
  boost::json::object show(const std::string& ns, const std::string& name) const {
    auto r = cli("show " + quote(ns) + " " + quote(name) + " -o json");
    if (r.rc != 0) return {};
    boost::json::error_code ec;
    auto v = boost::json::parse(r.output, ec);
    return !ec && v.is_object() ? v.get_object() : boost::json::object{};
  }
  // A string field of `hcm show -o json` ("" when absent).
  std::string text(const std::string& ns, const std::string& name, const std::string& field) const {
    auto o = show(ns, name);
    auto* s = o.if_contains(field);
    return s && s->is_string() ? std::string(s->get_string()) : std::string();
  }
  std::string status(const std::string& ns, const std::string& name) const {
    return text(ns, name, "Status");
  }
  std::int64_t number(const std::string& ns, const std::string& name, const std::string& field) const {
    auto o = show(ns, name);
    auto* s = o.if_contains(field);
    return s && s->is_number() ? s->to_number<std::int64_t>() : -1;
  }
  bool wait_status(const std::string& ns, const std::string& name, const std::string& want,
                   std::chrono::steady_clock::duration limit = 20s) const {
    return wait_until([&] { return status(ns, name) == want; }, limit);
  }
  std::string log() const { return read_text_file(dir_ / "hcm-stdout.log"); }
  // The web UI's token as `hcm run` stored it ("" before the service made it).
  std::string ui_token() const {
    auto text = read_text_file(dir_ / "ui-token");
    return text.substr(0, text.find('\n'));
  }

 private:
  fs::path dir_, ca_file_;
  std::vector<std::pair<std::string, std::string>> env_;
  std::optional<child_process> process_;
};

// A relay per test, hybrid connections on it with endpoints on loopback, and hcm installations.
class hcm_fixture : public ::testing::Test {
 protected:
  void SetUp() override { relay_.emplace(dir_.path()); }
  relay_process& relay() { return *relay_; }

  // A hybrid connection whose endpoint is localhost:port.
  hc_fixture make(const std::string& name, std::uint16_t port) {
    return sync(make_hc(relay(), name, R"({"endpoint":"localhost:)" + std::to_string(port) + R"("})"));
  }
  std::string listen_string(const hc_fixture& hc) {
    return listener_string(relay(), hc.name, "defaultListener", hc.listen_key);
  }
  std::string send_string(const hc_fixture& hc) {
    return listener_string(relay(), hc.name, "defaultSender", hc.send_key);
  }
  hcm_instance make_hcm(const std::string& name, std::vector<std::pair<std::string, std::string>> env = {}) {
    env.emplace_back("HCM_REFRESH_SECONDS", "1");
    return hcm_instance(dir_.path() / name, relay().ca_file(), std::move(env));
  }
  // `hcm add` with `flags` (such as "--follow-endpoint") before the connection string.
  void add(const hcm_instance& h, const hc_fixture& hc, const std::string& flags = "") {
    auto r = h.cli("add " + flags + (flags.empty() ? "" : " ") + quote(listen_string(hc)));
    ASSERT_EQ(r.rc, 0) << r.output;
  }
  // One connect as the sender (defaultSender), as it ended: a 502's reason says why hcm refused.
  // One sender connect: its status and reason. A connection that opened is closed on the private
  // io_context it belongs to, before that goes away (its socket must not outlive it).
  struct send_outcome {
    int status = 0;
    std::string reason;
    std::string error;
  };
  send_outcome send_once(const hc_fixture& hc, std::chrono::steady_clock::duration limit = 20s) {
    net::relay_client sender(*proto::parse_connection_string(send_string(hc)), relay().tls());
    auto attempt = [&]() -> task<send_outcome> {
      auto dialed = co_await sender.connect();
      if (dialed.connection) dialed.connection->stream().close();
      co_return send_outcome{dialed.status, dialed.reason, dialed.error};
    };
    return sync(attempt(), limit);
  }
  bool listeners(const std::string& name, std::size_t n) {
    return sync(wait_listener_count(relay(), name, n, 15s), 20s);
  }

  test_dir dir_;
  std::optional<relay_process> relay_;
};

// The sender side: every TCP connection to port() becomes relay connect + splice (TCP is the app side).
// Failed connects are counted and their status kept; the TCP connection is then closed.
class sender_forwarder {
 public:
  sender_forwarder(const std::string& send_connection_string, net::tls_context tls)
      : client_(*proto::parse_connection_string(send_connection_string), std::move(tls)),
        acceptor_(io_, {asio::ip::address_v4::loopback(), 0}) {
    asio::co_spawn(io_, accept_loop(), [](std::exception_ptr) {});
    thread_ = std::thread([this] { io_.run(); });
  }
  ~sender_forwarder() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int failed() const { return failed_.load(); }

 private:
  task<> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(net::use_tuple);
      if (ec) co_return;
      asio::co_spawn(asio::make_strand(io_), forward(std::move(socket)), [](std::exception_ptr) {});
    }
  }
  task<> forward(net::tcp::socket socket) {
    auto tcp = net::byte_stream::plain(std::move(socket));
    auto dial = co_await client_.connect();
    if (!dial) {
      failed_.fetch_add(1);
      tcp.reset();
      co_return;
    }
    net::tunnel_counters counters;
    co_await net::splice(*dial.connection, tcp, counters, net::tunnel_side::app_side);
    dial.connection->stream().close();
    tcp.close();
  }

  asio::io_context io_;
  net::relay_client client_;
  net::tcp::acceptor acceptor_;
  std::atomic<int> failed_{0};
  std::thread thread_;
};

// A TCP echo server on 127.0.0.1 on its own thread: echoes until EOF, then half-closes. Counts
// the connections it accepted (so a test can tell which endpoint a tunnel reached).
class tcp_echo_server {
 public:
  tcp_echo_server() : acceptor_(io_, {asio::ip::address_v4::loopback(), 0}) {
    asio::co_spawn(io_, accept_loop(), [](std::exception_ptr) {});
    thread_ = std::thread([this] { io_.run(); });
  }
  ~tcp_echo_server() {
    io_.stop();
    thread_.join();
  }
  tcp_echo_server(const tcp_echo_server&) = delete;
  tcp_echo_server& operator=(const tcp_echo_server&) = delete;
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int accepted() const { return accepted_.load(); }

 private:
  task<> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(net::use_tuple);
      if (ec) co_return;
      accepted_.fetch_add(1);
      asio::co_spawn(io_, echo(std::move(socket)), [](std::exception_ptr) {});
    }
  }
  static task<> echo(net::tcp::socket socket) {
    char buf[4096];
    for (;;) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), net::use_tuple);
      if (ec) break;
      auto [wec, written] = co_await asio::async_write(socket, asio::buffer(buf, n), net::use_tuple);
      if (wec) co_return;
    }
    net::error_code ignored;
    socket.shutdown(net::tcp::socket::shutdown_send, ignored);
  }

  asio::io_context io_;
  net::tcp::acceptor acceptor_;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// redis-server on a free port, no persistence; ready when it answers PING.
class redis_process {
 public:
  explicit redis_process(const fs::path& dir) : port_(free_port()) {
    process_.emplace("/usr/bin/redis-server",
                     std::vector<std::string>{"--port", std::to_string(port_), "--save", "", "--appendonly",
                                              "no", "--bind", "127.0.0.1"},
                     dir / "redis.log");
    if (!wait_until([&] { return ping(port_); }, 10s)) throw test_failure("redis-server did not start");
  }
  std::uint16_t port() const { return port_; }
  static bool ping(std::uint16_t port) {
    return shell("redis-cli -p " + std::to_string(port) + " PING").output.find("PONG") != std::string::npos;
  }

 private:
  std::uint16_t port_;
  std::optional<child_process> process_;
};

// hcctl with `relay`'s root connection string and CA: `options` go before the verb (such as
// --proxy), `env` is a "NAME=value ..." prefix for the shell.
inline command_result hcctl(const relay_process& relay, const std::string& options, const std::string& args,
                            const std::string& env = {}) {
  return shell(env + " HCRELAY_CA_FILE=" + quote(relay.ca_file().string()) + " HCRELAY_CONNECTION_STRING=" +
               quote(relay.root().to_string()) + " " + quote(bin_path("hcctl")) + " " + options + " " + args);
}

// Creates hybrid connection `name` (endpoint localhost:port) in the root connection string's
// namespace with hcctl, and returns its listener and sender connection strings.
struct hc_strings {
  std::string listen;
  std::string send;
};
inline hc_strings create_with_hcctl(const relay_process& relay, const std::string& options,
                                    const std::string& name, std::uint16_t endpoint_port) {
  auto made =
      hcctl(relay, options, "hc create " + name + " --endpoint localhost:" + std::to_string(endpoint_port));
  require(made.rc == 0, "hcctl hc create: " + made.output);
  hc_strings out;
  for (auto* s : {&out.listen, &out.send}) {
    auto r = hcctl(relay, options,
                   "hc connection-string " + name + " --rule " +
                       (s == &out.listen ? "defaultListener" : "defaultSender"));
    require(r.rc == 0, "hcctl hc connection-string: " + r.output);
    *s = r.output.substr(0, r.output.find('\n'));
  }
  return out;
}

// Writes `line` on `socket` and requires the same bytes back (an echo endpoint at the far end).
inline task<> expect_echo(net::tcp::socket& socket, const std::string& line) {
  auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(line), net::use_tuple);
  require(!wec, "write: " + wec.message());
  std::string back(line.size(), '\0');
  auto [rec, rn] = co_await asio::async_read(socket, asio::buffer(back), net::use_tuple);
  require(!rec, "read the echo: " + rec.message());
  require_eq(back, line, "the echo");
}

inline unsigned file_mode(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

}  // namespace hc::test::hcm
