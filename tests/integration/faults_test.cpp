// tests/integration/faults_test: the whole path as real processes under faults: hcsoak load (the
// app) -> hcconnect -> hcrelay (TLS) -> two hcm on one hybrid connection, each in a mount
// namespace whose /etc/hosts maps the endpoint name -> hcsoak sink (the private service, an
// echo that checks every byte). Faults at a random moment during traffic: kill -9 of an hcm, of
// hcconnect and of hcrelay (restarted on the same port and data dir), the endpoint killed and
// restarted, SIGSTOP stalls. Every test then checks, on both ends, that no stream was silently
// truncated (a clean EOF before the stream's length) or corrupted, and that the path serves
// new streams again with no manual step. The random moments come from a seed each test prints;
// HC_FAULT_SEED=N repeats a run. hcsoak (bench/hcsoak.cpp) owns the stream format and checks.
#include "hcconnect_support.hpp"

#include <boost/json.hpp>

#include <csignal>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

namespace hc::test {
namespace {

constexpr const char* endpoint_name = "cache.corp.internal";

struct load_report {
  std::int64_t started = 0, complete = 0, failed_setup = 0, failed_cut = 0, truncated = 0,
               corrupt_streams = 0, stalled = 0, bytes_verified = 0;
  std::string text;  // the whole report, for failure messages
};

class faults_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* s = std::getenv("HC_FAULT_SEED"))
      seed_ = static_cast<std::uint32_t>(std::strtoul(s, nullptr, 10));
    else
      seed_ = std::random_device{}();
    rng_.seed(seed_);
    std::printf("[  faults  ] seed %u (HC_FAULT_SEED=%u repeats this run)\n", seed_, seed_);
    RecordProperty("fault_seed", std::to_string(seed_));
    for (const char* program : {"hcsoak", "hcm", "hcconnect"})  // built with the suite: missing is a failure
      ASSERT_TRUE(fs::exists(bin_path(program))) << program << " is not built in " << HC_BIN_DIR;

