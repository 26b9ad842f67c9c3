// tests/integration/hcctl_management_test: hcctl's management verbs against a real hcrelay, as
// a person runs them: plan create/show/update, app create, app hc create/add/list/show/disconnect,
// app key, namespace create/list, key list/create/regenerate; tables for people, -o json for
// scripts, and a refused operation exits 1 with the relay's message.
#include "harness.hpp"

#include <sys/wait.h>
#include <boost/json.hpp>

namespace hc::test {
namespace {

struct hcctl_result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

class hcctl_management_test : public relay_test {
 protected:
  hcctl_result hcctl(std::vector<std::string> args) {
    static int counter = 0;
    std::vector<std::string> all{"--ca-file", relay_->ca_file().string()};
    all.insert(all.end(), args.begin(), args.end());
    auto log = dir_.path() / ("hcctl-" + std::to_string(++counter) + ".log");
    child_process p(bin_path("hcctl"), all, log, {{"HCRELAY_CONNECTION_STRING", relay_->root().to_string()}});
    hcctl_result r;
    if (!p.wait_exit(30s)) {
      p.stop();
      ADD_FAILURE() << "hcctl did not finish: " << p.log();
      return r;
    }
    auto st = p.exit_status().value_or(-1);
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.output = p.log();
    return r;
  }
};

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST_F(hcctl_management_test, the_portal_story_from_a_shell) {
  auto plan = hcctl({"plan", "create", "p1", "--sku", "Basic"});
  ASSERT_EQ(plan.exit_code, 0) << plan.output;
  EXPECT_TRUE(has(plan.output, "0 / 5")) << plan.output;
  ASSERT_EQ(hcctl({"app", "create", "web", "--plan", "p1"}).exit_code, 0);
  ASSERT_EQ(hcctl({"app", "create", "api", "--plan", "p1"}).exit_code, 0);

  auto created = hcctl({"app", "hc", "create", "web", "--name", "orders", "--endpoint-host",
                        "orders.corp.internal", "--endpoint-port", "1433"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_TRUE(has(created.output, "Not connected")) << created.output;
  EXPECT_TRUE(has(created.output, "SharedAccessKeyName=defaultListener")) << "gateway connection string\n"
                                                                          << created.output;
  auto added = hcctl({"app", "hc", "add", "api", "localhost/orders"});
  EXPECT_EQ(added.exit_code, 0) << added.output;

  auto list = hcctl({"app", "hc", "list", "web"});
  EXPECT_TRUE(has(list.output, "orders.corp.internal:1433")) << list.output;
  auto shown = hcctl({"-o", "json", "plan", "show", "p1"});
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  auto v = boost::json::parse(shown.output);
  EXPECT_EQ(v.at("hybridConnectionsUsed"), 1);
  EXPECT_EQ(v.at("hybridConnections").at(0).at("apps").as_array().size(), 2u);
  auto table = hcctl({"plan", "show", "p1"});
  EXPECT_TRUE(has(table.output, "api, web")) << table.output;

  // Refused: the relay's message, exit 1 (3 when what it names does not exist).
  auto free_plan = hcctl({"plan", "update", "p1", "--sku", "Free"});
  EXPECT_EQ(free_plan.exit_code, 1);
  EXPECT_TRUE(has(free_plan.output, "uses 1 distinct hybrid connections")) << free_plan.output;
  auto unknown = hcctl({"app", "hc", "add", "web", "localhost/nope"});
  EXPECT_EQ(unknown.exit_code, 3);  // not found
  EXPECT_TRUE(has(unknown.output, "relay refused (404)")) << unknown.output;

  auto key = hcctl({"app", "key", "web"});
  EXPECT_EQ(key.exit_code, 0);
  EXPECT_TRUE(has(key.output, "app:web")) << key.output;
  EXPECT_TRUE(has(key.output, "hcconnect --relay https://localhost:")) << key.output;

  auto gone = hcctl({"app", "hc", "disconnect", "web", "localhost/orders"});
  EXPECT_EQ(gone.exit_code, 0) << gone.output;
  auto again = hcctl({"-o", "json", "app", "show", "web"});
  EXPECT_TRUE(boost::json::parse(again.output).at("hybridConnections").as_array().empty()) << again.output;
}

TEST_F(hcctl_management_test, namespaces_and_keys) {
  auto ns = hcctl({"namespace", "create", "contoso", "--host", "contoso.relay.test"});
  ASSERT_EQ(ns.exit_code, 0) << ns.output;
  auto list = hcctl({"namespace", "list"});
  EXPECT_TRUE(has(list.output, "contoso.relay.test")) << list.output;

  auto rule = hcctl({"key", "create", "sender", "--rights", "Send"});
  EXPECT_EQ(rule.exit_code, 0) << rule.output;
  auto keys = hcctl({"key", "list"});
  EXPECT_TRUE(has(keys.output, "sender")) << keys.output;
  auto before = hcctl({"-o", "json", "key", "show", "sender"});
  auto regenerated = hcctl({"-o", "json", "key", "regenerate", "sender", "--secondary"});
  ASSERT_EQ(regenerated.exit_code, 0) << regenerated.output;
  auto a = boost::json::parse(before.output), b = boost::json::parse(regenerated.output);
  EXPECT_EQ(a.at("primaryKey"), b.at("primaryKey"));
  EXPECT_NE(a.at("secondaryKey"), b.at("secondaryKey"));
  auto on_other = hcctl({"key", "list", "--namespace", "contoso"});
  EXPECT_TRUE(has(on_other.output, "RootManageSharedAccessKey")) << on_other.output;
  // CSV a spreadsheet opens: a name it would run as a formula starts with a ' there.
  ASSERT_EQ(hcctl({"hc", "create", "--endpoint", "db.corp.internal:5432", "--", "-SUM.x"}).exit_code, 0);
  auto csv = hcctl({"-o", "csv", "hc", "list"});
  EXPECT_EQ(csv.exit_code, 0) << csv.output;
  EXPECT_TRUE(has(csv.output, "\r\n'-SUM.x,")) << csv.output;
  EXPECT_FALSE(has(csv.output, "\r\n-SUM.x,")) << csv.output;
  auto bad = hcctl({"key", "create", "x", "--rights", "Fly"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(has(bad.output, "rights")) << bad.output;
}

}  // namespace
}  // namespace hc::test
