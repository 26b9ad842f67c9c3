// proto/runtime_info: the management GET a listener uses to learn its hybrid connection's
// metadata (protocol doc §7): Atom entry with HybridConnectionDescription, children in
// DataContract order. Built by the relay, parsed by hcm. Pure functions.
#pragma once
#include "proto/error.hpp"

#include <string>
#include <string_view>

namespace hc::proto {

struct runtime_info {
  std::string created_at;  // xs:dateTime, e.g. 2026-11-29T09:00:00Z
  std::string updated_at;
  bool requires_client_authorization = true;
  std::string user_metadata;  // the raw string (a JSON array as text)
  int listener_count = 0;
};

inline constexpr std::string_view management_api_version = "2016-07";

std::string build_runtime_info_xml(const runtime_info& info, std::string_view entity_url);
// Reads the five elements (XML entities in UserMetadata unescaped). 404 when the document is
// Service Bus's empty feed; 400 when it is not a HybridConnectionDescription.
result<runtime_info> parse_runtime_info_xml(std::string_view xml);

// <Error><Code>{status}</Code><Detail>{detail}</Detail></Error>
std::string build_management_error_xml(int status, std::string_view detail);

// XML text escaping (&, <, >, ", ').
std::string xml_escape(std::string_view text);

}  // namespace hc::proto
