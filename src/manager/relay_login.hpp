// manager/relay_login: hcm signed in to a relay ("Select" instead of "Enter manually"): the
// credential `hcm login` keeps in CONFIG_DIR/relay-login.json (mode 0600: it holds a key), which is
// a Manage key of a namespace (a relay administrator's sees every namespace) or an app's own key
// (which sees only the hybrid connections that app uses); the hybrid connections it may see, with
// their endpoints and listener counts; and the listener connection string of a chosen one, which
// add_connection then checks and stores like a pasted one. The key is never in a message.
#pragma once
#include "manager/add_connection.hpp"
#include "net/tls.hpp"
#include "net/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hc::manager {

struct relay_login {
  std::string relay;     // https://HOST[:PORT] (http:// for a relay run with --insecure-plaintext)
  std::string key_name;  // a rule with the Manage right; empty with `app`
  std::string app;       // an app's key: the credential app:APP
  std::string key;       // a secret

  std::string credential() const { return app.empty() ? key_name : "app:" + app; }
  bool plaintext() const;
};

std::string login_path(const std::string& config_dir);
// nullopt when not signed in; throws std::runtime_error naming the file when it is not readable JSON.
std::optional<relay_login> read_login(const std::string& config_dir);
void save_login(const std::string& config_dir, const relay_login& login);
// False when there was nothing to remove.
bool remove_login(const std::string& config_dir);

struct pickable_connection {
  std::string ns, name;
  std::string host;      // the namespace's host: the fetched connection string must name it
  std::string endpoint;  // HOST:PORT, "" when the relay names none
  std::int64_t listeners = 0;
  std::string key() const { return ns + "/" + name; }
};

struct pick_list {
  std::vector<pickable_connection> connections;
  std::string error;  // why there is no list (unreachable, refused), "" otherwise
};
// What the credential may see, sorted by namespace and name (at most limits below: a relay that
// lists more is refused). An http:// sign-in is used only when `plaintext_allowed`
// (--insecure-plaintext). Runs on the caller's executor.
net::task<pick_list> list_pickable(const relay_login& login, net::tls_context tls, bool plaintext_allowed);

// Adds one of them as `hcm add` adds a pasted string (add_connection): its listener connection
// string is fetched (its defaultListener rule, else another with exactly the Listen right) and
// must name the picked hybrid connection at its namespace's host on the relay's port (a relay
// cannot slip in another host or name); an entry of the same namespace and name from another relay
// is never replaced. The one path of `hcm add --pick` and the web UI's Select.
net::task<add_result> add_picked(std::string config_dir, relay_login login, net::tls_context tls,
                                 bool plaintext_allowed, pickable_connection hc, endpoint_policy policy = {});

}  // namespace hc::manager
