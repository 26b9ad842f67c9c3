// tests/integration/hcm_login_test: hcm signed in to a relay instead of pasting connection strings
// (`hcm login`, `hcm add --pick`, `hcm logout`), as real processes against a real relay: a relay
// administrator's Manage key sees every namespace, with endpoints and live listener counts, and adds
// by number or by name; a namespace's Manage key sees its namespace only; an app's key sees, and can
// fetch the gateway connection string of, the hybrid connections its app uses and no other. Refusals
// (no sign-in, wrong key, readable key file, unknown pick, bad number) exit with the documented codes
// and leave nothing stored; the stored credential is 0600 and never printed.
#include "api_support.hpp"
#include "hcm_support.hpp"
#include "net/clock.hpp"
#include "proto/sas.hpp"

#include <sys/stat.h>

#include <fstream>

namespace hc::test {
namespace {
using namespace hcm;

class hcm_login_test : public hcm_fixture {
 protected:
  std::string relay_url(const std::string& host = "localhost") {
    return "https://" + host + ":" + std::to_string(relay().port());
  }
  // `hcm ARGS` with `input` on its standard input.
  command_result with_input(const hcm_instance& h, const std::string& input, const std::string& args) {
    auto file = h.config_dir() / "stdin.txt";
    std::ofstream(file, std::ios::trunc) << input << "\n";
    return h.cli(args + " < " + quote(file.string()));
  }
  command_result login_as_root(const hcm_instance& h) {
    return with_input(h, relay().root().key,
                      "login --relay " + relay_url() + " --key-name RootManageSharedAccessKey");
  }
  fs::path login_file(const hcm_instance& h) { return h.config_dir() / "relay-login.json"; }
  std::string stored_string(const hcm_instance& h, const std::string& name) {
    auto text = read_text_file(h.config_dir() / "connections.json");
    auto entries = boost::json::parse(text);  // kept: a range-for would not keep it alive
    for (const auto& e : entries.as_array())
      if (e.at("name").as_string() == name) return std::string(e.at("connectionString").as_string());
    return {};
  }
};

int mode_of(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? int(st.st_mode & 0777) : -1;
}

TEST_F(hcm_login_test, AManageKeyListsEveryHybridConnectionWithListenersAndAddsByNumberOrName) {
  auto billing = make("billing", 5432);
  auto inventory = make("inventory", 6379);
  auto h = make_hcm("hcm");

  auto before = h.cli("add --pick");
  EXPECT_EQ(before.rc, 1) << before.output;
  EXPECT_NE(before.output.find("hcm login --relay"), std::string::npos) << before.output;

  auto wrong = with_input(
      h, "bm90LXRoZS1rZXk=", "login --relay " + relay_url() + " --key-name RootManageSharedAccessKey");
  EXPECT_EQ(wrong.rc, 1) << wrong.output;
  EXPECT_NE(wrong.output.find("relay refused (401)"), std::string::npos) << wrong.output;
  EXPECT_FALSE(fs::exists(login_file(h))) << "a refused key is not stored";

  auto plaintext = with_input(h, relay().root().key,
                              "login --relay http://localhost:1 --key-name RootManageSharedAccessKey");
  EXPECT_EQ(plaintext.rc, 2) << plaintext.output;

  auto signed_in = login_as_root(h);
  ASSERT_EQ(signed_in.rc, 0) << signed_in.output;
  EXPECT_NE(signed_in.output.find("as RootManageSharedAccessKey: 2 hybrid connection(s) visible"),
            std::string::npos)
      << signed_in.output;
  EXPECT_EQ(signed_in.output.find(relay().root().key), std::string::npos) << "the key is never printed";
  EXPECT_EQ(mode_of(login_file(h)), 0600);

  // By number: the list is sorted, billing first, with its endpoint and no listener yet.
  auto first = with_input(h, "1", "add --pick");
  ASSERT_EQ(first.rc, 0) << first.output;
  EXPECT_NE(first.output.find("1  localhost/billing  localhost:5432  0\n"), std::string::npos)
      << first.output;
  EXPECT_NE(first.output.find("2  localhost/inventory  localhost:6379  0\n"), std::string::npos)
      << first.output;
  EXPECT_NE(first.output.find("added localhost/billing (endpoint localhost:5432, pinned)"), std::string::npos)
      << first.output;
  EXPECT_EQ(first.output.find("added localhost/inventory"), std::string::npos) << first.output;
  EXPECT_NE(stored_string(h, "billing").find("SharedAccessKeyName=defaultListener;"), std::string::npos);
  EXPECT_EQ(stored_string(h, "inventory"), "");

  // The service listens for what was picked; the list then counts its listener and marks it added.
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", "billing", "Connected")) << h.log();
  ASSERT_TRUE(listeners("billing", 1));
  auto second = with_input(h, "2", "add --pick");
  ASSERT_EQ(second.rc, 0) << second.output;
  EXPECT_NE(second.output.find("1  localhost/billing  localhost:5432  1  (added)\n"), std::string::npos)
      << second.output;
  EXPECT_NE(second.output.find("added localhost/inventory"), std::string::npos) << second.output;
  EXPECT_TRUE(h.wait_status("localhost", "inventory", "Connected")) << h.log();

  // By name, again: an update, not a second entry.
  auto by_name = h.cli("add --pick localhost/inventory");
  EXPECT_EQ(by_name.rc, 0) << by_name.output;
  EXPECT_NE(by_name.output.find("updated localhost/inventory"), std::string::npos) << by_name.output;

  auto unknown = h.cli("add --pick localhost/nothing");
  EXPECT_EQ(unknown.rc, 3) << unknown.output;
  EXPECT_NE(unknown.output.find("no hybrid connection localhost/nothing"), std::string::npos)
      << unknown.output;
  auto bad_number = with_input(h, "7", "add --pick");
  EXPECT_EQ(bad_number.rc, 2) << bad_number.output;
  EXPECT_NE(bad_number.output.find("'7' is not a number from the list (1 to 2"), std::string::npos)
      << bad_number.output;
  auto nothing = with_input(h, "", "add --pick");
  EXPECT_EQ(nothing.rc, 1) << nothing.output;
  auto both = h.cli("add --pick " + quote(listen_string(billing)));
  EXPECT_NE(both.rc, 0) << both.output;

  auto out = h.cli("logout");
  EXPECT_EQ(out.rc, 0) << out.output;
  EXPECT_FALSE(fs::exists(login_file(h)));
  auto after = h.cli("add --pick localhost/billing");
  EXPECT_EQ(after.rc, 1) << after.output;
  EXPECT_NE(after.output.find("not signed in"), std::string::npos) << after.output;
  EXPECT_EQ(h.status("localhost", "billing"), "Connected") << "signing out leaves added connections alone";
}

TEST_F(hcm_login_test, ANamespaceKeySeesItsOwnNamespaceOnly) {
  make("admin-only", 5000);
  std::string key;
  sync([&]() -> task<int> {
    co_await api_ok(relay(), "PUT", "/namespaces/loopback", R"({"host":"127.0.0.1"})");
    co_await api_ok(relay(), "PUT", "/namespaces/loopback/hybridConnections/tenant-db",
                    R"({"endpoint":"localhost:5001"})");
    auto keys = co_await api_ok(relay(), "POST",
                                "/namespaces/loopback/authorizationRules/RootManageSharedAccessKey/listKeys");
    key = json_text(keys, "primaryKey");
    co_return 0;
  }());
  auto h = make_hcm("hcm");
  auto signed_in =
      with_input(h, key, "login --relay " + relay_url("127.0.0.1") + " --key-name RootManageSharedAccessKey");
  ASSERT_EQ(signed_in.rc, 0) << signed_in.output;
  auto picked = with_input(h, "all", "add --pick");
  ASSERT_EQ(picked.rc, 0) << picked.output;
  EXPECT_NE(picked.output.find("/tenant-db (endpoint localhost:5001, pinned)"), std::string::npos)
      << picked.output;
  EXPECT_EQ(picked.output.find("admin-only"), std::string::npos) << "another namespace's hybrid connection";
  EXPECT_EQ(h.cli("add --pick localhost/admin-only").rc, 3);
}

TEST_F(hcm_login_test, AnAppKeySeesAndFetchesOnlyWhatItsAppUses) {
  make("shared", 7000);
  make("private", 7001);
  std::string key, other_key;
  sync([&]() -> task<int> {
    co_await api_ok(relay(), "PUT", "/plans/p", R"({"sku":"Basic"})");
    co_await api_ok(relay(), "PUT", "/apps/web", R"({"plan":"p"})");
    co_await api_ok(relay(), "PUT", "/apps/other", R"({"plan":"p"})");
    co_await api_ok(relay(), "PUT", "/apps/web/hybridConnections/localhost/shared");
    co_await api_ok(relay(), "PUT", "/apps/other/hybridConnections/localhost/private");
    auto keys = co_await api_ok(relay(), "POST", "/apps/web/listKeys");  // g++ 12: named
    key = json_text(keys, "primaryKey");
    auto other_keys = co_await api_ok(relay(), "POST", "/apps/other/listKeys");
    other_key = json_text(other_keys, "primaryKey");
    co_return 0;
  }());

  // The management API itself: the app's credential fetches its own hybrid connection's gateway
  // string, not another app's, and no other credential fetches it.
  auto app_token = [&](const std::string& app, const std::string& k) {
    return proto::make_sas_token("http://localhost/", "app:" + app, k, net::unix_now() + 600);
  };
  sync([&]() -> task<int> {
    auto mine = co_await api_call(relay(), "POST", "/apps/web/connections/localhost/shared/listKeys", {},
                                  app_token("web", key));
    EXPECT_EQ(mine.status, 200) << mine.body;
    EXPECT_NE(mine.body.find("SharedAccessKeyName=defaultListener;"), std::string::npos) << mine.body;
    auto theirs = co_await api_call(relay(), "POST", "/apps/web/connections/localhost/private/listKeys", {},
                                    app_token("web", key));
    EXPECT_EQ(theirs.status, 404) << theirs.body;
    EXPECT_EQ(theirs.body.find("SharedAccessKey="), std::string::npos) << theirs.body;
    auto other_app = co_await api_call(relay(), "POST", "/apps/web/connections/localhost/shared/listKeys", {},
                                       app_token("other", other_key));
    EXPECT_EQ(other_app.status, 401) << other_app.body;
    auto listed = co_await api_call(relay(), "GET", "/apps/web/connections", {}, app_token("web", key));
    EXPECT_NE(listed.body.find("\"listenerCount\":0"), std::string::npos) << listed.body;
    co_return 0;
  }());

  auto h = make_hcm("hcm");
  auto key_path = h.config_dir() / "web.key";
  { std::ofstream(key_path) << key << "\n"; }
  fs::permissions(key_path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  auto readable = h.cli("login --relay " + relay_url() + " --app web --key-file " + quote(key_path.string()));
  EXPECT_NE(readable.rc, 0) << readable.output;
  EXPECT_FALSE(fs::exists(login_file(h)));
  fs::permissions(key_path, fs::perms::owner_read | fs::perms::owner_write);
  auto signed_in =
      h.cli("login --relay " + relay_url() + " --app web --key-file " + quote(key_path.string()));
  ASSERT_EQ(signed_in.rc, 0) << signed_in.output;
  EXPECT_NE(signed_in.output.find("as app:web: 1 hybrid connection(s) visible"), std::string::npos)
      << signed_in.output;

  auto other = h.cli("add --pick localhost/private");
  EXPECT_EQ(other.rc, 3) << other.output;
  auto own = h.cli("add --pick localhost/shared");
  ASSERT_EQ(own.rc, 0) << own.output;
  EXPECT_NE(own.output.find("added localhost/shared (endpoint localhost:7000, pinned)"), std::string::npos)
      << own.output;
  EXPECT_NE(stored_string(h, "shared").find("SharedAccessKeyName=defaultListener;"), std::string::npos);

  // Once another app uses it too, the app's key no longer gets its listener string: a listener
  // of app web's would take a share of app other's connections.
  sync([&]() -> task<int> {
    co_await api_ok(relay(), "PUT", "/apps/other/hybridConnections/localhost/shared");
    auto shared = co_await api_call(relay(), "POST", "/apps/web/connections/localhost/shared/listKeys", {},
                                    app_token("web", key));
    EXPECT_EQ(shared.status, 403) << shared.body;
    EXPECT_NE(shared.body.find("shared with app 'other'"), std::string::npos) << shared.body;
    EXPECT_EQ(shared.body.find("SharedAccessKey="), std::string::npos) << shared.body;
    co_return 0;
  }());
  auto refused = h.cli("add --pick localhost/shared");
  EXPECT_EQ(refused.rc, 1) << refused.output;
  EXPECT_NE(refused.output.find("relay refused (403)"), std::string::npos) << refused.output;
}

}  // namespace
}  // namespace hc::test
