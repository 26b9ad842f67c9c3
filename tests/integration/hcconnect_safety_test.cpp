// tests/integration/hcconnect_safety_test: hcconnect on a host that other users share (issue
// 16): a process squatting on an endpoint's predictable loopback address is refused by `run`
// and `hosts --apply` and named by `run-service`; hcconnect and hcm daemons run with core files
// off. No relay is needed: endpoints are added with --endpoint, and nothing here dials one.
#include "hcconnect_support.hpp"
#include "hcm_support.hpp"

#include <boost/json.hpp>

#include <sys/resource.h>

#include <fstream>

namespace hc::test {
namespace {

constexpr const char* send_string =
    "Endpoint=sb://relay.invalid/;SharedAccessKeyName=defaultSender;SharedAccessKey=c2VjcmV0;"
    "EntityPath=cache";

class hcconnect_safety_test : public ::testing::Test {
 protected:
  fs::path config_dir() const { return dir_.path() / "cfg"; }

  program_result hcconnect(std::vector<std::string> args) {
    std::vector<std::string> all{"--config-dir", config_dir().string()};
    all.insert(all.end(), args.begin(), args.end());
    return run_program(dir_.path(), bin_path("hcconnect"), all, 30s);
  }
  child_process daemon(const std::string& log_name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--config-dir", config_dir().string(), "run-service"};
    args.insert(args.end(), extra.begin(), extra.end());
    return child_process(bin_path("hcconnect"), args, dir_.path() / log_name);
  }
  // GET `path` from the daemon's metrics port: the body, a space and the status.
  static std::string probe(std::uint16_t port, const std::string& path) {
    return hcm::shell("curl -s --max-time 5 -w ' %{http_code}' http://127.0.0.1:" + std::to_string(port) +
                      path)
        .output;
  }

  // Adds endpoint safety.corp.internal:PORT and returns the loopback address hcconnect picked: a
  // host no other suite uses, so its address is this suite's alone (another suite's hcconnect on
  // cache.corp.internal's address, run in parallel, may be given the same port number).
  std::string add_endpoint(std::uint16_t port) {
    auto added =
        hcconnect({"add", send_string, "--endpoint", "safety.corp.internal:" + std::to_string(port)});
    if (added.exit_code != 0) throw test_failure("hcconnect add: " + added.output);
    auto doc = boost::json::parse(read_text_file(config_dir() / "endpoints.json"));
    return std::string(doc.as_array().at(0).at("loopbackAddress").as_string());
  }

  test_dir dir_;
};

// "soft" core-file limit of a process, from /proc/PID/limits ("Max core file size  0  unlimited ...").
std::string core_limit_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("Max core file size")) {
      std::istringstream fields(line.substr(18));
      std::string soft;
      fields >> soft;
      return soft;
    }
  return "?";
}

