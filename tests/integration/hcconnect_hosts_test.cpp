// tests/integration/hcconnect_hosts_test: `hcconnect hosts --apply|--remove` against a temporary
// hosts file: the marked block is written once (applying twice changes nothing), updated in
// place, and removing it restores the original bytes exactly; broken markers are refused with
// the file unchanged; the file is replaced atomically under a lock, keeping its mode and owner,
// never through a symlink at the temp path. No relay needed: endpoints are added with --endpoint.
#include "harness.hpp"

#include <sys/file.h>

#include <fcntl.h>

#include <fstream>

namespace hc::test {
namespace {

class hcconnect_hosts_test : public ::testing::Test {
 protected:
  // Runs hcconnect with the test's config dir; returns the exit code (output in a log file).
  int hcconnect(std::vector<std::string> args, const std::string& config = "cfg") {
    return run_hcconnect(args, config).exit_code;
  }
  program_result run_hcconnect(std::vector<std::string> args, const std::string& config = "cfg") {
    std::vector<std::string> all{"--config-dir", (dir_.path() / config).string()};
    all.insert(all.end(), args.begin(), args.end());
    return run_program(dir_.path(), bin_path("hcconnect"), all, 30s);
  }
  std::vector<std::string> apply_args(const fs::path& hosts) const {
    return {"hosts", "--apply", "--hosts-file", hosts.string()};
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

TEST_F(hcconnect_hosts_test, a_begin_marker_without_end_is_refused_and_the_file_is_unchanged) {
  auto hosts = dir_.path() / "hosts";
  ASSERT_EQ(hcconnect({"add", send_string("cache"), "--endpoint", "cache.corp.internal:6379"}), 0);
  // Someone deleted the END line: what follows BEGIN is the admin's, not ours to delete.
  const std::string broken =
      "127.0.0.1 localhost\n# BEGIN hcconnect\n127.0.9.9 old.corp.internal\n"
      "10.0.0.5 fileserver.corp\n192.168.1.1 router\n";
  write(hosts, broken);
  for (auto verb : {"--apply", "--remove"}) {
    auto r = run_hcconnect({"hosts", verb, "--hosts-file", hosts.string()});
    EXPECT_NE(r.exit_code, 0) << verb << ": " << r.output;
    EXPECT_NE(r.output.find("line 2 has '# BEGIN hcconnect' but no '# END hcconnect' follows it"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("add the END line"), std::string::npos) << r.output;
    EXPECT_EQ(read_text_file(hosts), broken) << verb;
  }
  // An END with no BEGIN, and two blocks, are refused the same way.
  for (const std::string text :
       {"1.2.3.4 a\n# END hcconnect\n",
        "# BEGIN hcconnect\n# END hcconnect\n# BEGIN hcconnect\n# END hcconnect\n"}) {
    write(hosts, text);
    auto r = run_hcconnect(apply_args(hosts));
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_EQ(read_text_file(hosts), text) << r.output;
  }
}

TEST_F(hcconnect_hosts_test, a_symlink_at_the_temp_path_is_not_followed) {
  auto hosts = dir_.path() / "hosts";
  auto victim = dir_.path() / "victim";
  write(hosts, "127.0.0.1 localhost\n");
  write(victim, "not yours to write\n");
  fs::create_symlink(victim, dir_.path() / "hosts.hcconnect.tmp");
  ASSERT_EQ(hcconnect({"add", send_string("cache"), "--endpoint", "cache.corp.internal:6379"}), 0);
  auto r = run_hcconnect(apply_args(hosts));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("hosts.hcconnect.tmp already exists"), std::string::npos) << r.output;
  EXPECT_EQ(read_text_file(victim), "not yours to write\n");
  EXPECT_FALSE(fs::is_symlink(hosts)) << "the symlink was renamed over the hosts file";
  EXPECT_EQ(read_text_file(hosts), "127.0.0.1 localhost\n");
}

TEST_F(hcconnect_hosts_test, apply_keeps_the_files_mode_and_owner) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving the file another owner needs root";
  auto hosts = dir_.path() / "hosts";
  write(hosts, "127.0.0.1 localhost\n");
  ASSERT_EQ(::chown(hosts.c_str(), 4321, 4322), 0);
  ASSERT_EQ(::chmod(hosts.c_str(), 0640), 0);
  ASSERT_EQ(hcconnect({"add", send_string("cache"), "--endpoint", "cache.corp.internal:6379"}), 0);
  ASSERT_EQ(hcconnect(apply_args(hosts)), 0);
  struct stat st {};
  ASSERT_EQ(::stat(hosts.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 4321u);
  EXPECT_EQ(st.st_gid, 4322u);
  EXPECT_NE(read_text_file(hosts).find(" cache.corp.internal\n"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_.path() / "hosts.hcconnect.tmp"));
}

TEST_F(hcconnect_hosts_test, apply_waits_for_another_editors_lock) {
  auto hosts = dir_.path() / "hosts";
  write(hosts, "127.0.0.1 localhost\n");
  ASSERT_EQ(hcconnect({"add", send_string("cache"), "--endpoint", "cache.corp.internal:6379"}), 0);
  int held = ::open(hosts.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_EQ(::flock(held, LOCK_EX), 0);
  std::vector<std::string> args{"--config-dir", (dir_.path() / "cfg").string()};
  for (const auto& a : apply_args(hosts)) args.push_back(a);
  child_process apply(bin_path("hcconnect"), args, dir_.path() / "apply.log");
  // Bounded check that it waits: within a second of the lock being held, it has not written.
  EXPECT_FALSE(apply.wait_exit(1s)) << apply.log();
  EXPECT_EQ(read_text_file(hosts), "127.0.0.1 localhost\n");
  ::close(held);  // releases the lock
  ASSERT_TRUE(apply.wait_exit(10s)) << apply.log();
  EXPECT_EQ(*apply.exit_status(), 0) << apply.log();
  EXPECT_NE(read_text_file(hosts).find(" cache.corp.internal\n"), std::string::npos);
}

TEST_F(hcconnect_hosts_test, applies_at_the_same_time_end_with_one_whole_block) {
  auto hosts = dir_.path() / "hosts";
  const std::string original = "127.0.0.1 localhost\n10.0.0.5 fileserver.corp\n";
  // Two configurations whose blocks differ in length.
  ASSERT_EQ(hcconnect({"add", send_string("a"), "--endpoint", "a.corp.internal:1"}, "one"), 0);
  ASSERT_EQ(hcconnect({"add", send_string("a"), "--endpoint", "a.corp.internal:1"}, "two"), 0);
  ASSERT_EQ(hcconnect({"add", send_string("b"), "--endpoint", "b-with-a-long-name.corp.internal:1"}, "two"),
            0);
  for (int round = 0; round < 20; ++round) {
    write(hosts, original);
    std::vector<child_process> applies;
    for (const char* config : {"one", "two"}) {
      std::vector<std::string> args{"--config-dir", (dir_.path() / config).string()};
      for (const auto& a : apply_args(hosts)) args.push_back(a);
      applies.emplace_back(bin_path("hcconnect"), args, dir_.path() / (std::string(config) + ".log"));
    }
    for (auto& p : applies) ASSERT_TRUE(p.wait_exit(20s)) << p.log();
    auto text = read_text_file(hosts);
    ASSERT_TRUE(text.starts_with(original)) << "round " << round << ":\n" << text;
    ASSERT_EQ(count(text, "# BEGIN hcconnect\n"), 1u) << "round " << round << ":\n" << text;
    ASSERT_EQ(count(text, "# END hcconnect\n"), 1u) << "round " << round << ":\n" << text;
    ASSERT_TRUE(text.ends_with("# END hcconnect\n")) << "round " << round << ":\n" << text;
  }
}

}  // namespace
}  // namespace hc::test
