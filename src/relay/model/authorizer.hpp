// relay/model/authorizer: the SAS decision for every gesture (protocol doc §2.3-§2.4): which token a
// request carries, which rule it names (entity first, then namespace), signature against the
// primary then the secondary key, expiry, scope, rights. 401 for a missing, malformed, unknown,
// forged or expired token; 403 for a valid token without the right or for another path.
// Pure over the catalog snapshot it is given; thread-safe.
#pragma once
#include "net/http.hpp"
#include "proto/error.hpp"
#include "proto/sas.hpp"
#include "relay/model/catalog.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace hc::relay {

struct authorization {
  std::int64_t expiry = 0;  // the token's `se`
  std::string rule;         // the rule that signed it
};

// `entity` may be null for namespace-scope operations (management API), then entity_path is "".
proto::result<authorization> authorize(const namespace_entry& ns, const hybrid_connection* entity,
                                       std::string_view entity_path, proto::rights need,
                                       std::string_view token, std::int64_t now_unix);

// Where a request presents its token: sb-hc-token (query, already decoded), else the
// ServiceBusAuthorization header, else Authorization.
enum class token_source { none, query, service_bus_authorization, authorization };
token_source token_source_of(const net::http_request& request, std::string_view query_token);
// The token from there; empty when none.
std::string token_from(const net::http_request& request, std::string_view query_token);

// Every header of the request, minus the relay's own: ServiceBusAuthorization always, and
// Authorization only when it carried the caller's token (as Azure does).
proto::header_list headers_without_credentials(const net::http_request& request, bool authorization_consumed);

}  // namespace hc::relay
