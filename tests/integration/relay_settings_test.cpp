// tests/integration/relay_settings_test: hcrelay's settings from a config file (--config, by default
// /etc/hcrelay/hcrelay.conf) and HCRELAY_<FLAG> variables as well as flags, as units and containers
// need them: flags win over variables, variables over the file; a misspelt key or a bad value is a
// usage error (exit 2) that names it; --print-config writes a documented file that reads back the
// same; and a relay really starts from a file alone.
#include "hcm_support.hpp"

#include <fstream>

namespace hc::test {
using namespace hcm;
namespace {

class RelaySettings : public ::testing::Test {
 protected:
  fs::path write_config(const std::string& name, const std::string& text) {
    auto path = dir_.path() / name;
    std::ofstream(path) << text;
    return path;
  }
  // hcrelay ARGS with `env` ("NAME=value ..."), stdout and stderr together.
  command_result hcrelay(const std::string& args, const std::string& env = {}) {
    return shell(env + " " + quote(bin_path("hcrelay")) + " " + args);
  }
  // The value --print-config shows for `key`, as written there.
  static std::string printed(const command_result& r, const std::string& key) {
    auto at = r.output.find("\n" + key + "=");
    if (at == std::string::npos) return "(absent)";
    auto start = at + key.size() + 2;
    return r.output.substr(start, r.output.find('\n', start) - start);
  }
  test_dir dir_;
};

TEST_F(RelaySettings, FlagsWinOverVariablesWhichWinOverTheFile) {
  auto file = quote(write_config("relay.conf", "public-host=\"fromfile\"\nhttp2-max-streams=7\n").string());
  auto from_file = hcrelay("--config " + file + " --print-config");
  ASSERT_EQ(from_file.rc, 0) << from_file.output;
  EXPECT_EQ(printed(from_file, "public-host"), "\"fromfile\"");
  EXPECT_EQ(printed(from_file, "http2-max-streams"), "7");

  auto from_env = hcrelay("--config " + file + " --print-config", "HCRELAY_PUBLIC_HOST=fromenv");
  EXPECT_EQ(printed(from_env, "public-host"), "\"fromenv\"");
  EXPECT_EQ(printed(from_env, "http2-max-streams"), "7") << "a variable for one key changed another";

  auto from_flag =
      hcrelay("--config " + file + " --public-host fromflag --print-config", "HCRELAY_PUBLIC_HOST=fromenv");
  EXPECT_EQ(printed(from_flag, "public-host"), "\"fromflag\"");

  auto flag_variable = hcrelay("--print-config", "HCRELAY_DEV_TLS=true HCRELAY_HTTP_IDLE_TIMEOUT=42");
  EXPECT_EQ(printed(flag_variable, "dev-tls"), "true");
  EXPECT_EQ(printed(flag_variable, "http-idle-timeout"), "42");
  // HCRELAY_CONFIG names the file (the suite sets /dev/null: no file); --config still wins.
  auto named = hcrelay("--print-config", "HCRELAY_CONFIG=" + file);
  EXPECT_EQ(printed(named, "public-host"), "\"fromfile\"") << named.output;
  auto none = hcrelay("--config /dev/null --print-config", "HCRELAY_CONFIG=" + file);
  EXPECT_EQ(printed(none, "public-host"), "\"localhost\"") << none.output;
  // The clients' variables (HCRELAY_CA_FILE, HCRELAY_CONNECTION_STRING) are not the relay's.
  auto clients = hcrelay("--print-config", "HCRELAY_CA_FILE=/nowhere HCRELAY_CONNECTION_STRING=x");
  EXPECT_EQ(clients.rc, 0) << clients.output;
}

TEST_F(RelaySettings, AMisspeltKeyOrABadValueIsAUsageErrorThatNamesIt) {
  auto misspelt =
      hcrelay("--config " + quote(write_config("a.conf", "pubic-host=\"x\"\n").string()) + " --print-config");
  EXPECT_EQ(misspelt.rc, 2) << misspelt.output;
  EXPECT_NE(misspelt.output.find("pubic-host"), std::string::npos) << misspelt.output;

  auto bad_value =
      hcrelay("--config " + quote(write_config("b.conf", "threads=\"many\"\n").string()) + " --print-config");
  EXPECT_EQ(bad_value.rc, 2) << bad_value.output;
  EXPECT_NE(bad_value.output.find("threads"), std::string::npos) << bad_value.output;

  auto missing = hcrelay("--config " + quote((dir_.path() / "none.conf").string()) + " --print-config");
  EXPECT_EQ(missing.rc, 2) << missing.output;
  EXPECT_NE(missing.output.find("none.conf"), std::string::npos) << missing.output;

  auto no_data_dir = hcrelay("--listen 127.0.0.1:0");
  EXPECT_EQ(no_data_dir.rc, 2) << no_data_dir.output;
  EXPECT_NE(no_data_dir.output.find("HCRELAY_DATA_DIR"), std::string::npos) << no_data_dir.output;
}

TEST_F(RelaySettings, PrintConfigWritesADocumentedFileThatReadsBackTheSame) {
  auto first = hcrelay("--public-host relay.example.com --print-config");
  ASSERT_EQ(first.rc, 0) << first.output;
  EXPECT_NE(first.output.find("# Host name clients use"), std::string::npos) << "keys are documented";
  EXPECT_NE(first.output.find("# tls-cert="), std::string::npos) << "an unset key is shown, commented out";
  EXPECT_EQ(first.output.find("print-config"), std::string::npos) << "the file would print itself";
  auto file = write_config("printed.conf", first.output);
  auto second = hcrelay("--config " + quote(file.string()) + " --print-config");
  ASSERT_EQ(second.rc, 0) << second.output;
  EXPECT_EQ(second.output, first.output);
}

TEST_F(RelaySettings, ARelayStartsFromAConfigFileAlone) {
  auto data = dir_.path() / "relay";
  auto file =
      write_config("relay.conf", "data-dir=\"" + data.string() +
                                     "\"\nlisten=\"127.0.0.1:0\"\ndev-tls=true\npublic-host=\"fromfile\"\n");
  child_process relay(bin_path("hcrelay"), {"--config", file.string()}, dir_.path() / "hcrelay.log",
                      {{"HCRELAY_PUBLIC_PORT", "4443"}});
  ASSERT_TRUE(
      wait_until([&] { return relay.log().find("listening on 127.0.0.1:") != std::string::npos; }, 20s))
      << relay.log();
  EXPECT_NE(relay.log().find("public address wss://fromfile:4443"), std::string::npos)
      << "the file's public-host and HCRELAY_PUBLIC_PORT: " << relay.log();
  EXPECT_TRUE(fs::exists(data / "root.connection-string"));
  relay.stop();
}

}  // namespace
}  // namespace hc::test