    relay_.emplace(dir_.path());
    relay_port_ = relay_->port();
    start_sink(0);
    run_bounded(
        [&]() -> task<> {
          hc_ = co_await make_hc(
              *relay_, "cache",
              R"({"endpoint":")" + std::string(endpoint_name) + ":" + std::to_string(sink_port_) + R"("})");
        },
        20s);
    std::ofstream(dir_.path() / "hcm-hosts") << "127.0.0.1 localhost\n127.0.0.1 " << endpoint_name << "\n";
    for (int i = 0; i < 2; ++i) {
      auto added =
          run_tool("hcm", {"--config-dir", hcm_dir(i).string(), "--ca-file", relay_->ca_file().string(),
                           "add", hc_connection_string(*relay_, "cache", "defaultListener", hc_.listen_key)});
      ASSERT_EQ(added, 0) << "hcm add failed";
      start_hcm(i);
    }
    ASSERT_TRUE(wait_listeners(2, 20s)) << hcm_[0]->log() << hcm_[1]->log();
    ASSERT_EQ(run_tool("hcconnect",
                       {"--config-dir", connect_dir().string(), "--ca-file", relay_->ca_file().string(),
                        "add", hc_connection_string(*relay_, "cache", "defaultSender", hc_.send_key)}),
              0);
    auto doc = boost::json::parse(read_text_file(connect_dir() / "endpoints.json"));
    loopback_ = std::string(doc.as_array().at(0).at("loopbackAddress").as_string());
    start_hcconnect();
  }

  // ---------------------------------------------------------------- the processes
  fs::path hcm_dir(int i) const { return dir_.path() / ("hcm" + std::to_string(i)); }
  fs::path connect_dir() const { return dir_.path() / "hcconnect"; }

  int run_tool(const std::string& program, const std::vector<std::string>& args) {
    child_process p(bin_path(program), args, dir_.path() / (program + "-cli.log"));
    if (!p.wait_exit(30s)) return -1;
    auto st = p.exit_status().value_or(-1);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

  // hcsoak sink on `port` (0: any; the first start picks the port every later start reuses).
  void start_sink(std::uint16_t port) {
    auto log = dir_.path() / "sink.log";
    auto before = fs::exists(log) ? read_text_file(log).size() : 0;
    sink_.reset();
    sink_.emplace(bin_path("hcsoak"),
                  std::vector<std::string>{"sink", "--listen", "127.0.0.1:" + std::to_string(port)}, log);
    std::string text;
    if (!wait_until(
            [&] {
              text = read_text_file(log).substr(before);
              return text.find('\n') != std::string::npos;
            },
            10s))
      throw test_failure("hcsoak sink did not start: " + text);
    auto at = text.find("\"listening\":");
    if (at == std::string::npos) throw test_failure("hcsoak sink: " + text);
    sink_port_ = static_cast<std::uint16_t>(std::stoi(text.substr(at + 12)));
  }

  // hcm run in its own mount namespace, where (and only where) the endpoint name resolves.
  // unshare and sh exec, so the pid is hcm's own.
  void start_hcm(int i) {
    hcm_[i].reset();
    hcm_[i].emplace("/usr/bin/unshare",
                    std::vector<std::string>{
                        "-m", "/bin/sh", "-c",
                        "mount --bind " + (dir_.path() / "hcm-hosts").string() + " /etc/hosts && exec " +
                            bin_path("hcm") + " --config-dir " + hcm_dir(i).string() + " --ca-file " +
                            relay_->ca_file().string() + " run --ui-port 0 --log-level debug"},
                    dir_.path() / ("hcm" + std::to_string(i) + ".log"));
  }

  void start_hcconnect() {
    hcconnect_.reset();
    hcconnect_.emplace(
        bin_path("hcconnect"),
        std::vector<std::string>{"--config-dir", connect_dir().string(), "--ca-file",
                                 relay_->ca_file().string(), "--log-level", "debug", "run-service"},
        dir_.path() / "hcconnect.log");
    if (!wait_until([&] { return port_bound(loopback_, sink_port_); }, 10s))
      throw test_failure("hcconnect does not listen on " + loopback_ + ":" + std::to_string(sink_port_) +
                         "\n" + hcconnect_->log());
  }

  child_process& relay_child() { return restarted_relay_ ? *restarted_relay_ : relay_->process(); }

  // The same data dir and port: hcm and hcconnect must find it again by themselves.
  void restart_relay() {
    restarted_relay_.reset();
    restarted_relay_.emplace(bin_path("hcrelay"),
                             std::vector<std::string>{"--data-dir", relay_->data_dir().string(), "--listen",
                                                      "127.0.0.1:" + std::to_string(relay_port_), "--dev-tls",
                                                      "--log-level", "debug"},
                             dir_.path() / "hcrelay-restarted.log");
    if (!wait_until([&] { return port_open("127.0.0.1", relay_port_) || !restarted_relay_->running(); },
                    20s) ||
        !restarted_relay_->running())
      throw test_failure("hcrelay did not come back on port " + std::to_string(relay_port_) + ":\n" +
                         restarted_relay_->log());
  }

  static void kill9(child_process& p) {
    ::kill(p.pid(), SIGKILL);
    p.wait_exit(5s);
  }

  bool wait_listeners(std::size_t n, std::chrono::steady_clock::duration limit) {
    bool ok = false;
    run_bounded([&]() -> task<> { ok = co_await wait_listener_count(*relay_, "cache", n, limit); },
                limit + 10s);
    return ok;
  }

  // ---------------------------------------------------------------- traffic
  // hcsoak load through hcconnect: `streams` concurrent streams of up to max_kib KiB, each paced
  // at kbps KiB/s, new ones started for `seconds`.
  child_process start_load(const std::string& name, int streams, double seconds, int max_kib = 768,
                           int kbps = 384) {
    return child_process(
        bin_path("hcsoak"),
        {"load", "--target", loopback_ + ":" + std::to_string(sink_port_), "--streams",
         std::to_string(streams), "--seconds", std::to_string(seconds), "--min-bytes", "1", "--max-bytes",
         std::to_string(max_kib * 1024), "--kbps", std::to_string(kbps), "--seed", std::to_string(seed_),
         "--stall-seconds", "15", "--report", (dir_.path() / (name + ".json")).string()},
        dir_.path() / (name + ".log"));
  }

  load_report finish_load(child_process& load, const std::string& name) {
    if (!load.wait_exit(60s)) {
      load.stop();
      throw test_failure(name + ": hcsoak load did not finish:\n" + load.log());
    }
    load_report r;
    auto path = dir_.path() / (name + ".json");
    if (!fs::exists(path)) throw test_failure(name + ": no report; log:\n" + load.log());
    r.text = read_text_file(path);
    auto o = boost::json::parse(r.text).as_object();
    auto n = [&](const char* k) { return o.at(k).to_number<std::int64_t>(); };
    r.started = n("started");
    r.complete = n("complete");
    r.failed_setup = n("failed_setup");
    r.failed_cut = n("failed_cut");
    r.truncated = n("truncated");
    r.corrupt_streams = n("corrupt_streams");
    r.stalled = n("stalled");
    r.bytes_verified = n("bytes_verified");
    std::printf(
        "[  faults  ] %s: %lld streams: %lld complete, %lld failed at setup, %lld cut with an error, "
        "%lld truncated, %lld corrupt, %lld stalled; %.1f MB verified\n",
        name.c_str(), (long long)r.started, (long long)r.complete, (long long)r.failed_setup,
        (long long)r.failed_cut, (long long)r.truncated, (long long)r.corrupt_streams, (long long)r.stalled,
        double(r.bytes_verified) / 1e6);
    return r;
  }

  // The property every fault test checks: a cut stream ends with an error on both ends.
  void expect_nothing_lost_silently(const load_report& r) {
    EXPECT_EQ(r.truncated, 0) << "streams ended with a clean EOF before their length at the app:\n" << r.text;
    EXPECT_EQ(r.corrupt_streams, 0) << r.text;
    EXPECT_EQ(r.stalled, 0) << r.text;
    auto sink_log = read_text_file(dir_.path() / "sink.log");
    EXPECT_EQ(sink_log.find("TRUNCATED"), std::string::npos)
        << "streams ended with a clean EOF before their length at the endpoint:\n"
        << sink_log;
    EXPECT_EQ(sink_log.find("CORRUPT"), std::string::npos) << sink_log;
    EXPECT_GT(r.complete, 0) << r.text;
  }

  // Both hcm back on the relay and a fresh batch of streams completes, every one of them.
  void expect_path_serves_again() {
    ASSERT_TRUE(wait_listeners(2, 25s)) << "hcm did not reconnect by itself";
    auto load = start_load("after", 16, 1.5, 256, 0);
    auto r = finish_load(load, "after");
    EXPECT_EQ(r.complete, r.started) << r.text << "\n" << load.log();
    EXPECT_GT(r.complete, 16) << r.text;
    EXPECT_TRUE(hcconnect_->running())
        << "hcconnect ended, wait status " << hcconnect_->exit_status().value_or(-1);
    EXPECT_TRUE(hcm_[0]->running() && hcm_[1]->running());
    EXPECT_TRUE(relay_child().running()) << "hcrelay exited";
  }

  std::chrono::milliseconds random_moment(int from_ms, int to_ms) {
    return std::chrono::milliseconds(std::uniform_int_distribution<int>(from_ms, to_ms)(rng_));
  }

  // Kills `victim` with -9 at a random moment of a 40-stream load lasting `seconds`, brings it
  // back with `restart` half a second later and returns how the load went.
  load_report kill_during_load(double seconds, child_process& victim, const std::function<void()>& restart) {
    auto load = start_load("during", 40, seconds);
    std::this_thread::sleep_for(random_moment(1500, 4000));  // the fault's moment, not a readiness wait
    kill9(victim);
    std::this_thread::sleep_for(500ms);
    restart();
    return finish_load(load, "during");
  }

  test_dir dir_;
  std::uint32_t seed_ = 0;
  std::mt19937 rng_;
  std::optional<relay_process> relay_;
  std::uint16_t relay_port_ = 0;
  std::optional<child_process> restarted_relay_;
  hc_fixture hc_;
  std::optional<child_process> sink_;
  std::uint16_t sink_port_ = 0;
  std::optional<child_process> hcm_[2];
  std::optional<child_process> hcconnect_;
  std::string loopback_;
};

