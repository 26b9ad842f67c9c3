// tests/integration/harness: processes, the relay fixture and client gestures (see harness.hpp).
#include "harness.hpp"

#include "net/clock.hpp"
#include "proto/encoding.hpp"
#include "proto/sas.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace hc::test {
namespace {

// How often bounded waits look again: short, so readiness is noticed quickly.
constexpr auto poll_interval = 5ms;

std::string where_text(const std::source_location& where) {
  return std::string(where.file_name()) + ":" + std::to_string(where.line());
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string last_lines(const std::string& text, std::size_t max_chars) {
  return text.size() <= max_chars ? text : "..." + text.substr(text.size() - max_chars);
}

void require(bool condition, std::string_view what, std::source_location where) {
  if (!condition) throw test_failure(where_text(where) + ": " + std::string(what));
}

void run_bounded(const std::function<task<>()>& body, std::chrono::steady_clock::duration timeout) {
  asio::io_context io;
  bool finished = false;
  std::exception_ptr error;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    finished = true;
    error = e;
  });
  io.run_for(timeout);
  if (!finished) {
    ADD_FAILURE() << "the test did not finish within "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count() << " ms";
    return;
  }
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
}

// ---------------------------------------------------------------- files and processes

test_dir::test_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "hcrelay-test";
  for (char& c : name)
    if (c == '/') c = '_';
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/hcit-" + name + "-XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  path_ = pattern;
}

test_dir::~test_dir() {
  if (::testing::Test::HasFailure()) {
    std::fprintf(stderr, "[ harness  ] kept %s (logs of the failed test)\n", path_.c_str());
    return;
  }
  std::error_code ignored;  // a leftover file must not fail a passing test
  fs::remove_all(path_, ignored);
}

task<> pause_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

bool wait_until(const std::function<bool()>& ready, std::chrono::steady_clock::duration timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(poll_interval);
  }
}

bool wait_for_file(const fs::path& path, std::chrono::steady_clock::duration timeout) {
  return wait_until([&] { return fs::exists(path); }, timeout);
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string bin_path(std::string_view program) {
  const char* override_dir = std::getenv("HC_BIN_DIR");  // e.g. a sanitizer build of the programs
  return (fs::path(override_dir && *override_dir ? override_dir : HC_BIN_DIR) / program).string();
}

child_process::child_process(const std::string& program, const std::vector<std::string>& args,
                             const fs::path& log_file,
                             const std::vector<std::pair<std::string, std::string>>& extra_env)
    : log_file_(log_file) {
  // Everything the child needs is prepared before fork: it may only make system calls.
  std::vector<std::string> argv_text{program};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    bool replaced = false;
    for (const auto& [k, v] : extra_env) replaced |= entry.starts_with(k + "=");
    if (!replaced) env_text.emplace_back(entry);
  }
  for (const auto& [k, v] : extra_env) env_text.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);

  std::error_code no_log_yet;
  auto size = fs::file_size(log_file, no_log_yet);
  log_start_ = no_log_yet ? 0 : size;
  int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_file.string() + ": " + std::strerror(errno));
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the test process is already gone
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::syscall(SYS_close_range, 3u, ~0u, 0u);  // no test socket leaks into the child
    ::execve(argv[0], argv.data(), envp.data());
    const char msg[] = "harness: execve failed\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so a signal sent right away reaches the group
  ::close(log_fd);
  pid_ = pid;
}

child_process::child_process(child_process&& other) noexcept
    : pid_(other.pid_),
      status_(other.status_),
      log_file_(std::move(other.log_file_)),
      log_start_(other.log_start_),
      log_checked_(other.log_checked_) {
  other.pid_ = -1;
}

child_process::~child_process() {
  stop();
}

