// tests/cluster/cluster_support: relay clusters on one machine (see cluster_support.hpp).
#include "cluster_support.hpp"

#include <boost/asio/steady_timer.hpp>

namespace hc::test {

void cluster_test::SetUpTestSuite() {
  postgres.open();
  redis.emplace();
}

void cluster_test::TearDownTestSuite() {
  redis.reset();
  postgres.close();
}

void cluster_test::SetUp() {
  ASSERT_TRUE(postgres.server) << postgres.start_failure;
  store_url = postgres.server->url(postgres.server->create_database());
  redis_db = next_redis_db;
  next_redis_db = next_redis_db % 15 + 1;  // Redis has 16 databases; 0 stays unused
  redis_url = redis->url(redis_db);
  redis_cli({"FLUSHDB"});
}

void cluster_test::TearDown() {
  for (auto& node : nodes) {
    if (std::find(killed.begin(), killed.end(), &node) != killed.end()) continue;
    EXPECT_TRUE(node.process().running()) << "a node exited during the test; its log:\n"
                                          << last_lines(node.process().log());
  }
  nodes.clear();
}

relay_process& cluster_test::start_node(const std::string& name, std::vector<std::string> extra,
                                        bool with_cluster) {
  auto dir = dir_.path() / name;
  if (!nodes.empty()) {  // the first node's development CA signs every node's certificate
    auto tls = dir / "relay" / "tls";
    fs::create_directories(tls);
    for (const char* file : {"ca.pem", "ca.key"})
      fs::copy_file(nodes.front().data_dir() / "tls" / file, tls / file,
                    fs::copy_options::overwrite_existing);
  }
  std::vector<std::string> args{"--store", store_url};
  if (with_cluster) args.insert(args.end(), {"--cluster", redis_url});
  args.insert(args.end(), extra.begin(), extra.end());
  return nodes.emplace_back(dir, args);
}

task<net::http_response> cluster_test::get_page(const relay_process& node, std::string path,
                                                std::uint16_t port) {
  net::http_call call;
  call.method = "GET";
  call.url = "https://localhost:" + std::to_string(port ? port : node.port()) + path;
  call.tls = node.tls();
  call.timeout = 5s;
  auto r = co_await net::call_http(std::move(call));
  co_return r.response ? std::move(*r.response) : net::http_response{};
}

task<std::string> cluster_test::wait_health(const relay_process& node, std::string prefix,
                                            std::chrono::steady_clock::duration timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  std::string body;
  for (;;) {
    auto r = co_await health(node);
    body = r.body;
    if (r.status == 200 && body.starts_with(prefix)) co_return body;
    if (std::chrono::steady_clock::now() >= until) co_return body;
    co_await pause_for(50ms);
  }
}

task<bool> cluster_test::wait_hc_status(const relay_process& node, std::string name, int status) {
  for (int i = 0; i < 60; ++i) {
    auto r = co_await management_call(node, "GET", name);
    if (r.status == status) co_return true;
    co_await pause_for(100ms);
  }
  co_return false;
}

task<hc_fixture> cluster_test::ready_hc(std::string name, std::string json_body) {
  for (auto& node : nodes) {
    auto body = co_await wait_health(node, "ok");
    require_eq(body, std::string("ok\n"), "a node's /healthz");
  }
  auto hc = co_await make_hc(nodes.front(), name, json_body);
  for (auto& node : nodes) {
    bool known = co_await wait_hc_status(node, name, 200);
    require(known, "a node never learned of the hybrid connection " + name);
  }
  co_return hc;
}

std::string cluster_test::redis_cli(const std::vector<std::string>& args) {
  std::vector<std::string> all{"-p", std::to_string(redis->port()), "-n", std::to_string(redis_db)};
  all.insert(all.end(), args.begin(), args.end());
  auto r = run_program(dir_.path(), "/usr/bin/redis-cli", all, 10s);
  if (r.exit_code != 0) ADD_FAILURE() << "redis-cli failed: " << r.output;
  return r.output;
}

}  // namespace hc::test
