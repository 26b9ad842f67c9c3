// tests/integration/hcconnect_test: hcconnect end to end: a real hcrelay, an in-test listener in
// the hcm role (hcconnect_support.hpp), hcconnect as a process, and unmodified clients
// (redis-cli, curl, getent) run under `hcconnect run --` reaching names that resolve nowhere
// else. Also: the CLI's refusals, config reload, reject -> reset, 100 parallel checksummed
// tunnels and /metrics. Hosts-file mode is in hcconnect_hosts_test.cpp.
#include "../engines/postgres_install.hpp"
#include "hcconnect_app_support.hpp"
#include "hcconnect_support.hpp"
#include "util/build_info.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/json.hpp>

#include <fstream>
#include <random>
#include <set>

namespace hc::test {
namespace {

constexpr const char* endpoint_name = "cache.corp.internal";

class hcconnect_test : public relay_test {
 protected:
  fs::path config_dir() const { return dir_.path() / "hcconnect"; }

  std::vector<std::string> global_args() const {
    return {"--config-dir", config_dir().string(), "--ca-file", relay_->ca_file().string()};
  }

  program_result hcconnect(std::vector<std::string> args, std::chrono::seconds timeout = 60s) {
    auto all = global_args();
    all.insert(all.end(), args.begin(), args.end());
    return run_program(dir_.path(), bin_path("hcconnect"), all, timeout);
  }

  // Creates hybrid connection `name` with endpoint `endpoint` and returns its keys.
  hc_fixture create(const std::string& name, const std::string& endpoint) {
    hc_fixture f;
    run([&]() -> task<> { f = co_await make_hc(*relay_, name, R"({"endpoint":")" + endpoint + R"("})"); });
    return f;
  }
  std::string send_string(const hc_fixture& f) {
    return hc_connection_string(*relay_, f.name, "defaultSender", f.send_key);
  }
  std::string listen_string(const hc_fixture& f) {
    return hc_connection_string(*relay_, f.name, "defaultListener", f.listen_key);
  }

  // The loopback address hcconnect chose for entry `name`.
  std::string loopback_of(const std::string& name) {
    auto doc = boost::json::parse(read_text_file(config_dir() / "endpoints.json"));
    for (const auto& e : doc.as_array())
      if (e.at("name").as_string() == name) return std::string(e.at("loopbackAddress").as_string());
    throw test_failure("no entry " + name + " in endpoints.json");
  }

  // A listener on `f` joining every tunnel to its own echo server, and hcconnect's entry for `f`
  // with the echo's port as endpoint port.
  std::unique_ptr<test_listener> echo_listener_for(const hc_fixture& f) {
    auto listener = std::make_unique<test_listener>(listen_string(f), relay_->tls(), "127.0.0.1", 0);
    auto added = hcconnect({"add", send_string(f), "--endpoint",
                            std::string(endpoint_name) + ":" + std::to_string(listener->echo_port())});
    if (added.exit_code != 0) throw test_failure("hcconnect add: " + added.output);
    return listener;
  }