bool child_process::running() {
  if (pid_ < 0 || status_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return r == 0;
}

bool child_process::wait_exit(std::chrono::steady_clock::duration timeout) {
  return wait_until([&] { return !running(); }, timeout);
}

void child_process::stop(std::chrono::steady_clock::duration grace) {
  if (pid_ < 0) return;
  if (running()) {
    ::kill(-pid_, SIGTERM);
    if (!wait_exit(grace)) {
      ::kill(-pid_, SIGKILL);
      int st = 0;
      if (::waitpid(pid_, &st, 0) == pid_) status_ = st;
    }
  }
  ::kill(-pid_, SIGKILL);  // whatever the program itself started
  fail_on_sanitizer_report();
}

// ASan, LSan and UBSan each print a line naming themselves ("ERROR: AddressSanitizer: ...",
// "SUMMARY: UndefinedBehaviorSanitizer: ...") after their report, even when the program goes on.
void child_process::fail_on_sanitizer_report() {
  if (log_checked_) return;
  log_checked_ = true;
  auto text = read_text_file(log_file_);
  auto own = text.substr(std::min<std::size_t>(log_start_, text.size()));
  auto at = own.find("Sanitizer:");
  if (at == std::string::npos) return;
  at = std::min(at, own.find("runtime error:"));  // UBSan's report precedes its SUMMARY line
  auto line = own.rfind('\n', at);
  auto report = own.substr(line == std::string::npos ? 0 : line + 1, 4000);
  ADD_FAILURE() << "sanitizer report in " << log_file_.string() << ":\n" << report;
}

// ---------------------------------------------------------------- the relay

program_result run_program(const fs::path& dir, const std::string& program,
                           const std::vector<std::string>& args, std::chrono::seconds timeout) {
  static std::atomic<int> counter = 0;
  auto log = dir / ("cmd-" + std::to_string(++counter) + ".log");
  child_process p(program, args, log);
  program_result r;
  if (!p.wait_exit(timeout)) {
    p.stop();
    r.output = p.log();
    ADD_FAILURE() << program << " did not finish in " << timeout.count() << " s; output:\n" << r.output;
    return r;
  }
  auto st = p.exit_status().value_or(-1);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.output = p.log();
  return r;
}

private_hosts::private_hosts(const fs::path& dir, const std::vector<std::string>& names) {
  static bool own_namespace = false;
  if (!own_namespace) {
    if (::unshare(CLONE_NEWNS) != 0)
      throw test_failure(std::string("unshare(CLONE_NEWNS) failed (the suite needs root): ") +
                         std::strerror(errno));
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      throw test_failure(std::string("making the mount namespace private failed: ") + std::strerror(errno));
    own_namespace = true;
  }
  auto file = dir / "hosts";
  std::string text = read_text_file("/etc/hosts");
  for (const auto& n : names) text += "127.0.0.1 " + n + "\n";
  { std::ofstream(file) << text; }
  if (::mount(file.c_str(), "/etc/hosts", nullptr, MS_BIND, nullptr) != 0)
    throw test_failure(std::string("binding a hosts file over /etc/hosts failed: ") + std::strerror(errno));
}

private_hosts::~private_hosts() {
  ::umount2("/etc/hosts", MNT_DETACH);
}

relay_process::relay_process(const fs::path& dir, const std::vector<std::string>& extra_args)
    : dir_(dir / "relay"), process_([&] {
        fs::create_directories(dir / "relay");
        std::vector<std::string> args{"--data-dir", (dir / "relay").string(), "--dev-tls", "--log-level",
                                      "debug"};
        if (std::find(extra_args.begin(), extra_args.end(), "--listen") == extra_args.end())
          args.insert(args.end(), {"--listen", "127.0.0.1:0"});
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        return child_process(bin_path("hcrelay"), args, dir / "hcrelay.log");
      }()) {
  auto written = dir_ / "root.connection-string";
  bool ready = wait_until([&] { return fs::exists(written) || !process_.running(); }, 20s);
  if (!ready || !fs::exists(written)) {
    throw std::runtime_error(
        std::string(process_.running() ? "hcrelay did not write " : "hcrelay exited before writing ") +
        written.string() + "; its log:\n" + last_lines(process_.log()));
  }
  auto parsed = proto::parse_connection_string(trim(read_text_file(written)));
  if (!parsed) throw std::runtime_error("root.connection-string does not parse: " + parsed.error().message);
  root_ = *parsed;
  tls_ = net::make_client_tls(ca_file().string());
}

std::string relay_process::https_url(std::string_view target) const {
  return "https://" + root_.host + ":" + std::to_string(root_.port) + std::string(target);
}

std::string relay_process::resource_uri(std::string_view path) const {
  return "http://" + root_.host + "/" + std::string(path);
}

std::string relay_process::root_token(std::chrono::seconds ttl) const {
  return make_token(*this, "", root_.key_name, root_.key, ttl);
}

void relay_test::SetUp() {
  relay_.emplace(dir_.path());
}

void relay_test::TearDown() {
  if (!relay_) return;
  EXPECT_TRUE(relay_->process().running()) << "hcrelay exited during the test (wait status "
                                           << relay_->process().exit_status().value_or(-1) << "); its log:\n"
                                           << last_lines(relay_->process().log());
  relay_.reset();
}

std::string make_token(const relay_process& relay, std::string_view path, std::string_view rule,
                       std::string_view key, std::chrono::seconds ttl) {
  return proto::make_sas_token(relay.resource_uri(path), rule, key, net::unix_now() + ttl.count());
}

// ---------------------------------------------------------------- management REST API

task<net::http_response> https_get(const relay_process& relay, std::string target, header_list headers) {
  net::http_call call;
  call.url = relay.https_url(target);
  call.headers = std::move(headers);
  if (call.headers.empty()) call.headers = {{"Authorization", relay.root_token()}};
  call.tls = relay.tls();
  call.timeout = 10s;
  auto r = co_await net::call_http(std::move(call));
  require(r.response.has_value(), "GET " + target + " failed: " + r.error);
  co_return std::move(*r.response);
}

task<net::http_response> management_call(const relay_process& relay, std::string method, std::string rest,
                                         std::string body) {
  net::http_call call;
  call.method = method;
  call.url = relay.https_url("/$admin/api/v1/namespaces/" + proto::to_lower(relay.host()) +
                             "/hybridConnections/" + rest);
  call.headers = {{"Authorization", relay.root_token()}};
  if (!body.empty()) call.headers.emplace_back("Content-Type", "application/json");
  call.body = std::move(body);
  call.tls = relay.tls();
  call.timeout = 10s;
  auto r = co_await net::call_http(std::move(call));
  require(r.response.has_value(), method + " " + rest + " failed: " + r.error);
  co_return std::move(*r.response);
}

task<boost::json::object> create_hc(const relay_process& relay, std::string name, std::string json_body) {
  auto r = co_await management_call(relay, "PUT", name, json_body);
  require(r.status == 201 || r.status == 200,
          "PUT hybrid connection " + name + ": " + std::to_string(r.status) + " " + r.body);
  co_return boost::json::parse(r.body).as_object();
}

task<boost::json::object> get_hc(const relay_process& relay, std::string name) {
  auto r = co_await management_call(relay, "GET", name);
  require_eq(r.status, 200, "GET hybrid connection " + name + " (" + r.body + ")");
  co_return boost::json::parse(r.body).as_object();
}

task<> delete_hc(const relay_process& relay, std::string name) {
  auto r = co_await management_call(relay, "DELETE", name);
  require(r.status == 204 || r.status == 200,
          "DELETE hybrid connection " + name + ": " + std::to_string(r.status) + " " + r.body);
}

task<bool> wait_listener_count(const relay_process& relay, std::string name, std::size_t expected,
                               std::chrono::steady_clock::duration timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer pause(co_await asio::this_coro::executor);
  for (;;) {
    auto view = co_await get_hc(relay, name);
    if (view.at("listenerCount").to_number<std::size_t>() == expected) co_return true;
    if (std::chrono::steady_clock::now() >= until) co_return false;
    pause.expires_after(poll_interval);
    co_await pause.async_wait(net::use_tuple);
  }
}

task<std::string> rule_key(const relay_process& relay, std::string hc, std::string rule) {
  auto r = co_await management_call(relay, "POST", hc + "/authorizationRules/" + rule + "/listKeys");
  require_eq(r.status, 200, "listKeys " + hc + "/" + rule + " (" + r.body + ")");
  auto v = boost::json::parse(r.body);
  co_return std::string(v.at("primaryKey").as_string());
}

task<hc_fixture> make_hc(const relay_process& relay, std::string name, std::string json_body) {
  co_await create_hc(relay, name, std::move(json_body));
  hc_fixture f;
  f.name = name;
  f.listen_key = co_await rule_key(relay, name, "defaultListener");
  f.send_key = co_await rule_key(relay, name, "defaultSender");
  f.listen_token = make_token(relay, name, "defaultListener", f.listen_key);
  f.send_token = make_token(relay, name, "defaultSender", f.send_key);
  co_return f;
}

// ---------------------------------------------------------------- gestures

task<net::dial_result> open_listener(const relay_process& relay, std::string path, std::string token,
                                     std::string id, header_list headers) {
  net::dial_request d;
  d.url =
      "wss://" + relay.host() + ":" + std::to_string(relay.port()) + "/$hc/" + path + "?sb-hc-action=listen";
  if (!id.empty()) d.url += "&sb-hc-id=" + proto::percent_encode(id);
  if (!token.empty()) headers.emplace_back("ServiceBusAuthorization", token);
  d.headers = std::move(headers);
  d.tls = relay.tls();
  d.timeout = 10s;
  co_return co_await net::dial_websocket(std::move(d));
}

task<net::ws_connection> connect_listener(const relay_process& relay, std::string path, std::string token,
                                          std::string id) {
  auto r = co_await open_listener(relay, path, token, id);
  require(r.connection.has_value(), "listener on " + path + " refused: " + r.error);
  co_return std::move(*r.connection);
}

task<proto::accept_message> read_accept(net::ws_connection& control) {
  for (;;) {
    auto f = co_await read_frame(control, "listener control channel");
    if (f.op == opcode::ping || f.op == opcode::pong) continue;
    require(f.op == opcode::text && f.fin, "control channel: expected a text message, got opcode " +
                                               std::to_string(int(f.op)) + " " + f.payload);
    auto command = proto::parse_relay_command(f.payload);
    require(command.has_value(), "control message does not parse: " + f.payload);
    auto* accept = std::get_if<proto::accept_message>(&*command);
    require(accept != nullptr, "control message is not an accept: " + f.payload);
    co_return std::move(*accept);
  }
}

task<net::dial_result> dial_address(const relay_process& relay, std::string address, header_list headers) {
  net::dial_request d;
  d.url = std::move(address);
  d.headers = std::move(headers);
  d.tls = relay.tls();
  d.timeout = 10s;
  co_return co_await net::dial_websocket(std::move(d));
}

task<net::dial_result> open_sender(const relay_process& relay, std::string path, std::string token,
                                   header_list headers, std::string query) {
  net::dial_request d;
  d.url = "wss://" + relay.host() + ":" + std::to_string(relay.port()) + "/$hc/" + path + "?" +
          (query.empty() ? "" : query + "&") + "sb-hc-action=connect";
  if (!token.empty()) headers.emplace_back("ServiceBusAuthorization", token);
  d.headers = std::move(headers);
  d.tls = relay.tls();
  // Longer than the relay's accept window, so a listener that never answers shows as the
  // relay's 504 rather than as our own timeout.
  d.timeout = net::limits::rendezvous_timeout + 15s;
  co_return co_await net::dial_websocket(std::move(d));
}

namespace {
task<std::pair<proto::accept_message, net::dial_result>> accept_next(const relay_process& relay,
                                                                     net::ws_connection& control,
                                                                     header_list headers) {
  auto accept = co_await read_accept(control);
  auto leg = co_await dial_address(relay, accept.address, std::move(headers));
  co_return std::pair{std::move(accept), std::move(leg)};
}
}  // namespace

task<tunnel> open_tunnel(const relay_process& relay, net::ws_connection& control, std::string path,
                         std::string send_token, header_list sender_headers, header_list listener_headers) {
  // No structured bindings of co_await results here (net/types.hpp).
  auto legs = co_await both(open_sender(relay, path, send_token, std::move(sender_headers)),
                            accept_next(relay, control, std::move(listener_headers)));
  auto& sender = std::get<0>(legs);
  auto& listener = std::get<1>(legs).second;
  require(listener.connection.has_value(), "the listener's accept failed: " + listener.error);
  require(sender.connection.has_value(), "the sender's connect failed: " + sender.error);
  tunnel t{std::move(*sender.connection), std::move(*listener.connection), std::move(std::get<1>(legs).first),
           std::move(sender)};
  t.sender_dial.connection.reset();
  co_return t;
}

// ---------------------------------------------------------------- frames

void PrintTo(const ws_frame& frame, std::ostream* os) {
  *os << "{op=" << int(frame.op) << " fin=" << frame.fin << " " << frame.payload.size() << " bytes";
  if (!frame.payload.empty())
    *os << " \"" << frame.payload.substr(0, 40) << (frame.payload.size() > 40 ? "...\"" : "\"");
  *os << "}";
}

task<ws_frame> read_frame(net::ws_connection& ws, std::string_view who) {
  auto [ec, h] = co_await ws.read_header();
  require(!ec, std::string(who) + ": reading a frame failed: " + ec.message());
  ws_frame f;
  f.op = h.op;
  f.fin = h.fin;
  f.payload.resize(std::size_t(h.payload_length));
  std::size_t at = 0;
  while (ws.payload_remaining() > 0) {
    auto r = co_await ws.read_payload(asio::buffer(f.payload.data() + at, f.payload.size() - at));
    require(!r.ec, std::string(who) + ": reading a payload failed: " + r.ec.message());
    at += r.bytes;
  }
  co_return f;
}

task<net::error_code> read_until_error(net::ws_connection& ws) {
  for (;;) {
    auto [ec, h] = co_await ws.read_header();
    if (ec) co_return ec;
  }
}

task<> send_frame(net::ws_connection& ws, opcode op, bool fin, std::string payload) {
  auto ec = co_await ws.write_frame(
      op, fin, std::span(reinterpret_cast<std::uint8_t*>(payload.data()), payload.size()));
  require(!ec, "writing a frame failed: " + ec.message());
}

task<> send_close(net::ws_connection& ws, std::uint16_t code, std::string reason) {
  co_await send_frame(ws, opcode::close, true, proto::build_close_payload(code, reason));
}

proto::close_info close_of(const ws_frame& frame) {
  auto info = proto::parse_close_payload(
      std::span(reinterpret_cast<const std::uint8_t*>(frame.payload.data()), frame.payload.size()));
  require(info.has_value(), "the Close payload does not parse");
  return *info;
}

task<> echo_until_close(net::ws_connection& ws) {
  for (;;) {
    auto f = co_await read_frame(ws, "echo");
    if (f.op == opcode::ping || f.op == opcode::pong) continue;
    co_await send_frame(ws, f.op, f.fin, f.payload);
    if (f.op == opcode::close) co_return;
  }
}

task<> expect_healthy_echo(const relay_process& relay) {
  static int round = 0;
  auto hc = co_await make_hc(relay, "healthy-" + std::to_string(++round));
  auto control = co_await connect_listener(relay, hc.name, hc.listen_token);
  auto t = co_await open_tunnel(relay, control, hc.name, hc.send_token);
  auto sender_side = [&]() -> task<std::string> {
    co_await send_frame(t.sender, opcode::text, true, "still serving");
    auto echoed = co_await read_frame(t.sender, "health-check sender");
    co_await send_close(t.sender, 1000, "done");
    auto closed = co_await read_frame(t.sender, "health-check sender");
    require(closed.op == opcode::close, "health check: expected the Close echo");
    co_return echoed.payload;
  };
  auto listener_side = [&]() -> task<bool> {
    co_await echo_until_close(t.listener);
    co_return true;
  };
  auto [echoed, done] = co_await both(sender_side(), listener_side());
  require_eq(echoed, std::string("still serving"), "health check echo");
  co_await send_close(control, 1000, "done");
  auto closed = co_await read_frame(control, "health-check control channel");
  require(closed.op == opcode::close, "health check: expected the control channel's Close echo");
}

void expect_still_serving(relay_process& relay) {
  run_bounded([&]() -> task<> { co_await expect_healthy_echo(relay); }, 30s);
  EXPECT_TRUE(relay.process().running()) << relay.process().log();
}

std::string hc_connection_string(const relay_process& relay, const std::string& name, const std::string& rule,
                                 const std::string& key) {
  proto::connection_string cs;
  cs.host = relay.host();
  cs.port = relay.port();
  cs.port_given = true;
  cs.key_name = rule;
  cs.key = key;
  cs.entity_path = name;
  return cs.to_string();
}

}  // namespace hc::test
