// tests/integration/hcm_state_dir_test: where hcm keeps what it changes while it runs. With a
// state directory apart from the configuration (the packaged /etc/hcm and /var/lib/hcm; here
// $HCM_STATE_DIR), status.json, the instance id, the web UI token and the log file go there and
// the CLI reads them there; under systemd (stderr is the journal) no log file is written at all.
#include "hcm_support.hpp"

#include <sys/stat.h>

#include <fstream>

namespace hc::test {
namespace {
using namespace hcm;

class hcm_state_dir : public hcm_fixture {};

TEST_F(hcm_state_dir, StatusIdTokenAndLogGoToTheStateDirectoryAndTheCliReadsThemThere) {
  tcp_echo_server echo;
  auto hc = make("orders", echo.port());
  auto state = dir_.path() / "var-lib-hcm";
  auto h = make_hcm("etc-hcm", {{"HCM_STATE_DIR", state.string()}});
  add(h, hc);
  h.start({"--ui-port", std::to_string(free_port())});
  ASSERT_TRUE(h.wait_status("localhost", "orders", "Connected")) << h.log();

  for (const char* file : {"status.json", "instance-id", "ui-token", "hcm.log"}) {
    EXPECT_TRUE(fs::exists(state / file)) << file << " not in the state directory";
    EXPECT_FALSE(fs::exists(h.config_dir() / file)) << file << " written to the configuration directory";
  }
  EXPECT_TRUE(fs::exists(h.config_dir() / "connections.json"));
  struct stat st {};
  ASSERT_EQ(::stat(state.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "the state directory holds the UI token";
  for (const char* file : {"status.json", "instance-id", "ui-token"}) {
    ASSERT_EQ(::stat((state / file).c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }

  auto logs = h.cli("logs");  // the CLI finds the service's log through $HCM_STATE_DIR
  EXPECT_EQ(logs.rc, 0) << logs.output;
  EXPECT_NE(logs.output.find("running (pid"), std::string::npos) << logs.output;
  auto url = h.cli("ui-url");
  EXPECT_EQ(url.rc, 0) << url.output;
  EXPECT_NE(url.output.find("token="), std::string::npos) << url.output;

  auto elsewhere = h.cli("--state-dir " + quote((dir_.path() / "empty").string()) + " logs");
  EXPECT_EQ(elsewhere.rc, 3) << "no log there: not found\n" << elsewhere.output;
}

TEST_F(hcm_state_dir, UnderSystemdTheJournalIsTheOnlyLog) {
  tcp_echo_server echo;
  auto hc = make("orders", echo.port());
  auto state = dir_.path() / "state";
  auto stderr_file = dir_.path() / "journal" / "hcm-stdout.log";
  fs::create_directories(stderr_file.parent_path());
  { std::ofstream touch(stderr_file); }
  struct stat st {};
  ASSERT_EQ(::stat(stderr_file.c_str(), &st), 0);
  // What systemd sets when it connects a service's stderr to the journal: its device and inode.
  auto journal_stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  auto h = hcm_instance(stderr_file.parent_path(), relay().ca_file(),
                        {{"HCM_STATE_DIR", state.string()}, {"JOURNAL_STREAM", journal_stream}});
  add(h, hc);
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", "orders", "Connected")) << h.log();
  EXPECT_NE(h.log().find("running (pid"), std::string::npos) << "the journal (stderr) has the log";
  EXPECT_TRUE(fs::exists(state / "status.json"));
  EXPECT_FALSE(fs::exists(state / "hcm.log")) << "a second copy of the journal in a file";
}

// An install from before the split kept instance-id beside connections.json: the first start with
// a state directory carries it over, so the listener ids the relay knows stay the same.
TEST_F(hcm_state_dir, AnInstanceIdLeftInTheConfigurationDirectoryIsCarriedOver) {
  tcp_echo_server echo;
  auto hc = make("orders", echo.port());
  auto state = dir_.path() / "state";
  auto h = make_hcm("etc-hcm", {{"HCM_STATE_DIR", state.string()}});
  add(h, hc);
  const std::string old_id = "6f9619ff-8b86-d011-b42d-00c04fc964ff";
  std::ofstream(h.config_dir() / "instance-id") << old_id << "\n";
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", "orders", "Connected")) << h.log();
  EXPECT_EQ(read_text_file(state / "instance-id"), old_id + "\n");
}

}  // namespace
}  // namespace hc::test
