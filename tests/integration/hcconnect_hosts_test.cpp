// tests/integration/hcconnect_hosts_test: `hcconnect hosts --apply|--remove` against a temporary
// hosts file: the marked block is written once (applying twice changes nothing), updated in
// place, and removing it restores the original bytes exactly. No relay needed: endpoints are
// added with --endpoint.
#include "harness.hpp"

#include <fstream>

namespace hc::test {
namespace {

class hcconnect_hosts_test : public ::testing::Test {
 protected:
  // Runs hcconnect with the test's config dir; returns the exit code (output in a log file).
  int hcconnect(std::vector<std::string> args) {
    std::vector<std::string> all{"--config-dir", (dir_.path() / "cfg").string()};
    all.insert(all.end(), args.begin(), args.end());
    child_process p(bin_path("hcconnect"), all, dir_.path() / "hcconnect.log");
    if (!p.wait_exit(30s)) return -1;
    auto st = p.exit_status().value_or(-1);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  static std::string send_string(const std::string& entity) {
    return "Endpoint=sb://relay.example/"
           ";SharedAccessKeyName=defaultSender;SharedAccessKey=c2VjcmV0;EntityPath=" +
           entity;
  }
  void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }
  static std::size_t count(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  test_dir dir_;
};

TEST_F(hcconnect_hosts_test, apply_writes_one_block_and_remove_restores_the_original_bytes) {
  auto hosts = dir_.path() / "hosts";
  const std::string original =
      "127.0.0.1\tlocalhost\n# a comment the admin wrote\n::1     localhost ip6-localhost ip6-loopback\n"
      "10.0.0.5 fileserver.corp   # trailing comment\n\n";
  write(hosts, original);
  ASSERT_EQ(hcconnect({"add", send_string("cache"), "--endpoint", "cache.corp.internal:6379"}), 0);

  ASSERT_EQ(hcconnect({"hosts", "--apply", "--hosts-file", hosts.string()}), 0);
  auto applied = read_text_file(hosts);
  EXPECT_TRUE(applied.starts_with(original)) << applied;
  EXPECT_EQ(count(applied, "# BEGIN hcconnect\n"), 1u) << applied;
  EXPECT_EQ(count(applied, "# END hcconnect\n"), 1u) << applied;
  EXPECT_NE(applied.find(" cache.corp.internal\n"), std::string::npos) << applied;
  EXPECT_EQ(applied.find("127.0.0.1 cache.corp.internal"), std::string::npos) << "never 127.0.0.1";

  ASSERT_EQ(hcconnect({"hosts", "--apply", "--hosts-file", hosts.string()}), 0);
  EXPECT_EQ(read_text_file(hosts), applied) << "applying twice changes nothing";

  // A new endpoint updates the block in place; lines after the block stay where they were.
  write(hosts, applied + "192.168.1.1 router\n");
  ASSERT_EQ(hcconnect({"add", send_string("web"), "--endpoint", "intranet.corp.internal:80"}), 0);
  ASSERT_EQ(hcconnect({"hosts", "--apply", "--hosts-file", hosts.string()}), 0);
  auto updated = read_text_file(hosts);
  EXPECT_EQ(count(updated, "# BEGIN hcconnect\n"), 1u) << updated;
  EXPECT_NE(updated.find(" intranet.corp.internal\n# END hcconnect\n192.168.1.1 router\n"), std::string::npos)
      << updated;

  ASSERT_EQ(hcconnect({"hosts", "--remove", "--hosts-file", hosts.string()}), 0);
  EXPECT_EQ(read_text_file(hosts), original + "192.168.1.1 router\n");
  ASSERT_EQ(hcconnect({"hosts", "--remove", "--hosts-file", hosts.string()}), 0);
  EXPECT_EQ(read_text_file(hosts), original + "192.168.1.1 router\n") << "removing again changes nothing";
}

TEST_F(hcconnect_hosts_test, hosts_needs_exactly_one_of_apply_or_remove) {
  auto hosts = dir_.path() / "hosts";
  write(hosts, "127.0.0.1 localhost\n");
  EXPECT_NE(hcconnect({"hosts", "--hosts-file", hosts.string()}), 0);
  EXPECT_NE(hcconnect({"hosts", "--apply", "--remove", "--hosts-file", hosts.string()}), 0);
  EXPECT_EQ(read_text_file(hosts), "127.0.0.1 localhost\n");
}

}  // namespace
}  // namespace hc::test
