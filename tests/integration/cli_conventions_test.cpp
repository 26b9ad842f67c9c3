// tests/integration/cli_conventions_test: the habits every program keeps on its command line, as an
// operator's scripts rely on them: --version names the version and the git commit the binary was
// built from; a usage error exits 2 (not CLI11's 105-109), "not found" exits 3, and every --help
// lists the codes; `hcm help` and Microsoft's `hcm show|remove -ns NS -n NAME` work; `hcctl hc
// update` (which hcconnect's error texts name) exists and keeps what it does not change.
#include "hcm_support.hpp"

#include <map>
#include <regex>

namespace hc::test {
using namespace hcm;
namespace {

const char* const programs[] = {"hcrelay", "hcm", "hcctl", "hcconnect"};

command_result run(const std::string& program, const std::string& args) {
  return shell(quote(bin_path(program)) + " " + args);
}

TEST(CliConventions, VersionNamesTheProjectVersionAndTheCommitBuilt) {
  auto head = shell("git -C " + quote(HC_SOURCE_DIR) + " rev-parse --short=12 HEAD");
  ASSERT_EQ(head.rc, 0) << head.output;
  auto commit = head.output.substr(0, 12);
  for (const auto* program : programs) {
    auto r = run(program, "--version");
    EXPECT_EQ(r.rc, 0) << program << ": " << r.output;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        r.output, m,
        std::regex(std::string("^") + program + R"( (\d+\.\d+\.\d+) \(commit ([0-9a-f]{12})\)\n$)")))
        << program << ": " << r.output;
    EXPECT_EQ(m[2].str(), commit) << program << " was built from another commit than the tree's HEAD";
  }
  auto hcm_verb = run("hcm", "version");  // hcm's own verb says the same
  EXPECT_EQ(hcm_verb.output, run("hcm", "--version").output);
}

TEST(CliConventions, UsageErrorsExitTwoAndEveryHelpListsTheExitCodes) {
  const std::map<std::string, std::string> valid_otherwise{
      {"hcrelay", "--data-dir /nonexistent"}, {"hcm", "list"}, {"hcctl", "hc list"}, {"hcconnect", "list"}};
  for (const auto* program : programs) {
    auto bad = run(program, valid_otherwise.at(program) + " --no-such-flag");
    EXPECT_EQ(bad.rc, 2) << program << ": " << bad.output;
    EXPECT_NE(bad.output.find("--no-such-flag"), std::string::npos) << program << ": " << bad.output;
    auto help = run(program, "--help");
    EXPECT_EQ(help.rc, 0) << program;
    EXPECT_NE(help.output.find("Exit codes: 0 done, 1 failed, 2 usage error"), std::string::npos)
        << program << ": " << help.output;
  }
  EXPECT_EQ(run("hcrelay", "").rc, 2) << "hcrelay without --data-dir";
  EXPECT_EQ(run("hcm", "").rc, 2) << "hcm without a verb";
  EXPECT_EQ(run("hcm", "show localhost").rc, 2) << "hcm show without a name";
  EXPECT_EQ(run("hcctl", "hc show").rc, 2) << "hcctl hc show without a name";
  EXPECT_EQ(run("hcconnect", "").rc, 2) << "hcconnect without a verb";
}

TEST(CliConventions, HcmHelpAndMicrosoftsFlagFormsWork) {
  test_dir dir;
  auto config = quote((dir.path() / "hcm").string());
  auto help = run("hcm", "help");
  EXPECT_EQ(help.rc, 0) << help.output;
  for (const auto* verb : {"add", "remove", "show", "list", "logs", "run"})
    EXPECT_NE(help.output.find(std::string("\n  ") + verb), std::string::npos) << verb << " in:\n"
                                                                               << help.output;
  EXPECT_EQ(help.output.find("Usage: hcm help"), std::string::npos) << "the help verb's own help:\n"
                                                                    << help.output;

  for (const auto* verb : {"show", "remove", "restart"}) {
    auto ms = run("hcm", std::string("--config-dir ") + config + " " + verb + " -ns localhost -n nothing");
    EXPECT_EQ(ms.rc, 3) << verb << ": " << ms.output;
    EXPECT_NE(ms.output.find("no connection localhost/nothing is configured"), std::string::npos)
        << verb << ": " << ms.output;
    auto ours = run("hcm", std::string("--config-dir ") + config + " " + verb + " localhost nothing");
    EXPECT_EQ(ours.rc, 3) << verb << ": " << ours.output;
  }
  // Elsewhere -n keeps its meaning: `hcm logs -n 5` is --lines.
  auto logs = run("hcm", "--config-dir " + config + " logs -n 5");
  EXPECT_NE(logs.rc, 2) << logs.output;
}

class CliConventionsWithRelay : public relay_test {};

TEST_F(CliConventionsWithRelay, HcctlSaysNotFoundWithThreeAndUpdatesAnEndpoint) {
  auto made = hcctl(relay(), "", "hc create orders --endpoint db.internal:5432 --no-client-authorization");
  ASSERT_EQ(made.rc, 0) << made.output;
  auto missing = hcctl(relay(), "", "hc show nothing");
  EXPECT_EQ(missing.rc, 3) << missing.output;
  auto missing_update = hcctl(relay(), "", "hc update nothing --endpoint db.internal:1");
  EXPECT_EQ(missing_update.rc, 3) << missing_update.output;
  auto still_missing = hcctl(relay(), "", "hc show nothing");
  EXPECT_EQ(still_missing.rc, 3) << "update created what it could not find: " << still_missing.output;
  auto bad = hcctl(relay(), "", "hc update orders --endpoint no-port-here");
  EXPECT_EQ(bad.rc, 2) << bad.output;

  auto updated = hcctl(relay(), "", "hc update orders --endpoint db2.internal:6432");
  ASSERT_EQ(updated.rc, 0) << updated.output;
  auto shown = hcctl(relay(), "-o json", "hc show orders");
  ASSERT_EQ(shown.rc, 0) << shown.output;
  EXPECT_NE(shown.output.find("db2.internal:6432"), std::string::npos) << shown.output;
  EXPECT_NE(shown.output.find("\"requiresClientAuthorization\": false"), std::string::npos)
      << "update changed what it was not asked to: " << shown.output;
}

TEST(CliConventions, HcconnectSaysNotFoundWithThree) {
  test_dir dir;
  auto r = run("hcconnect", "--config-dir " + quote((dir.path() / "hcconnect").string()) + " remove nothing");
  EXPECT_EQ(r.rc, 3) << r.output;
  EXPECT_NE(r.output.find("no hybrid connection called 'nothing'"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace hc::test
