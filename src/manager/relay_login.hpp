// manager/relay_login: hcm signed in to a relay ("Select" instead of "Enter manually"): the
// credential `hcm login` keeps in CONFIG_DIR/relay-login.json (mode 0600: it holds a key), which is
// a Manage key of a namespace (a relay administrator's sees every namespace) or an app's own key
// (which sees only the hybrid connections that app uses); the hybrid connections it may see, with
// their endpoints and listener counts; and the listener connection string of a chosen one, which
// add_connection then checks and stores like a pasted one. The key is never in a message.
#pragma once
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

struct fetched_string {
  std::string connection_string;  // the listener connection string (holds a key)
  std::string error;
};
// The listener connection string of one of them: its defaultListener rule, else another rule with
// exactly the Listen right. The string must name the picked hybrid connection at its namespace's
// host on the relay's port (a relay cannot slip in another host or name).
net::task<fetched_string> fetch_listener_string(const relay_login& login, net::tls_context tls,
                                                bool plaintext_allowed, const pickable_connection& hc);
// "" when `connection_string` may be stored; else why not: an entry of the same namespace and name
// that talks to another relay would be replaced.
std::string replaces_another_relay(const std::string& config_dir, const std::string& connection_string);

}  // namespace hc::manager
