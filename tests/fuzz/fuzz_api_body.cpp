// tests/fuzz/fuzz_api_body: any bytes as a management API request body, read the way every route
// reads its own (proto/json_body): the object, the allowed fields, each typed field, rights,
// ports and endpoints. Checks: a body that passes only_fields has no other key.
#include "proto/endpoint.hpp"
#include "proto/json_body.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <string_view>

namespace {

using namespace hc::proto;

void read_shape(const boost::json::object& o, std::initializer_list<std::string_view> fields) {
  if (only_fields(o, fields)) {
    for (const auto& [k, v] : o)
      if (std::find(fields.begin(), fields.end(), std::string_view(k)) == fields.end()) std::abort();
  }
  for (auto f : fields) {
    if (auto s = string_field(o, f); s && *s) (void)parse_endpoint(**s);
    (void)bool_field(o, f);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto body = parse_json_object(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!body) return 0;
  // The bodies of namespaces, hybrid connections, rules, keys, plans, apps and app links.
  read_shape(*body, {"host"});
  read_shape(*body, {"requiresClientAuthorization", "userMetadata", "endpoint"});
  read_shape(*body, {"rights"});
  read_shape(*body, {"keyType"});
  read_shape(*body, {"sku"});
  read_shape(*body, {"plan"});
  read_shape(*body, {"name", "endpointHost", "endpointPort", "namespace"});
  if (auto r = rights_field(*body); r && *r == rights::none) std::abort();
  if (auto p = port_field(*body); p && *p == 0) std::abort();
  return 0;
}
