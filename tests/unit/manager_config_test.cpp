// Unit tests for manager/config's writers: two processes changing connections.json at the same
// moment (`hcm add` as root while the service's UI adds through Select, or pins an endpoint) both
// land, because every change goes through update_connections under a lock of the directory.
#include "manager/config.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <set>

namespace hc::manager {
namespace {
namespace fs = std::filesystem;

void add_entries(const std::string& dir, const std::string& ns, int count) {
  for (int i = 0; i < count; ++i)
    update_connections(dir, [&](auto& entries) {
      connection_entry e;
      e.ns = ns;
      e.name = "hc-" + std::to_string(i);
      e.connection_string = "Endpoint=sb://" + ns + ".example/;EntityPath=" + e.name;
      entries.push_back(e);
      return true;
    });
}

TEST(ManagerConfig, TwoProcessesWritingAtOnceLoseNothing) {
  std::random_device rd;
  auto dir = fs::temp_directory_path() / ("hc-config-" + std::to_string(rd()) + std::to_string(rd()));
  constexpr int per_writer = 60;
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      add_entries(dir.string(), "child", per_writer);
    } catch (...) {
      ::_exit(1);
    }
    ::_exit(0);
  }
  add_entries(dir.string(), "parent", per_writer);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  std::set<std::string> keys;
  for (const auto& e : load_connections(dir.string())) keys.insert(e.key());
  EXPECT_EQ(keys.size(), std::size_t(2 * per_writer));
  EXPECT_TRUE(keys.contains("child/hc-" + std::to_string(per_writer - 1)));
  EXPECT_TRUE(keys.contains("parent/hc-0"));
  // A change that says "nothing to do" writes nothing.
  auto before = fs::last_write_time(connections_path(dir.string()));
  EXPECT_FALSE(update_connections(dir.string(), [](auto&) { return false; }));
  EXPECT_EQ(fs::last_write_time(connections_path(dir.string())), before);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hc::manager