  // hcconnect run-service in the background; returns once `name`'s listener accepts.
  child_process start_daemon(const std::string& name, std::uint16_t port,
                             std::vector<std::string> extra = {}) {
    auto args = global_args();
    args.push_back("run-service");
    args.insert(args.end(), extra.begin(), extra.end());
    child_process p(bin_path("hcconnect"), args, dir_.path() / "hcconnect-daemon.log");
    auto address = loopback_of(name);
    if (!wait_until([&] { return port_bound(address, port); }, 10s))
      throw test_failure("hcconnect run-service did not listen on " + address + ":" + std::to_string(port) +
                         "; log:\n" + p.log());
    return p;
  }
};

// TCP connections process `pid` has established to `port` (ss, iproute2).
int connections_of(pid_t pid, std::uint16_t port) {
  auto listed = run_program(fs::temp_directory_path(), "/usr/bin/ss",
                            {"-tnpH", "state", "established", "dport", "=", ":" + std::to_string(port)}, 10s);
  if (listed.exit_code != 0) throw test_failure("ss failed: " + listed.output);
  int n = 0;
  std::string needle = "pid=" + std::to_string(pid) + ",";
  for (std::size_t at = listed.output.find(needle); at != std::string::npos;
       at = listed.output.find(needle, at + 1))
    ++n;
  return n;
}

// `n` app connections to `at`, held open, each with one byte echoed through its tunnel (so every
// tunnel is up); throws when an echo does not come back.
std::vector<net::tcp::socket> open_echoed_tunnels(asio::io_context& io, const net::tcp::endpoint& at, int n) {
  std::vector<net::tcp::socket> apps;
  for (int i = 0; i < n; ++i) {
    apps.emplace_back(io);
    apps.back().connect(at);
    char byte = static_cast<char>('a' + i % 26), back = 0;
    asio::write(apps.back(), asio::buffer(&byte, 1));
    asio::read(apps.back(), asio::buffer(&back, 1));
    if (back != byte) throw test_failure("tunnel " + std::to_string(i) + ": the echo did not come back");
  }
  return apps;
}

// ---------------------------------------------------------------- CLI

TEST_F(hcconnect_test, add_reads_the_endpoint_from_the_relay_and_list_shows_it) {
  auto f = create("cache", std::string(endpoint_name) + ":6379");
  auto added = hcconnect({"add", send_string(f)});
  ASSERT_EQ(added.exit_code, 0) << added.output;
  EXPECT_NE(added.output.find("cache.corp.internal:6379"), std::string::npos) << added.output;
  EXPECT_EQ(fs::status(config_dir() / "endpoints.json").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  auto listed = hcconnect({"list", "-o", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  auto doc = boost::json::parse(listed.output);
  ASSERT_EQ(doc.as_array().size(), 1u);
  const auto& e = doc.as_array()[0].as_object();
  EXPECT_EQ(e.at("name").as_string(), "cache");
  EXPECT_EQ(e.at("endpointHost").as_string(), endpoint_name);
  EXPECT_EQ(e.at("endpointPort").as_int64(), 6379);
  std::string loopback(e.at("loopbackAddress").as_string());
  EXPECT_TRUE(loopback.starts_with("127.")) << loopback;
  EXPECT_NE(loopback, "127.0.0.1");
  EXPECT_EQ(listed.output.find("SharedAccessKey"), std::string::npos) << "list must not print secrets";

  // Re-adding keeps the address; a second host gets a different one.
  ASSERT_EQ(hcconnect({"add", send_string(f)}).exit_code, 0);
  EXPECT_EQ(loopback_of("cache"), loopback);
  auto g = create("web", "intranet.corp.internal:8080");
  ASSERT_EQ(hcconnect({"add", send_string(g)}).exit_code, 0);
  EXPECT_NE(loopback_of("web"), loopback);

  auto removed = hcconnect({"remove", "cache"});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  auto gone = hcconnect({"remove", "cache"});
  EXPECT_EQ(gone.exit_code, 3);  // not found
  EXPECT_NE(gone.output.find("no hybrid connection called 'cache'"), std::string::npos) << gone.output;
}

TEST_F(hcconnect_test, add_refuses_bad_input_with_a_message_that_names_the_problem) {
  auto f = create("cache", std::string(endpoint_name) + ":6379");
  auto no_entity = hcconnect({"add", hc_connection_string(*relay_, "", "defaultSender", f.send_key)});
  EXPECT_EQ(no_entity.exit_code, 2);  // usage error
  EXPECT_NE(no_entity.output.find("EntityPath"), std::string::npos) << no_entity.output;

  auto malformed = hcconnect({"add", "not a connection string"});
  EXPECT_EQ(malformed.exit_code, 2);  // usage error
  EXPECT_NE(malformed.output.find("Endpoint=sb://"), std::string::npos) << malformed.output;

  auto bad_endpoint = hcconnect({"add", send_string(f), "--endpoint", "db.corp:99999"});
  EXPECT_EQ(bad_endpoint.exit_code, 2);  // usage error
  EXPECT_NE(bad_endpoint.output.find("port"), std::string::npos) << bad_endpoint.output;

  auto ip = hcconnect({"add", send_string(f), "--endpoint", "10.1.2.3:1433"});
  EXPECT_EQ(ip.exit_code, 0) << ip.output;
  EXPECT_NE(ip.output.find("is an IP address"), std::string::npos) << ip.output;

  // Relay unreachable and no --endpoint: refused, with the way out.
  proto::connection_string dead = *proto::parse_connection_string(send_string(f));
  dead.port = pick_free_port();
  auto unreachable = hcconnect({"add", dead.to_string()});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_NE(unreachable.output.find("--endpoint"), std::string::npos) << unreachable.output;
  EXPECT_EQ(hcconnect({"add", dead.to_string(), "--endpoint", "cache.corp.internal:6379"}).exit_code, 0);
}

// ---------------------------------------------------------------- the resolver shim

TEST_F(hcconnect_test, shim_answers_endpoint_names_and_passes_other_names_through) {
  auto f = create("cache", std::string(endpoint_name) + ":6379");
  ASSERT_EQ(hcconnect({"add", send_string(f)}).exit_code, 0);
  auto loopback = loopback_of("cache");

  auto ahosts = hcconnect({"run", "--", "/usr/bin/getent", "ahosts", "CACHE.corp.internal."});
  EXPECT_EQ(ahosts.exit_code, 0) << ahosts.output;
  EXPECT_NE(ahosts.output.find(loopback), std::string::npos) << ahosts.output;

  auto hosts = hcconnect({"run", "--", "/usr/bin/getent", "hosts", endpoint_name});  // gethostbyname2
  EXPECT_EQ(hosts.exit_code, 0) << hosts.output;
  EXPECT_NE(hosts.output.find(loopback), std::string::npos) << hosts.output;

  // CPython's socket.gethostbyname goes through gethostbyname_r.
  auto python =
      hcconnect({"run", "--", "/bin/sh", "-c",
                 "exec python3 -c 'import socket; print(socket.gethostbyname(\"cache.corp.internal\"))'"});
  EXPECT_EQ(python.exit_code, 0) << python.output;
  EXPECT_NE(python.output.find(loopback), std::string::npos) << python.output;

  auto local = hcconnect({"run", "--", "/usr/bin/getent", "ahosts", "localhost"});
  EXPECT_EQ(local.exit_code, 0) << local.output;
  EXPECT_TRUE(local.output.find("127.0.0.1") != std::string::npos ||
              local.output.find("::1") != std::string::npos)
      << local.output;

  auto other = hcconnect({"run", "--", "/usr/bin/getent", "ahosts", "other.corp.internal"});
  EXPECT_NE(other.exit_code, 0) << "an unconfigured name must not resolve: " << other.output;

  // The command's exit code comes back.
  EXPECT_EQ(hcconnect({"run", "--", "/bin/sh", "-c", "exit 7"}).exit_code, 7);
}

TEST_F(hcconnect_test, run_forwards_sigterm_to_the_command_and_returns_its_status) {
  auto port = pick_free_port();
  auto f = create("cache", std::string(endpoint_name) + ":" + std::to_string(port));
  ASSERT_EQ(hcconnect({"add", send_string(f)}).exit_code, 0);
  auto args = global_args();
  for (const char* a : {"run", "--", "/bin/sleep", "30"}) args.push_back(a);
  child_process run(bin_path("hcconnect"), args, dir_.path() / "run.log");
  // Once the in-process daemon listens, the command has been (or is being) started.
  ASSERT_TRUE(wait_until([&] { return port_bound(loopback_of("cache"), port); }, 10s)) << run.log();
  ASSERT_TRUE(wait_until(
      [&] {
        return run_program(dir_.path(), "/usr/bin/pgrep", {"-x", "sleep", "-P", std::to_string(run.pid())})
                   .exit_code == 0;
      },
      10s));
  ::kill(run.pid(), SIGTERM);  // hcconnect only, not its process group
  ASSERT_TRUE(run.wait_exit(10s)) << run.log();
  auto st = run.exit_status().value_or(0);
  ASSERT_TRUE(WIFEXITED(st)) << st;
  EXPECT_EQ(WEXITSTATUS(st), 128 + SIGTERM) << run.log();
  EXPECT_FALSE(port_bound(loopback_of("cache"), port)) << "the in-process daemon ends with the command";
}

TEST_F(hcconnect_test, run_uses_the_running_daemon_instead_of_its_own) {
  auto port = pick_free_port();
  child_process redis(
      "/usr/bin/redis-server",
      {"--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"},
      dir_.path() / "redis.log");
  ASSERT_TRUE(wait_until([&] { return port_open("127.0.0.1", port); }, 10s)) << redis.log();
  auto f = create("cache", std::string(endpoint_name) + ":" + std::to_string(port));
  test_listener listener(listen_string(f), relay_->tls(), "127.0.0.1", port);
  ASSERT_EQ(hcconnect({"add", send_string(f)}).exit_code, 0);
  auto daemon = start_daemon("cache", port);
  ASSERT_TRUE(wait_for_file(config_dir() / "hcconnect.pid", 5s));

  auto ping = hcconnect({"--log-level", "info", "run", "--", "/usr/bin/redis-cli", "-h", endpoint_name, "-p",
                         std::to_string(port), "PING"});
  EXPECT_NE(ping.output.find("PONG"), std::string::npos) << ping.output;
  EXPECT_EQ(ping.output.find("in-process"), std::string::npos) << ping.output;
  EXPECT_TRUE(wait_until([&] { return daemon.log().find("conn 1 [") != std::string::npos; }, 5s))
      << daemon.log();
  daemon.stop();
  EXPECT_FALSE(fs::exists(config_dir() / "hcconnect.pid")) << "run-service removes its pid file on SIGTERM";
}

// With a state directory apart from the configuration (/var/lib/hcconnect beside /etc/hcconnect
// when packaged), the daemon's pid file and status socket live there, and `run` finds the daemon
// through it.
TEST_F(hcconnect_test, the_daemon_keeps_its_pid_file_and_socket_in_the_state_directory) {
  auto f = create("cache", std::string(endpoint_name) + ":6379");
  auto listener = echo_listener_for(f);
  auto state = dir_.path() / "var-lib-hcconnect";
  auto args = global_args();
  args.insert(args.end(), {"--state-dir", state.string(), "run-service"});
  child_process daemon(bin_path("hcconnect"), args, dir_.path() / "hcconnect-daemon.log");
  auto address = loopback_of("cache");
  ASSERT_TRUE(wait_until([&] { return port_bound(address, listener->echo_port()); }, 10s)) << daemon.log();
  ASSERT_TRUE(wait_for_file(state / "hcconnect.pid", 5s)) << daemon.log();
  EXPECT_TRUE(fs::exists(state / "hcconnect.sock"));
  // Only the daemon's user may read its pid or reach its status socket (which answers with the
  // configured endpoints).
  auto mode = [](const fs::path& p) { return fs::status(p).permissions() & fs::perms::all; };
  EXPECT_EQ(mode(state), fs::perms::owner_all);
  EXPECT_EQ(mode(state / "hcconnect.pid"), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(read_text_file(state / "hcconnect.pid"), std::to_string(daemon.pid()) + "\n");
  EXPECT_FALSE(fs::exists(config_dir() / "hcconnect.pid"));
  EXPECT_FALSE(fs::exists(config_dir() / "hcconnect.sock"));

  auto found = hcconnect({"--state-dir", state.string(), "--log-level", "info", "run", "--", "/bin/true"});
  EXPECT_EQ(found.exit_code, 0) << found.output;
  EXPECT_EQ(found.output.find("in-process"), std::string::npos) << "the daemon was not found:\n"
                                                                << found.output;
  auto lost = hcconnect({"--log-level", "info", "run", "--", "/bin/true"});  // asks the config dir's socket
  EXPECT_NE(lost.exit_code, 0) << "no daemon answers there, and its addresses are taken:\n" << lost.output;
  daemon.stop();
  EXPECT_FALSE(fs::exists(state / "hcconnect.pid"));
}

TEST_F(hcconnect_test, forty_endpoints_get_distinct_stable_loopback_addresses) {
  auto f = create("cache", std::string(endpoint_name) + ":6379");
  std::set<std::string> addresses;
  for (int i = 0; i < 40; ++i) {
    proto::connection_string cs = *proto::parse_connection_string(send_string(f));
    cs.entity_path = "hc" + std::to_string(i);
    auto host = "host" + std::to_string(i) + ".corp.internal";
    ASSERT_EQ(hcconnect({"add", cs.to_string(), "--endpoint", host + ":5432"}).exit_code, 0);
    auto address = loopback_of(cs.entity_path);
    EXPECT_NE(address, "127.0.0.1");
    EXPECT_TRUE(addresses.insert(address).second) << address << " is used twice";
  }
  // Same host, another port: the same address (one DNS name, one address).
  proto::connection_string cs = *proto::parse_connection_string(send_string(f));
  cs.entity_path = "hc-same-host";
  ASSERT_EQ(hcconnect({"add", cs.to_string(), "--endpoint", "HOST7.corp.internal:80"}).exit_code, 0);
  EXPECT_EQ(loopback_of("hc-same-host"), loopback_of("hc7"));
  // Removing and adding back gives the same address (a hash of the host, not an allocation order).
  auto before = loopback_of("hc20");
  ASSERT_EQ(hcconnect({"remove", "hc20"}).exit_code, 0);
  cs.entity_path = "hc20";
  ASSERT_EQ(hcconnect({"add", cs.to_string(), "--endpoint", "host20.corp.internal:5432"}).exit_code, 0);
  EXPECT_EQ(loopback_of("hc20"), before);
}

TEST_F(hcconnect_test, the_daemon_keeps_its_endpoints_when_the_configuration_file_is_broken) {
  auto port = pick_free_port();
  auto f = create("cache", std::string(endpoint_name) + ":" + std::to_string(port));
  ASSERT_EQ(hcconnect({"add", send_string(f)}).exit_code, 0);
  auto daemon = start_daemon("cache", port);
  auto address = loopback_of("cache");
  auto good = read_text_file(config_dir() / "endpoints.json");
  std::ofstream(config_dir() / "endpoints.json", std::ios::trunc) << "[{\"name\": 42}]";
  EXPECT_TRUE(
      wait_until([&] { return daemon.log().find("keeping the current endpoints") != std::string::npos; }, 5s))
      << daemon.log();
  EXPECT_NE(daemon.log().find("\"name\" must be a non-empty string"), std::string::npos) << daemon.log();
  EXPECT_TRUE(port_bound(address, port));
  std::ofstream(config_dir() / "endpoints.json", std::ios::trunc) << "[]";
  EXPECT_TRUE(wait_until([&] { return !port_bound(address, port); }, 5s)) << daemon.log();
  std::ofstream(config_dir() / "endpoints.json", std::ios::trunc) << good;
  EXPECT_TRUE(wait_until([&] { return port_bound(address, port); }, 5s)) << daemon.log();
}

// ---------------------------------------------------------------- unmodified apps

TEST_F(hcconnect_test, redis_cli_reaches_redis_by_a_name_that_resolves_nowhere_else) {
  auto port = pick_free_port();
  child_process redis(
      "/usr/bin/redis-server",
      {"--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"},
      dir_.path() / "redis.log");
  ASSERT_TRUE(wait_until([&] { return port_open("127.0.0.1", port); }, 10s)) << redis.log();

  auto f = create("cache", std::string(endpoint_name) + ":" + std::to_string(port));
  test_listener listener(listen_string(f), relay_->tls(), "127.0.0.1", port);
  ASSERT_EQ(hcconnect({"add", send_string(f)}).exit_code, 0);

  auto cli = [&](std::vector<std::string> words) {
    std::vector<std::string> args{"run",         "--", "/usr/bin/redis-cli", "-h",
                                  endpoint_name, "-p", std::to_string(port)};
    args.insert(args.end(), words.begin(), words.end());
    return hcconnect(args);
  };
  auto ping = cli({"PING"});
  EXPECT_EQ(ping.exit_code, 0) << ping.output;
  EXPECT_NE(ping.output.find("PONG"), std::string::npos) << ping.output;
  auto set = cli({"SET", "greeting", "hello through the relay"});
  EXPECT_NE(set.output.find("OK"), std::string::npos) << set.output;
  auto get = cli({"GET", "greeting"});
  EXPECT_NE(get.output.find("hello through the relay"), std::string::npos) << get.output;
  EXPECT_GE(listener.accepted(), 3);
}

TEST_F(hcconnect_test, curl_reaches_an_http_server_by_a_name_that_resolves_nowhere_else) {
  auto port = pick_free_port();
  auto www = dir_.path() / "www";
  fs::create_directories(www);
  std::ofstream(www / "index.html") << "hello from the private network\n";
  child_process http(
      "/usr/bin/python3",
      {"-m", "http.server", "--bind", "127.0.0.1", "--directory", www.string(), std::to_string(port)},
      dir_.path() / "http.log");
  ASSERT_TRUE(wait_until([&] { return port_open("127.0.0.1", port); }, 30s))
      << "python3 -m http.server did not listen within 30 s: " << http.log();

  const std::string name = "intranet.corp.internal";
  auto f = create("web", name + ":" + std::to_string(port));
  test_listener listener(listen_string(f), relay_->tls(), "127.0.0.1", port);
  ASSERT_EQ(hcconnect({"add", send_string(f)}).exit_code, 0);

  auto curl = hcconnect({"run", "--", "/usr/bin/curl", "-sS", "--max-time", "20",
                         "http://" + name + ":" + std::to_string(port) + "/"});
  EXPECT_EQ(curl.exit_code, 0) << curl.output;
  EXPECT_NE(curl.output.find("hello from the private network"), std::string::npos) << curl.output;
}

TEST_F(hcconnect_test, psql_reaches_postgresql_by_a_name_that_resolves_nowhere_else) {
  auto bin_dir = postgres_bin_dir();
  ASSERT_FALSE(bin_dir.empty()) << postgres_missing;
  const std::string bin = bin_dir.string() + "/";
  // The server runs as postgres, in a directory it owns under the test directory.
  fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  // TCP only (-k ''): the test directory's path is longer than a Unix socket path may be.
  auto data = dir_.path() / "pgdata";
  fs::create_directories(data);
  ASSERT_EQ(run_program(dir_.path(), "/usr/bin/chown", {"postgres:postgres", data.string()}).exit_code, 0);
  auto init = run_program(
      dir_.path(), "/usr/sbin/runuser",
      {"-u", "postgres", "--", bin + "initdb", "-D", data.string(), "-A", "trust", "-U", "postgres"}, 120s);
  ASSERT_EQ(init.exit_code, 0) << init.output;
  auto port = pick_free_port();
  child_process postgres("/usr/sbin/runuser",
                         {"-u", "postgres", "--", bin + "postgres", "-D", data.string(), "-p",
                          std::to_string(port), "-k", "", "-c", "listen_addresses=127.0.0.1"},
                         dir_.path() / "postgres.log");
  ASSERT_TRUE(wait_until([&] { return port_open("127.0.0.1", port); }, 60s)) << postgres.log();

  const std::string name = "db.corp.internal";
  auto f = create("db", name + ":" + std::to_string(port));
  test_listener listener(listen_string(f), relay_->tls(), "127.0.0.1", port);
  ASSERT_EQ(hcconnect({"add", send_string(f)}).exit_code, 0);
  auto psql = hcconnect({"run", "--", "/usr/bin/psql", "-h", name, "-p", std::to_string(port), "-U",
                         "postgres", "-At", "-c", "select 'through the tunnel', 6 * 7"});
  EXPECT_EQ(psql.exit_code, 0) << psql.output;
  EXPECT_NE(psql.output.find("through the tunnel|42"), std::string::npos) << psql.output;
}

// The real pair: hcm (the listener side) runs in its own mount namespace whose /etc/hosts maps
// the endpoint name to 127.0.0.1, so the name resolves on the hcm side and nowhere else.
TEST_F(hcconnect_test, redis_cli_reaches_redis_through_hcm_and_hcm_rejects_reach_the_app) {
  ASSERT_TRUE(fs::exists(bin_path("hcm"))) << "hcm is not built in " << HC_BIN_DIR;
  auto port = pick_free_port();
  child_process redis(
      "/usr/bin/redis-server",
      {"--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"},
      dir_.path() / "redis.log");
  ASSERT_TRUE(wait_until([&] { return port_open("127.0.0.1", port); }, 10s)) << redis.log();
  auto dead_port = pick_free_port();

  auto cache = create("cache", std::string(endpoint_name) + ":" + std::to_string(port));
  auto gone = create("gone", "gone.corp.internal:" + std::to_string(dead_port));
  auto hcm_dir = dir_.path() / "hcm";
  for (const auto* f : {&cache, &gone}) {
    auto added = run_program(dir_.path(), bin_path("hcm"),
                             {"--config-dir", hcm_dir.string(), "--ca-file", relay_->ca_file().string(),
                              "add", listen_string(*f)});
    ASSERT_EQ(added.exit_code, 0) << added.output;
  }
  auto hosts = dir_.path() / "hcm-hosts";
  std::ofstream(hosts) << "127.0.0.1 localhost\n127.0.0.1 " << endpoint_name
                       << "\n127.0.0.1 gone.corp.internal\n";
  child_process hcm(
      "/usr/bin/unshare",
      {"-m", "/bin/sh", "-c",
       "mount --bind " + hosts.string() + " /etc/hosts && exec " + bin_path("hcm") + " --config-dir " +
           hcm_dir.string() + " --ca-file " + relay_->ca_file().string() + " run"},
      dir_.path() / "hcm.log");
  bool listening = false;
  run([&]() -> task<> {
    listening = co_await wait_listener_count(*relay_, "cache", 1, 20s) &&
                co_await wait_listener_count(*relay_, "gone", 1, 20s);
  });
  ASSERT_TRUE(listening) << hcm.log();

  ASSERT_EQ(hcconnect({"add", send_string(cache)}).exit_code, 0);
  ASSERT_EQ(hcconnect({"add", send_string(gone)}).exit_code, 0);
  auto cli = [&](std::string host, std::uint16_t p, std::vector<std::string> words) {
    std::vector<std::string> args{"run", "--", "/usr/bin/redis-cli", "-h", host, "-p", std::to_string(p)};
    args.insert(args.end(), words.begin(), words.end());
    return hcconnect(args);
  };
  auto ping = cli(endpoint_name, port, {"PING"});
  EXPECT_NE(ping.output.find("PONG"), std::string::npos) << ping.output << hcm.log();
  EXPECT_NE(cli(endpoint_name, port, {"SET", "k", "v through hcm"}).output.find("OK"), std::string::npos);
  EXPECT_NE(cli(endpoint_name, port, {"GET", "k"}).output.find("v through hcm"), std::string::npos);

  // hcm cannot reach gone.corp.internal: the app's connection fails at once and the reason shows.
  auto refused = cli("gone.corp.internal", dead_port, {"PING"});
  EXPECT_EQ(refused.output.find("PONG"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("relay refused the tunnel: 502"), std::string::npos) << refused.output;
}

// ---------------------------------------------------------------- failures

TEST_F(hcconnect_test, a_reject_resets_the_app_connection_at_once_and_logs_the_reason) {
  auto dead_port = pick_free_port();  // nothing listens here: the listener rejects with 502
  auto f = create("cache", std::string(endpoint_name) + ":" + std::to_string(dead_port));
  test_listener listener(listen_string(f), relay_->tls(), "127.0.0.1", dead_port);
  ASSERT_EQ(hcconnect({"add", send_string(f)}).exit_code, 0);
  auto daemon = start_daemon("cache", dead_port);
  auto loopback = loopback_of("cache");

  run([&]() -> task<> {
    auto ex = co_await asio::this_coro::executor;
    net::tcp::socket s(ex);
    co_await s.async_connect({asio::ip::make_address(loopback), dead_port}, asio::use_awaitable);
    auto started = std::chrono::steady_clock::now();
    char b[16];
    auto [ec, n] = co_await s.async_read_some(asio::buffer(b), net::use_tuple);
    require(ec == asio::error::connection_reset, "the app sees a reset, got: " + ec.message());
    require(std::chrono::steady_clock::now() - started < 5s, "the reset comes at once");
  });
  EXPECT_TRUE(wait_until([&] { return daemon.log().find("502") != std::string::npos; }, 5s)) << daemon.log();
  EXPECT_NE(daemon.log().find("unreachable"), std::string::npos) << daemon.log();
  EXPECT_EQ(listener.rejected(), 1);
}

TEST_F(hcconnect_test, the_daemon_opens_and_closes_listeners_when_the_configuration_changes) {
  auto f = create("cache", std::string(endpoint_name) + ":" + std::to_string(pick_free_port()));
  ASSERT_EQ(hcconnect({"add", send_string(f)}).exit_code, 0);
  auto first_port = std::uint16_t(boost::json::parse(hcconnect({"list", "-o", "json"}).output)
                                      .as_array()[0]
                                      .at("endpointPort")
                                      .as_int64());
  auto daemon = start_daemon("cache", first_port);

  auto port = pick_free_port();
  auto g = create("web", "intranet.corp.internal:" + std::to_string(port));
  ASSERT_EQ(hcconnect({"add", send_string(g)}).exit_code, 0);
  auto address = loopback_of("web");
  EXPECT_TRUE(wait_until([&] { return port_bound(address, port); }, 5s)) << daemon.log();
  ASSERT_EQ(hcconnect({"remove", "web"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return !port_bound(address, port); }, 5s)) << daemon.log();
  EXPECT_TRUE(port_bound(loopback_of("cache"), first_port)) << "an unchanged endpoint keeps its listener";
}

// ---------------------------------------------------------------- volume

// Sends `size` bytes derived from `seed`, half-closes, reads the echo to EOF; true when intact.
task<bool> checksummed_echo(net::tcp::endpoint at, std::uint32_t seed, std::size_t size) {
  auto ex = co_await asio::this_coro::executor;
  net::tcp::socket s(ex);
  auto [cec] = co_await s.async_connect(at, net::use_tuple);
  if (cec) co_return false;
  s.set_option(net::tcp::no_delay(true));
  std::string out(size, '\0');
  std::mt19937 rng(seed);
  for (auto& c : out) c = char(rng());
  // Both directions at once; results land in locals (no tuple results across co_await:
  // net/types.hpp).
  bool wrote = false;
  std::string in;
  auto writer = [&]() -> task<> {
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(out), net::use_tuple);
    net::error_code ignored;
    s.shutdown(net::tcp::socket::shutdown_send, ignored);
    wrote = !ec;
  };
  auto reader = [&]() -> task<> {
    std::vector<char> buf(64 * 1024);
    for (;;) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), net::use_tuple);
      in.append(buf.data(), n);
      if (ec) break;
    }
  };
  {
    using namespace asio::experimental::awaitable_operators;
    co_await (writer() && reader());
  }
  co_return wrote&& in == out;
}

TEST_F(hcconnect_test, one_hundred_parallel_tunnels_carry_every_byte_both_ways) {
  auto f = create("cache", std::string(endpoint_name) + ":1");  // the port hcconnect uses is given below
  auto listener = echo_listener_for(f);
  auto echo_port = listener->echo_port();
  auto metrics_port = pick_free_port();
  auto daemon = start_daemon("cache", echo_port, {"--metrics-port", std::to_string(metrics_port)});
  net::tcp::endpoint at{asio::ip::make_address(loopback_of("cache")), echo_port};

  // Latency first: 20 sequential 1-byte round trips on fresh connections.
  std::vector<double> setup_ms;
  run([&]() -> task<> {
    for (int i = 0; i < 20; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      bool ok = co_await checksummed_echo(at, 1000 + i, 1);
      setup_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      require(ok, "1-byte echo " + std::to_string(i));
    }
  });
  std::sort(setup_ms.begin(), setup_ms.end());
  auto metrics_text = [&] {
    std::string text;
    run([&]() -> task<> {
      net::http_call call;
      call.url = "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics";
      auto r = co_await net::call_http(call);
      require(r.response.has_value(), "GET /metrics: " + r.error);
      text = r.response->body;
    });
    return text;
  };
  {
    auto body = metrics_text();
    auto at = body.find("hcconnect_tunnel_setup_seconds_sum ");
    ASSERT_NE(at, std::string::npos) << body;
    EXPECT_NE(body.find("hcconnect_build_info{version=\"" + std::string(util::version()) + "\",commit=\"" +
                        std::string(util::commit()) + "\"} 1"),
              std::string::npos)
        << body;
    for (std::string family : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                               "process_open_fds ", "process_max_fds ", "process_start_time_seconds "})
      EXPECT_NE(body.find("\n" + family), std::string::npos) << family;
    std::printf(
        "[ hcconnect] mean tunnel setup of the 20 sequential connections (app accepted -> relay's 101, "
        "as hcconnect measures it): %.2f ms\n",
        std::strtod(body.c_str() + at + 35, nullptr) / 20 * 1000);
  }

  constexpr int connections = 100;
  constexpr std::size_t size = 256 * 1024;
  int intact = 0;
  auto t0 = std::chrono::steady_clock::now();
  run(
      [&]() -> task<> {
        auto ex = co_await asio::this_coro::executor;
        int done = 0;
        for (int i = 0; i < connections; ++i)
          asio::co_spawn(ex, checksummed_echo(at, std::uint32_t(i), size + std::size_t(i) * 1031),
                         [&](std::exception_ptr e, bool ok) {
                           ++done;
                           intact += (!e && ok) ? 1 : 0;
                         });
        asio::steady_timer poll(ex);
        while (done < connections) {
          poll.expires_after(5ms);
          co_await poll.async_wait(asio::use_awaitable);
        }
      },
      120s);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(intact, connections) << daemon.log();
  double megabytes = 0;  // both directions: every payload goes up and comes back
  for (int i = 0; i < connections; ++i) megabytes += 2.0 * double(size + std::size_t(i) * 1031) / 1e6;
  std::printf(
      "[ hcconnect] tunnel setup + 1-byte echo: median %.2f ms, p90 %.2f ms; 100 parallel echoes: %.1f MB "
      "in %.2f s (%.1f MB/s app<->endpoint, both directions)\n",
      setup_ms[setup_ms.size() / 2], setup_ms[setup_ms.size() * 9 / 10], megabytes, seconds,
      megabytes / seconds);

  // /metrics counts what happened.
  auto body = metrics_text();
  EXPECT_NE(body.find("hcconnect_connections_total{outcome=\"tunnelled\"} 120"), std::string::npos) << body;
  EXPECT_NE(body.find("hcconnect_tunnels_active"), std::string::npos) << body;
  EXPECT_NE(body.find("hcconnect_bytes_total{direction=\"app_to_agent\"}"), std::string::npos) << body;
  EXPECT_NE(body.find("hcconnect_tunnel_setup_seconds_count 120"), std::string::npos) << body;
}

// Tunnel legs are streams of the agent's HTTP/2 connections (RFC 8441): thirty tunnels open at
// once cost hcconnect its two pooled connections to the relay, not thirty TLS connections. A
// relay that offers only HTTP/1.1 (as Azure Relay does) gets one connection per tunnel, with no
// configuration, and every tunnel still carries its bytes.
TEST_F(hcconnect_test, thirty_open_tunnels_share_two_http2_connections_and_an_http1_relay_gets_one_each) {
  for (bool http2 : {true, false}) {
    SCOPED_TRACE(http2 ? "relay offers h2" : "relay run with --no-http2");
    if (!http2) {
      relay_.reset();
      relay_.emplace(dir_.path() / "http1-relay", std::vector<std::string>{"--no-http2"});
      fs::remove_all(config_dir());
    }
    auto f = create("cache", std::string(endpoint_name) + ":1");
    auto listener = echo_listener_for(f);
    auto echo_port = listener->echo_port();
    auto metrics_port = pick_free_port();
    auto daemon = start_daemon("cache", echo_port, {"--metrics-port", std::to_string(metrics_port)});
    net::tcp::endpoint at{asio::ip::make_address(loopback_of("cache")), echo_port};
    asio::io_context io;
    auto apps = open_echoed_tunnels(io, at, 30);
    // The 30 bytes each way are in /metrics while every tunnel is still open.
    auto metrics = round_trip("127.0.0.1", metrics_port,
                              "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    EXPECT_NE(metrics.find("hcconnect_bytes_total{direction=\"app_to_agent\"} 30\n"), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("hcconnect_bytes_total{direction=\"agent_to_app\"} 30\n"), std::string::npos)
        << metrics;
    int relay_connections = connections_of(daemon.pid(), relay_->port());
    if (http2) {
      EXPECT_GE(relay_connections, 1);
      EXPECT_LE(relay_connections, 2) << "each tunnel must be a stream of a pooled HTTP/2 connection";
    } else {
      EXPECT_GE(relay_connections, 30) << "an HTTP/1.1 relay needs a connection per tunnel";
    }
    for (auto& s : apps) {  // every tunnel still works with the others open
      char byte = 'z', back = 0;
      asio::write(s, asio::buffer(&byte, 1));
      asio::read(s, asio::buffer(&back, 1));
      EXPECT_EQ(back, 'z');
    }
    apps.clear();
  }
}

// One app that stops reading holds only its own tunnel: its stream's window fills and stops, the
// other tunnels on the same HTTP/2 connection go on at full speed.
TEST_F(hcconnect_test, an_app_that_stops_reading_stalls_only_its_own_tunnel) {
  auto f = create("cache", std::string(endpoint_name) + ":1");
  auto listener = echo_listener_for(f);
  auto echo_port = listener->echo_port();
  auto daemon =
      start_daemon("cache", echo_port, {"--http2-connections", "1"});  // every tunnel on one connection
  net::tcp::endpoint at{asio::ip::make_address(loopback_of("cache")), echo_port};
  std::size_t pushed = 0;
  int intact = 0;
  run(
      [&]() -> task<> {
        auto ex = co_await asio::this_coro::executor;
        // The stalled app: writes 64 MiB into its tunnel and never reads the echo.
        net::tcp::socket stalled(ex);
        co_await stalled.async_connect(at, asio::use_awaitable);
        asio::co_spawn(
            ex,
            [&]() -> task<> {
              std::string chunk(64 * 1024, 's');
              for (int i = 0; i < 1024; ++i) {
                auto [ec, n] = co_await asio::async_write(stalled, asio::buffer(chunk), net::use_tuple);
                if (ec) co_return;
                pushed += n;
              }
            },
            asio::detached);
        asio::steady_timer settle(ex);
        settle.expires_after(500ms);  // its window and every buffer on the way fill up
        co_await settle.async_wait(asio::use_awaitable);
        // Meanwhile five other apps each move 2 MiB both ways through the same connection.
        for (int i = 0; i < 5; ++i) {
          bool ok = co_await checksummed_echo(at, std::uint32_t(50 + i), 2 * 1024 * 1024);
          intact += ok ? 1 : 0;
        }
        // The stalled app is held back (its writes stop) rather than buffered without end.
        for (std::size_t before = SIZE_MAX; before != pushed;) {
          before = pushed;
          settle.expires_after(300ms);
          co_await settle.async_wait(asio::use_awaitable);
        }
        stalled.close();
      },
      60s);
  EXPECT_EQ(intact, 5);
  EXPECT_LT(pushed, std::size_t(64) * 1024 * 1024)
      << "every byte of the stalled app was taken: nothing held it back";
}

// A relay that takes few streams per connection: the pool opens more connections rather than
// making a tunnel wait for a full one.
TEST_F(hcconnect_test, a_relay_that_takes_two_streams_per_connection_gets_more_connections_not_waits) {
  relay_.reset();
  relay_.emplace(dir_.path() / "small-relay", std::vector<std::string>{"--http2-max-streams", "2"});
  auto f = create("cache", std::string(endpoint_name) + ":1");
  auto listener = echo_listener_for(f);
  auto echo_port = listener->echo_port();
  auto daemon = start_daemon("cache", echo_port, {"--http2-connections", "1"});
  net::tcp::endpoint at{asio::ip::make_address(loopback_of("cache")), echo_port};
  asio::io_context io;
  auto apps = open_echoed_tunnels(io, at, 5);
  EXPECT_GE(connections_of(daemon.pid(), relay_->port()), 3) << "five tunnels, two streams per connection";
}

}  // namespace
}  // namespace hc::test