TEST_F(faults_test, an_hcm_killed_mid_traffic_cuts_its_streams_with_errors_and_the_other_carries_on) {
  int victim = std::uniform_int_distribution<int>(0, 1)(rng_);
  auto r = kill_during_load(7, *hcm_[victim], [&] { start_hcm(victim); });
  expect_nothing_lost_silently(r);
  expect_path_serves_again();
}

TEST_F(faults_test, hcconnect_killed_mid_traffic_resets_its_streams_and_a_restart_serves_again) {
  auto r = kill_during_load(7, *hcconnect_, [&] { start_hcconnect(); });
  EXPECT_GT(r.failed_cut + r.failed_setup, 0) << "killing hcconnect must cut the streams it carried";
  expect_nothing_lost_silently(r);
  expect_path_serves_again();
}

TEST_F(faults_test, the_relay_killed_mid_traffic_and_restarted_on_its_port_is_found_again) {
  auto r = kill_during_load(9, relay_child(), [&] { restart_relay(); });
  EXPECT_GT(r.failed_cut + r.failed_setup, 0) << "killing the relay must cut the streams it carried";
  expect_nothing_lost_silently(r);
  expect_path_serves_again();
}

TEST_F(faults_test, the_endpoint_killed_mid_traffic_and_restarted_serves_again) {
  auto r = kill_during_load(7, *sink_, [&] { start_sink(sink_port_); });
  EXPECT_GT(r.failed_cut + r.failed_setup, 0) << "killing the endpoint must cut the streams it served";
  expect_nothing_lost_silently(r);
  expect_path_serves_again();
}

// A stall shorter than every timeout loses nothing: each stream completes, none fails.
TEST_F(faults_test, stalls_of_hcm_the_relay_and_hcconnect_delay_streams_but_lose_nothing) {
  auto load = start_load("during", 40, 9);
  for (child_process* p : {&*hcm_[0], &relay_child(), &*hcconnect_}) {
    std::this_thread::sleep_for(random_moment(300, 1000));
    ::kill(p->pid(), SIGSTOP);
    std::this_thread::sleep_for(random_moment(1500, 2500));
    ::kill(p->pid(), SIGCONT);
  }
  auto r = finish_load(load, "during");
  expect_nothing_lost_silently(r);
  EXPECT_EQ(r.failed_setup + r.failed_cut, 0) << r.text;
  expect_path_serves_again();
}

}  // namespace
}  // namespace hc::test
