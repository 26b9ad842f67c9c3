// proto/connection_string: Azure Relay connection strings (protocol doc §2.5), parsed and
// written. Any domain is accepted (Microsoft's HCM wrongly insists on servicebus.windows.net).
// Pure values.
#pragma once
#include "proto/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hc::proto {

struct connection_string {
  std::string host;          // from Endpoint=sb://HOST[:PORT]/, as written (case kept)
  std::uint16_t port = 443;  // the WSS port: the Endpoint's port, 443 when absent
  bool port_given = false;   // whether Endpoint carried an explicit port
  std::string key_name;      // SharedAccessKeyName (empty with the SAS form)
  std::string key;           // SharedAccessKey
  std::string sas_token;     // SharedAccessSignature=... (the whole token), else empty
  std::string entity_path;   // EntityPath, empty when absent

  // Endpoint=sb://HOST[:PORT]/;SharedAccessKeyName=..;SharedAccessKey=..[;EntityPath=..]
  std::string to_string() const;
  // "HOST" or "HOST:PORT" for dialing.
  std::string authority() const;
};

// Pairs split on ';', each on its first '='; keys case-insensitive; an unknown key, a missing
// Endpoint, a KeyName without a Key (or the reverse), a scheme other than sb:// are 400 errors
// that name the key and show the expected form. Empty pairs (";;" or a trailing ';') are fine.
// Known extra keys OperationTimeout and Authentication are accepted and ignored.
result<connection_string> parse_connection_string(std::string_view text);

}  // namespace hc::proto
