// manager/login_commands: the CLI verbs of hcm's sign-in (see relay_login.hpp): `hcm login`,
// `hcm logout` and `hcm add --pick`, which lists what the stored credential may see and adds the
// chosen hybrid connections through add_connection, as a pasted connection string is added.
#pragma once
#include "manager/add_connection.hpp"

#include <string>
#include <vector>

namespace hc::manager {

struct login_request {
  std::string relay;     // --relay
  std::string key_name;  // --key-name
  std::string app;       // --app
  std::string key_file;  // --key-file; else the key is read from standard input
};

// The paths and trust the verbs share with the rest of the CLI.
struct login_context {
  std::string config_dir;
  std::string ca_file;
  bool plaintext_allowed = false;  // --insecure-plaintext: an http:// relay may be signed in to
};

int cmd_login(const login_context& c, const login_request& request);
int cmd_logout(const login_context& c);
// `picks` (NAMESPACE/NAME) chosen on the command line; none: a numbered list and a question on stdin.
int cmd_pick(const login_context& c, const std::vector<std::string>& picks, endpoint_policy policy);

}  // namespace hc::manager
