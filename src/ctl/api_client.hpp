// ctl/api_client: hcctl's side of the relay's management API (/api/v1): one authenticated
// HTTPS request at a time, made synchronously on a private io_context (a CLI has nothing else
// to do meanwhile). The namespace is the one served at the connection string's host.
#pragma once
#include "net/tls.hpp"
#include "proto/connection_string.hpp"
#include "util/exit_codes.hpp"

#include <boost/json/value.hpp>
#include <string>

namespace hc::ctl {

struct api_response {
  int status = 0;
  boost::json::value body;  // null when the body was empty
  std::string raw;
};

// Thrown for transport failures and refused operations; what() is the message to print, the
// code what hcctl exits with (404: not found).
struct api_failure : util::command_failure {
  using util::command_failure::command_failure;
};

class api_client {
 public:
  // Throws api_failure for a connection string without a key (a SAS-only string cannot mint tokens).
  // `admin_address` (HOST:PORT, a relay run with --admin-listen) receives the calls instead of the
  // connection string's endpoint; the tokens still name the endpoint's host.
  api_client(proto::connection_string cs, net::tls_context tls, bool plaintext,
             std::string admin_address = {});

  // Throws api_failure unless the status is 2xx; the message is the server's error message.
  api_response call(const std::string& method, const std::string& path, const std::string& body = {});
  // The namespace served at this host (the entry of GET /api/v1/namespaces with this host).
  const std::string& namespace_name();
  // /api/v1/namespaces/{ns}/hybridConnections[/name]
  std::string hc_path(const std::string& name = {});
  const proto::connection_string& connection() const { return cs_; }

 private:
  proto::connection_string cs_;
  net::tls_context tls_;
  bool plaintext_;
  std::string admin_address_;
  std::string namespace_;
};

// One path segment, percent-encoded ('/' too): hybrid connection names may contain '/'.
std::string segment(std::string_view text);

}  // namespace hc::ctl