TEST_F(hcconnect_safety_test, run_refuses_an_endpoint_address_held_by_another_process) {
  auto port = pick_free_port();
  auto address = add_endpoint(port);
  squatter squat(address, port);  // this test process, not hcconnect

  auto run = hcconnect({"run", "--", "/bin/true"});
  EXPECT_NE(run.exit_code, 0) << "the command must not run: its connections would reach the squatter\n"
                              << run.output;
  auto expected = address + ":" + std::to_string(port) + " is taken by another process (uid " +
                  std::to_string(::geteuid()) + ", pid " + std::to_string(::getpid());
  EXPECT_NE(run.output.find(expected), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("not by hcconnect"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("endpoints.json"), std::string::npos) << "the way out: " << run.output;
}

TEST_F(hcconnect_safety_test, run_uses_a_daemon_that_answers_on_its_status_socket) {
  auto port = pick_free_port();
  auto address = add_endpoint(port);
  auto metrics_port = pick_free_port();
  auto d = daemon("daemon.log", {"--metrics-port", std::to_string(metrics_port)});
  ASSERT_TRUE(wait_until([&] { return port_bound(address, port); }, 10s)) << d.log();
  ASSERT_TRUE(wait_for_file(config_dir() / "hcconnect.sock", 5s)) << d.log();
  EXPECT_EQ(probe(metrics_port, "/readyz"), "ready\n 200") << "every endpoint listens";
  auto run = hcconnect({"--log-level", "info", "run", "--", "/bin/true"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.find("in-process"), std::string::npos) << "the daemon serves: " << run.output;
  d.stop();
  EXPECT_FALSE(fs::exists(config_dir() / "hcconnect.sock")) << "the daemon removes its socket on SIGTERM";
}

TEST_F(hcconnect_safety_test, run_service_names_the_process_that_holds_an_endpoint_address) {
  auto port = pick_free_port();
  auto address = add_endpoint(port);
  squatter squat(address, port);
  auto metrics_port = pick_free_port();
  auto d = daemon("daemon.log", {"--metrics-port", std::to_string(metrics_port)});
  auto expected = "cannot listen: " + address + ":" + std::to_string(port) +
                  " is taken by another process (uid " + std::to_string(::geteuid()) + ", pid " +
                  std::to_string(::getpid());
  EXPECT_TRUE(wait_until([&] { return d.log().find(expected) != std::string::npos; }, 10s)) << d.log();
  const std::string not_ready = "not ready: 1 of 1 endpoints cannot listen (hcconnect's log says why)\n 503";
  std::string ready;  // the log line comes a moment before the daemon counts its endpoints
  EXPECT_TRUE(wait_until([&] { return (ready = probe(metrics_port, "/readyz")) == not_ready; }, 5s)) << ready;
  EXPECT_EQ(probe(metrics_port, "/healthz").substr(0, 4), "ok: ");
}

TEST_F(hcconnect_safety_test, hosts_apply_refuses_to_point_a_name_at_an_address_held_by_another_process) {
  auto port = pick_free_port();
  auto address = add_endpoint(port);
  auto hosts = dir_.path() / "hosts";
  std::ofstream(hosts) << "127.0.0.1 localhost\n";
  squatter squat(address, port);
  auto applied = hcconnect({"hosts", "--apply", "--hosts-file", hosts.string()});
  EXPECT_NE(applied.exit_code, 0) << applied.output;
  EXPECT_NE(applied.output.find("is taken by another process"), std::string::npos) << applied.output;
  EXPECT_EQ(read_text_file(hosts), "127.0.0.1 localhost\n");
}

// Raises this process's soft core-file limit for the programs started while it lives (their
// limit is inherited), so that a program that does not turn core files off shows a non-zero one.
class core_files_allowed {
 public:
  core_files_allowed() {
    ::getrlimit(RLIMIT_CORE, &saved_);
    rlimit raised = saved_;
    raised.rlim_cur = raised.rlim_max == RLIM_INFINITY ? 1 << 20 : raised.rlim_max;
    ::setrlimit(RLIMIT_CORE, &raised);
  }
  ~core_files_allowed() { ::setrlimit(RLIMIT_CORE, &saved_); }
  bool raised() const { return saved_.rlim_max != 0; }

 private:
  rlimit saved_{};
};

TEST_F(hcconnect_safety_test, hcconnect_and_hcm_daemons_run_with_core_files_off) {
  add_endpoint(pick_free_port());
  std::optional<child_process> d, hcm;
  {
    core_files_allowed allowed;
    if (!allowed.raised()) GTEST_SKIP() << "the hard core-file limit is 0 here: nothing to turn off";
    d.emplace(daemon("daemon.log"));
    hcm.emplace(bin_path("hcm"),
                std::vector<std::string>{"run", "--config-dir", (dir_.path() / "hcm").string()},
                dir_.path() / "hcm.log");
  }
  EXPECT_TRUE(wait_for_file(config_dir() / "hcconnect.pid", 10s)) << d->log();
  EXPECT_EQ(core_limit_of(d->pid()), "0") << d->log();
  EXPECT_TRUE(
      wait_until([&] { return hcm->log().find("connection(s) configured") != std::string::npos; }, 10s))
      << hcm->log();
  EXPECT_EQ(core_limit_of(hcm->pid()), "0") << hcm->log();
  EXPECT_TRUE(hcm->running()) << hcm->log();
}

}  // namespace
}  // namespace hc::test
