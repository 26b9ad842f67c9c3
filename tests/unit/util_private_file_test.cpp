// Unit tests for util/private_file and util/state_dir: a key file written by root into a service
// user's directory belongs to that user (so `hcm add` as root does not lock the hcm service out
// of /etc/hcm/connections.json), mode 0600 either way; and the state directory's default.
#include "util/private_file.hpp"
#include "util/state_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

namespace hc::util {
namespace {
namespace fs = std::filesystem;

class UtilPrivateFile : public ::testing::Test {
 protected:
  UtilPrivateFile() {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("hc-private-file-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  ~UtilPrivateFile() override { fs::remove_all(dir_); }
  static struct stat stat_of(const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) ADD_FAILURE() << "cannot stat " << p;
    return st;
  }
  fs::path dir_;
};

TEST_F(UtilPrivateFile, RootWritingIntoAServiceUsersDirectoryLeavesTheFileToThatUser) {
  ASSERT_EQ(::geteuid(), 0u) << "the suite runs as root (scripts/test); this is root's case";
  const uid_t service_uid = 64123;  // no such user needed: ownership is numbers
  const gid_t service_gid = 64124;
  ASSERT_EQ(::chown(dir_.c_str(), service_uid, service_gid), 0);
  write_private_file((dir_ / "connections.json").string(), "[]\n");
  auto st = stat_of(dir_ / "connections.json");
  EXPECT_EQ(st.st_uid, service_uid);
  EXPECT_EQ(st.st_gid, service_gid);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  write_private_file((dir_ / "connections.json").string(), "[{}]\n");  // replacing keeps it so
  EXPECT_EQ(stat_of(dir_ / "connections.json").st_uid, service_uid);
  EXPECT_EQ(*read_file((dir_ / "connections.json").string()), "[{}]\n");
}

// The service user owns the directory and may leave anything in it: a link named like the temp
// file must not make root truncate, fill and give away the file it points to.
TEST_F(UtilPrivateFile, ALinkLeftWhereTheTempFileGoesIsNotFollowed) {
  ASSERT_EQ(::geteuid(), 0u);
  auto victim = dir_ / "victim";
  write_private_file(victim.string(), "root's\n");
  auto service_dir = dir_ / "service";
  fs::create_directories(service_dir);
  ASSERT_EQ(::chown(service_dir.c_str(), 64123, 64124), 0);
  fs::create_symlink(victim, service_dir / "connections.json.tmp");
  write_private_file((service_dir / "connections.json").string(), "[]\n");
  EXPECT_EQ(*read_file(victim.string()), "root's\n");
  EXPECT_EQ(stat_of(victim).st_uid, 0u);
  EXPECT_EQ(*read_file((service_dir / "connections.json").string()), "[]\n");
  EXPECT_FALSE(fs::is_symlink(service_dir / "connections.json"));
}

TEST_F(UtilPrivateFile, InRootsOwnDirectoryTheFileStaysRoots) {
  ASSERT_EQ(::geteuid(), 0u);
  write_private_file((dir_ / "key").string(), "secret\n");
  auto st = stat_of(dir_ / "key");
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(UtilStateDir, TheFlagThenTheVariableThenThePackagedSplitThenTheConfigurationDirectory) {
  ::unsetenv("HC_TEST_STATE_DIR");
  EXPECT_EQ(resolve_state_dir("/srv/state", "HC_TEST_STATE_DIR", "/etc/hcm", "/etc/hcm", "/var/lib/hcm"),
            "/srv/state");
  EXPECT_EQ(resolve_state_dir("", "HC_TEST_STATE_DIR", "/etc/hcm", "/etc/hcm", "/var/lib/hcm"),
            "/var/lib/hcm");
  EXPECT_EQ(resolve_state_dir("", "HC_TEST_STATE_DIR", "/etc/hcm/", "/etc/hcm", "/var/lib/hcm"),
            "/var/lib/hcm");
  EXPECT_EQ(resolve_state_dir("", "HC_TEST_STATE_DIR", "/home/me/hcm", "/etc/hcm", "/var/lib/hcm"),
            "/home/me/hcm");
  ::setenv("HC_TEST_STATE_DIR", "/run/state", 1);
  EXPECT_EQ(resolve_state_dir("", "HC_TEST_STATE_DIR", "/etc/hcm", "/etc/hcm", "/var/lib/hcm"), "/run/state");
  ::unsetenv("HC_TEST_STATE_DIR");
}

TEST(UtilStateDir, OneDirectoryHowEverItIsWritten) {
  EXPECT_TRUE(same_directory("/var/lib/hcm", "/var/lib/hcm/"));
  EXPECT_TRUE(same_directory("/var//lib/./hcm", "/var/lib/hcm"));
  EXPECT_FALSE(same_directory("/var/lib/hcm2", "/var/lib/hcm"));
  EXPECT_FALSE(same_directory("/srv/hcm", "/var/lib/hcm"));
}

}  // namespace
}  // namespace hc::util
