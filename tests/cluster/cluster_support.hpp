// tests/cluster/cluster_support: relay clusters on one machine for the cluster suites. One
// PostgreSQL and one redis-server per suite (each test gets a fresh database and a fresh Redis
// database number); nodes are hcrelay processes on free loopback ports that share the catalog,
// the Redis and the development CA of the suite's first node (so a listener that dials another
// node's accept address trusts it).
#pragma once
#include "../engines/postgres_server.hpp"
#include "../engines/redis_server.hpp"
#include "../integration/harness.hpp"

#include <deque>
#include <optional>

namespace hc::test {

class cluster_test : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;  // every node must still run, except those the test stopped
  void run(const std::function<task<>()>& body, std::chrono::steady_clock::duration timeout = 30s) {
    run_bounded(body, timeout);
  }

  // Starts a node: --store (and --cluster unless `with_cluster` is false) plus `extra`.
  relay_process& start_node(const std::string& name, std::vector<std::string> extra = {},
                            bool with_cluster = true);
  // GET `path` from the node on `port` (default: the node's own), trusting the cluster's CA; the
  // response (status 0 when it did not answer).
  static task<net::http_response> get_page(const relay_process& node, std::string path,
                                           std::uint16_t port = 0);
  static task<net::http_response> health(const relay_process& node) { return get_page(node, "/healthz"); }
  // Polls /healthz until its body starts with `prefix` (bounded); the last body seen.
  static task<std::string> wait_health(const relay_process& node, std::string prefix,
                                       std::chrono::steady_clock::duration timeout = 10s);
  // Polls GET of the hybrid connection on a node until it answers `status` (bounded).
  static task<bool> wait_hc_status(const relay_process& node, std::string name, int status);
  // Every node healthy ("ok"), then a hybrid connection made through the first node and known to
  // every other one; `json_body` as make_hc takes it.
  task<hc_fixture> ready_hc(std::string name, std::string json_body = R"({"endpoint":"localhost:9"})");
  // `redis-cli` against this test's Redis database; its output.
  std::string redis_cli(const std::vector<std::string>& args);

  static inline suite_postgres postgres;
  static inline std::optional<redis_server> redis;
  static inline int next_redis_db = 1;

  test_dir dir_;
  std::string store_url;
  std::string redis_url;
  int redis_db = 0;
  std::deque<relay_process> nodes;
  std::vector<const relay_process*> killed;  // nodes the test killed on purpose
};

}  // namespace hc::test
