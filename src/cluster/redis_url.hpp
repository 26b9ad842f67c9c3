// cluster/redis_url: where the relay cluster's Redis is and how to log in, from a URL of the form
// redis://[[user]:password@]host[:port][/db] (user and password percent-encoded). Pure functions;
// the password stays in the value and out of every message and log line.
#pragma once
#include "proto/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace hc::cluster {

struct redis_endpoint {
  std::string host;  // DNS name or IP literal (IPv6 without brackets)
  std::uint16_t port = 6379;
  std::string user;      // ACL user (Redis 6+); empty: AUTH with the password alone
  std::string password;  // empty: no AUTH. A secret: never logged
  int db = 0;            // SELECT after connecting when not 0
  // host:port ([v6]:port), for messages and logs (no credentials).
  std::string address() const;
};

// 400 with a sentence that names the part at fault (never the password): another scheme (TLS,
// rediss://, is not supported), no host, a port outside 1..65535, user info without ':', a db
// that is not a number, a query or fragment.
proto::result<redis_endpoint> parse_redis_url(std::string_view url);

}  // namespace hc::cluster
