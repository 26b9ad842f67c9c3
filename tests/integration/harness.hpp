// tests/integration/harness: what every integration test needs to drive real programs on
// loopback: child processes from HC_BIN_DIR (own process group, output in a per-test log file,
// SIGTERM then SIGKILL on destruction), bounded waits for files, a relay fixture (hcrelay on port
// 0 with --dev-tls in a fresh temp dir), bounded coroutine runs, and the client side of every
// gesture (REST API, SAS tokens, listener control channel, accept/reject, sender, frames).
// The tests themselves live in *_test.cpp. Single-threaded: every coroutine helper runs on the
// caller's io_context (the one run_bounded makes); nothing here is shared between tests.
#pragma once
#include "net/limits.hpp"
#include "net/tls.hpp"
#include "net/websocket.hpp"
#include "net/ws_client.hpp"
#include "proto/connection_string.hpp"
#include "proto/control_messages.hpp"
#include "proto/ws_frame.hpp"

#include <gtest/gtest.h>

#include <sys/types.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace hc::test {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using net::task;
using proto::header_list;
using proto::opcode;

// ---------------------------------------------------------------- failures
// Thrown by require*() and by the gesture helpers when a step a test depends on fails;
// run_bounded turns it into a GoogleTest failure with the message and where it came from.
struct test_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void require(bool condition, std::string_view what,
             std::source_location where = std::source_location::current());

template <class A, class B>
void require_eq(const A& actual, const B& expected, std::string_view what,
                std::source_location where = std::source_location::current()) {
  if (actual == expected) return;
  throw test_failure(std::string(where.file_name()) + ":" + std::to_string(where.line()) + ": " +
                     std::string(what) + ": expected " + ::testing::PrintToString(expected) + ", got " +
                     ::testing::PrintToString(actual));
}

// g++ 12 and co_await (net/types.hpp): give every co_await result a name before using it inside
// a GoogleTest macro, a braced initializer or a member access, e.g. `auto frame = co_await read_frame(ws);
// EXPECT_EQ(frame.payload, "x");`.

// Runs `body` on a fresh io_context until it finishes or `timeout` passes (then the test fails
// and the coroutine is destroyed with the io_context, closing whatever sockets it held).
// Exceptions thrown by the body are reported as test failures.
void run_bounded(const std::function<task<>()>& body, std::chrono::steady_clock::duration timeout);

