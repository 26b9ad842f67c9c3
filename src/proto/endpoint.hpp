// proto/endpoint: the `host:port` a hybrid connection names, and its place in userMetadata
// (`[{"key":"endpoint","value":"HOST:PORT"}]`, protocol doc §9.1). Pure functions.
#pragma once
#include "proto/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace hc::proto {

struct endpoint {
  std::string host;  // DNS name or IP literal (IPv6 without brackets)
  std::uint16_t port = 0;
  std::string to_string() const;  // host:port, [v6]:port
};

// "host:port" or "[v6]:port". 400 with the reason: missing port, port not 1..65535, empty host,
// spaces or other characters a DNS name cannot hold.
result<endpoint> parse_endpoint(std::string_view text);

// First item whose key is "endpoint" (case-insensitive). 400 when the metadata is not the JSON
// array form or has no endpoint item ("UserMetadata must contain an endpoint ...").
result<endpoint> endpoint_from_user_metadata(std::string_view user_metadata);
std::string user_metadata_for(const endpoint& e);

bool is_ip_literal(std::string_view host) noexcept;
// A sentence to show the user when `host` is an IP literal or localhost, else empty: apps
// match hybrid connections on DNS names.
std::string endpoint_host_warning(std::string_view host);

}  // namespace hc::proto
