// connector/run_command: `hcconnect run -- CMD` (see run_command.hpp).
#include "connector/run_command.hpp"

#include "connector/app_pins.hpp"
#include "connector/listener_owner.hpp"
#include "util/core_dumps.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

extern char** environ;

namespace hc::connector {
namespace fs = std::filesystem;

namespace {

// The child the signal handler forwards to; written before the handlers are installed.
volatile sig_atomic_t child_pid = 0;

void forward_signal(int sig) {
  if (child_pid > 0) ::kill(pid_t(child_pid), sig);
}

}  // namespace

std::string hosts_env(const endpoint_config& config) {
  std::string out;
  std::set<std::string> seen;
  for (const auto& e : config.entries) {
    if (!seen.insert(e.endpoint_host).second) continue;
    if (!out.empty()) out += ';';
    out += e.endpoint_host + "=" + e.loopback_address;
  }
  return out;
}

std::string find_intercept_library() {
  if (const char* v = std::getenv("HCCONNECT_INTERCEPT_LIB"); v && *v) return v;
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  auto prefix = exe.parent_path().parent_path();
  for (auto candidate :
       {exe.parent_path() / "libhcintercept.so", prefix / "lib" / "hcconnect" / "libhcintercept.so",
        prefix / "lib" / "libhcintercept.so"})
    if (fs::exists(candidate, ec)) return candidate.string();
  return {};
}

std::string pid_file_path(const std::string& state_dir) {
  return (fs::path(state_dir) / "hcconnect.pid").string();
}

int run_command(service_options options, const std::vector<std::string>& command) {
  if (command.empty()) throw std::runtime_error("nothing to run: use hcconnect run -- COMMAND [ARGS...]");
  endpoint_config config;
  if (options.app) {
    // App Service mode: the names the command may resolve are the app's at start-up (the shim
    // reads them once); the in-process service keeps following the app.
    auto answer = fetch_app_endpoints_now(*options.app, net::make_client_tls(options.ca_file));
    if (!answer.config) throw std::runtime_error("app " + options.app->app + ": " + answer.error);
    // Only the accepted endpoints' names are redirected (app_pins); the rest are named, not used.
    auto decision = decide_app_endpoints(*answer.config, *options.app, options.state_dir, {});
    for (const auto& change : decision.waiting) spdlog::warn("{}", waiting_sentence(*options.app, change));
    config = std::move(decision.config);
  } else {
    config = load_config(options.config_dir);
  }
  auto library = find_intercept_library();
  if (library.empty())
    throw std::runtime_error(
        "libhcintercept.so was not found next to hcconnect, in ../lib/hcconnect or in ../lib "
        "(set HCCONNECT_INTERCEPT_LIB to its path)");
  if (config.entries.empty())
    spdlog::warn("no endpoints configured in {}: {} runs without redirection", options.config_dir,
                 command.front());

  // The daemon when one answers, else an in-process one that lives until CMD has exited. Either
  // way every address CMD will be sent to must be held by hcconnect, not by a squatter.
  std::optional<connector_service> service;
  const std::string hint_dir = options.app ? std::string() : options.config_dir;
  if ((options.app || !config.entries.empty()) &&
      !daemon_holds_what_is_taken(config, options.state_dir, hint_dir)) {
    spdlog::info("no hcconnect daemon running: serving {} endpoint(s) in-process while {} runs",
                 config.entries.size(), command.front());
    service.emplace(options);
    service->start();
    refuse_foreign_listeners(config, service->bound_addresses(), hint_dir);  // bound in the meantime
  }

  // The child's environment: ours, with LD_PRELOAD prepended and HCCONNECT_HOSTS set.
  std::vector<std::string> env;
  std::string preload = library;
  for (char** e = environ; *e; ++e) {
    std::string_view item(*e);
    if (item.starts_with("LD_PRELOAD=")) {
      auto existing = item.substr(11);
      if (!existing.empty()) preload += ":" + std::string(existing);
      continue;
    }
    if (item.starts_with("HCCONNECT_HOSTS=")) continue;
    env.emplace_back(item);
  }
  env.push_back("LD_PRELOAD=" + preload);
  env.push_back("HCCONNECT_HOSTS=" + hosts_env(config));
  std::vector<char*> envp, argv;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args(command);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // The command gets default signal dispositions: hcconnect ignores SIGPIPE (its TLS writes go
  // through OpenSSL's socket BIO), and an ignored signal would otherwise stay ignored across exec.
  util::restore_core_limit_for_children();
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  sigset_t defaults;
  ::sigemptyset(&defaults);
  ::sigaddset(&defaults, SIGPIPE);
  ::posix_spawnattr_setsigdefault(&attr, &defaults);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int err = ::posix_spawnp(&pid, argv[0], nullptr, &attr, argv.data(), envp.data());
  ::posix_spawnattr_destroy(&attr);
  if (err != 0) {
    spdlog::error("cannot run {}: {}", command.front(), std::strerror(err));
    return 127;
  }
  child_pid = pid;
  struct sigaction sa {};
  sa.sa_handler = forward_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(sig, &sa, nullptr);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  child_pid = 0;
  if (service) service->stop();
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace hc::connector