// ---------------------------------------------------------------- files and processes
// A fresh directory for the current test (under $TMPDIR or /tmp), named after it. Removed by
// the destructor when the test passed; kept (and its path printed) when it failed, for the logs.
class test_dir {
 public:
  test_dir();
  ~test_dir();
  test_dir(const test_dir&) = delete;
  test_dir& operator=(const test_dir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Polls every few milliseconds until `path` exists or `timeout` passes; true when it exists.
bool wait_for_file(const fs::path& path, std::chrono::steady_clock::duration timeout);
// Polls `ready` the same way; true when it returned true before the deadline.
// Waits `d` on the current coroutine's executor.
task<> pause_for(std::chrono::milliseconds d);

bool wait_until(const std::function<bool()>& ready, std::chrono::steady_clock::duration timeout);
std::string read_text_file(const fs::path& path);
// The end of a log for a failure message: at most `max_chars`, "..." in front when cut.
std::string last_lines(const std::string& text, std::size_t max_chars = 4000);
// HC_BIN_DIR/program: where the build puts hcrelay, hcm, hcconnect, hcctl. The environment
// variable HC_BIN_DIR, when set, wins over the compiled-in directory.
std::string bin_path(std::string_view program);

// One spawned program. It runs in its own process group with stdout and stderr appended to
// `log_file`, and dies with the test process (PR_SET_PDEATHSIG). The destructor stops it.
class child_process {
 public:
  child_process(const std::string& program, const std::vector<std::string>& args, const fs::path& log_file,
                const std::vector<std::pair<std::string, std::string>>& extra_env = {});
  ~child_process();
  child_process(child_process&& other) noexcept;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  child_process& operator=(child_process&&) = delete;

  pid_t pid() const { return pid_; }
  // False once the program has exited (it is reaped then; exit_status() tells how).
  bool running();
  // The raw waitpid status once exited.
  std::optional<int> exit_status() const { return status_; }
  // SIGTERM to the process group, up to `grace` for it to exit, then SIGKILL. Idempotent.
  // A sanitizer report in what the program wrote to its log fails the current test (programs
  // from a sanitizer build, HC_BIN_DIR, report leaks and undefined behaviour there).
  void stop(std::chrono::steady_clock::duration grace = 5s);
  // Waits up to `timeout` for the program to exit by itself; true when it did.
  bool wait_exit(std::chrono::steady_clock::duration timeout);
  const fs::path& log_file() const { return log_file_; }
  std::string log() const { return read_text_file(log_file_); }

 private:
  void fail_on_sanitizer_report();

  pid_t pid_ = -1;  // -1 once moved from
  std::optional<int> status_;
  fs::path log_file_;
  std::uintmax_t log_start_ = 0;  // this run's part of a log that restarts append to
  bool log_checked_ = false;
};

// Runs `program args` to completion (bounded: a program still running after `timeout` is stopped
// and the test fails), its output captured in a log file under `dir`.
struct program_result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
program_result run_program(const fs::path& dir, const std::string& program,
                           const std::vector<std::string>& args, std::chrono::seconds timeout = 60s);

// While it lives, this test process and every program it starts from now on resolve `names` to
// 127.0.0.1: a hosts file (the system's plus those names) bound over /etc/hosts in a mount
// namespace of the process's own, entered on first use with private propagation, so the host's
// /etc/hosts is never touched. Needs root (CAP_SYS_ADMIN), which the suite runs with; create it
// before any thread that should resolve the names (asio's resolver threads start later).
class private_hosts {
 public:
  private_hosts(const fs::path& dir, const std::vector<std::string>& names);
  ~private_hosts();
  private_hosts(const private_hosts&) = delete;
  private_hosts& operator=(const private_hosts&) = delete;
};

// ---------------------------------------------------------------- the relay
// hcrelay --data-dir DIR --listen 127.0.0.1:0 --dev-tls, started by the constructor, which returns
// once DIR/root.connection-string exists (written after the port is bound) or throws.
// extra_args may carry --listen ADDR:PORT (default 127.0.0.1:0).
class relay_process {
 public:
  explicit relay_process(const fs::path& dir, const std::vector<std::string>& extra_args = {});

  std::uint16_t port() const { return root_.port; }
  const std::string& host() const { return root_.host; }  // "localhost"
  const proto::connection_string& root() const { return root_; }
  const fs::path& data_dir() const { return dir_; }
  fs::path ca_file() const { return dir_ / "tls" / "ca.pem"; }
  const net::tls_context& tls() const { return tls_; }  // client context trusting ca.pem
  child_process& process() { return process_; }

  std::string https_url(std::string_view target) const;  // https://localhost:PORT{target}
  // The sr a .NET client signs for an entity: http://localhost/{path} (no port). "" = namespace.
  std::string resource_uri(std::string_view path) const;
  // A RootManageSharedAccessKey token for the whole namespace.
  std::string root_token(std::chrono::seconds ttl = 1h) const;

 private:
  fs::path dir_;
  child_process process_;
  proto::connection_string root_;
  net::tls_context tls_;
};

// GoogleTest fixture: a fresh relay in a fresh directory for every test. TearDown fails the
// test when the relay died during it (a crash is a bug whatever the test checked).
class relay_test : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Runs one test body on its own io_context, failing the test if it takes longer than `timeout`.
  void run(const std::function<task<>()>& body, std::chrono::steady_clock::duration timeout = 30s) {
    run_bounded(body, timeout);
  }
  relay_process& relay() { return *relay_; }

  test_dir dir_;
  std::optional<relay_process> relay_;
};

// A SAS token for `path` ("" = the namespace) signed with `key`; expiry = now + ttl (negative:
// already expired).
std::string make_token(const relay_process& relay, std::string_view path, std::string_view rule,
                       std::string_view key, std::chrono::seconds ttl = 1h);

// ---------------------------------------------------------------- management REST API
// Any call under /api/v1/namespaces/localhost/hybridConnections/{rest} with the root token.
// GET `target` (as it is, e.g. "/$admin/metrics") from the relay; `headers` default to a root
// token. Requires an answer (any status).
task<net::http_response> https_get(const relay_process& relay, std::string target, header_list headers = {});
task<net::http_response> management_call(const relay_process& relay, std::string method, std::string rest,
                                         std::string body = {});
// PUT the hybrid connection (201 or 200 required). The default body gives it an endpoint.
task<boost::json::object> create_hc(const relay_process& relay, std::string name,
                                    std::string json_body = R"({"endpoint":"localhost:9"})");
task<boost::json::object> get_hc(const relay_process& relay, std::string name);
task<> delete_hc(const relay_process& relay, std::string name);
// Polls GET until listenerCount == expected (short intervals, bounded); false on timeout.
task<bool> wait_listener_count(const relay_process& relay, std::string name, std::size_t expected,
                               std::chrono::steady_clock::duration timeout = 10s);
// POST .../authorizationRules/{rule}/listKeys; returns primaryKey.
task<std::string> rule_key(const relay_process& relay, std::string hc, std::string rule);

// Endpoint=sb://localhost:PORT/;SharedAccessKeyName=rule;SharedAccessKey=key;EntityPath=name
std::string hc_connection_string(const relay_process& relay, const std::string& name, const std::string& rule,
                                 const std::string& key);

// A hybrid connection made by create_hc with tokens for its default rules.
struct hc_fixture {
  std::string name;
  std::string listen_key;  // defaultListener (Listen)
  std::string send_key;    // defaultSender (Send)
  std::string listen_token;
  std::string send_token;
};
task<hc_fixture> make_hc(const relay_process& relay, std::string name,
                         std::string json_body = R"({"endpoint":"localhost:9"})");

// ---------------------------------------------------------------- gestures
// wss://localhost:PORT/$hc/{path}?sb-hc-action=listen[&sb-hc-id=id]; the token (when not empty)
// in the ServiceBusAuthorization header. Returns the dial result as it is (status, reason).
task<net::dial_result> open_listener(const relay_process& relay, std::string path, std::string token,
                                     std::string id = {}, header_list headers = {});
// The same, but requires the 101 and returns the control channel.
task<net::ws_connection> connect_listener(const relay_process& relay, std::string path, std::string token,
                                          std::string id = {});
// Reads the next control message, requires it to be an accept and returns it.
task<proto::accept_message> read_accept(net::ws_connection& control);
// Dials an accept (or reject) address as it is, no token.
task<net::dial_result> dial_address(const relay_process& relay, std::string address,
                                    header_list headers = {});
// wss://localhost:PORT/$hc/{path}[?{query}&]sb-hc-action=connect; token (when not empty) in the
// ServiceBusAuthorization header.
task<net::dial_result> open_sender(const relay_process& relay, std::string path, std::string token,
                                   header_list headers = {}, std::string query = {});

// A tunnel: the sender's leg and the listener's rendezvous leg.
struct tunnel {
  net::ws_connection sender;
  net::ws_connection listener;
  proto::accept_message accept;  // what the control channel carried
  net::dial_result sender_dial;  // status, headers of the sender's 101 (connection moved out)
};
// Opens a sender and, on `control`, accepts it (listener_headers go on the accept dial).
task<tunnel> open_tunnel(const relay_process& relay, net::ws_connection& control, std::string path,
                         std::string send_token, header_list sender_headers = {},
                         header_list listener_headers = {});

// ---------------------------------------------------------------- frames
struct ws_frame {
  opcode op = opcode::binary;
  bool fin = true;
  std::string payload;
  bool operator==(const ws_frame&) const = default;
};
// GoogleTest printer: opcode, FIN, size and the start of the payload.
void PrintTo(const ws_frame& frame, std::ostream* os);
// One whole frame; throws test_failure (naming `who`) when the connection fails.
task<ws_frame> read_frame(net::ws_connection& ws, std::string_view who = "peer");
// The next frame's header or the error that ended the connection (for "was it closed?").
task<net::error_code> read_until_error(net::ws_connection& ws);
task<> send_frame(net::ws_connection& ws, opcode op, bool fin, std::string payload);
task<> send_close(net::ws_connection& ws, std::uint16_t code, std::string reason);
// Code and reason of a Close frame (1005 for an empty payload).
proto::close_info close_of(const ws_frame& frame);
// Echoes every frame (opcode, FIN, payload) back until the peer's Close, which it echoes too.
task<> echo_until_close(net::ws_connection& ws);

// The relay still serves: a new hybrid connection, listener, sender, one echoed message each
// way, clean closes. Call at the end of every failure-case test.
task<> expect_healthy_echo(const relay_process& relay);

// The end of a suite that shares one relay: it still carries an echo (expect_healthy_echo) and
// is still running.
void expect_still_serving(relay_process& relay);

// Runs `a` and `b` concurrently on this strand and returns both results once both finished.
// If one throws, the other is cancelled and the exception propagates. (Results are boxed
// because Asio's && flattens tuple results, which would break nesting both() calls.)
template <class T>
struct boxed {
  T value;
};
template <class T>
task<boxed<T>> box(task<T> t) {
  T value = co_await std::move(t);  // not inside the braces: net/types.hpp
  co_return boxed<T>{std::move(value)};
}
template <class A, class B>
task<std::tuple<A, B>> both(task<A> a, task<B> b) {
  using namespace asio::experimental::awaitable_operators;
  auto results = co_await (box(std::move(a)) && box(std::move(b)));
  co_return std::tuple<A, B>{std::move(std::get<0>(results).value), std::move(std::get<1>(results).value)};
}

}  // namespace hc::test
