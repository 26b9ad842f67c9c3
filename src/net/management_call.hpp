// net/management_call: one authenticated call to a relay's management API (/$admin/api/v1), the
// one way hcctl, hcm's sign-in and hcconnect --app make it: a SAS token for the namespace host
// signed with the caller's key, JSON back, and the relay's own error message as the failure text.
// Also the relay URL the agents take (--relay https://HOST[:PORT]). Keys are never in a message.
#pragma once
#include "net/tls.hpp"
#include "net/types.hpp"
#include "proto/error.hpp"

#include <boost/json/value.hpp>
#include <chrono>
#include <string>

namespace hc::net {

struct relay_address {
  std::string host;
  std::uint16_t port = 443;
  bool plaintext = false;   // http:// (a relay run with --insecure-plaintext)
  std::string url() const;  // https://HOST:PORT
};

// https://HOST[:PORT] (http:// for a plaintext relay); a path is ignored. 400 naming `flag`.
proto::result<relay_address> parse_relay_url(std::string_view url, std::string_view flag = "--relay");

struct management_target {
  std::string authority;   // HOST:PORT the call goes to (the namespace host, or an --admin-listen address)
  bool plaintext = false;  // http://
  std::string token_host;  // the namespace host the token names
  std::string key_name;    // a rule name, or app:APP for an app's own credential
  std::string key;
  tls_context tls;
  std::chrono::steady_clock::duration timeout = std::chrono::seconds(20);
};

struct management_reply {
  int status = 0;           // 0: no answer (see error)
  boost::json::value body;  // null when empty or not JSON
  std::string raw;
  std::string error;  // "" for a 2xx; else "cannot reach the relay: ..." or "relay refused (N): message"
  bool ok() const { return error.empty(); }
};

// `path` starts with /api/v1. Runs on the caller's executor.
task<management_reply> call_management(const management_target& target, std::string method, std::string path,
                                       std::string body = {});

}  // namespace hc::net
