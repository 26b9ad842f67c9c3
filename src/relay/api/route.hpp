// relay/api/route: the vocabulary the management API's files share: one route (method, ARM-like path
// pattern under /api/v1, who may call it, handler), the call a handler receives, JSON responses
// and errors, and request-body field readers that answer 400 naming the field. The router and
// the authorisation rule live in api/router.cpp; each resource family's routes and views in
// its own api/*.cpp. Handlers run on the connection's strand; they read the catalog and
// app_directory snapshots and change the model only through relay/model/*_operations.
#pragma once
#include "net/http.hpp"
#include "proto/error.hpp"
#include "proto/json_body.hpp"
#include "relay/context.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hc::relay {

// Who may call a route (the rule is written out in api/router.cpp and docs/management-api.md).
enum class api_access {
  anonymous,         // no token (the OpenAPI document)
  namespace_manage,  // a Manage token of the namespace at the request's Host; a {ns} in the path
                     // must be that namespace unless the caller is a relay administrator
  relay_admin,       // a Manage token of the relay's own namespace (its --public-host)
  app_credential,    // the app's own Send credential "app:{app}" (hcconnect --app)
};

struct api_call {
  relay_context& ctx;
  const net::http_request& request;
  std::shared_ptr<const namespace_entry> home;  // the namespace at the request's Host
  bool relay_admin = false;                     // the token is a Manage token of the relay's namespace
  std::map<std::string, std::string, std::less<>> params;  // {ns}, {name}, {rule}, {plan}, {app}: decoded
  const std::string& param(std::string_view key) const { return params.find(key)->second; }
};

using api_handler = net::task<std::string> (*)(api_call&);

struct api_route {
  std::string_view method;
  std::string_view pattern;  // relative to /api/v1, e.g. "/plans/{plan}"
  api_access access;
  api_handler handler;
};

// Every route, in matching order; the OpenAPI document lists exactly these (a unit test checks).
const std::vector<api_route>& api_routes();
std::vector<api_route> namespace_routes();  // api/namespaces.cpp
std::vector<api_route> rule_routes();       // api/rules.cpp
std::vector<api_route> plan_routes();       // api/plans.cpp
std::vector<api_route> app_routes();        // api/apps.cpp
std::vector<api_route> usage_routes();      // api/usage.cpp
std::vector<api_route> document_routes();   // api/openapi.cpp
// The OpenAPI 3 document (web/api/openapi.json, embedded at build time).
std::string_view openapi_document();

// ---- responses
std::string json_response(int status, const boost::json::value& v);
std::string no_content();
// {"error":{"code","message"}} with the error's status.
std::string error_response(const proto::error& e);

// ---- request bodies (field readers: proto/json_body.hpp)
// The body as a JSON object; an empty body is an empty object. 400 otherwise.
proto::result<boost::json::object> body_object(const api_call& call);
using proto::bool_field;
using proto::only_fields;
using proto::string_field;

// ---- shared views and lookups
// namespace, name, endpoint, status and listenerCount of a hybrid connection an app refers to
// (status "Not found" when it no longer exists).
boost::json::object hc_summary(const relay_context& ctx, const hc_ref& h);
std::string iso_time(std::chrono::system_clock::time_point t);
// The namespace named {ns}, from the freshest catalog; 404 when unknown.
proto::result<std::shared_ptr<const namespace_entry>> namespace_param(const api_call& call);
// The hybrid connection {name} of that namespace; 404 when unknown.
proto::result<std::shared_ptr<const hybrid_connection>> entity_param(const api_call& call,
                                                                     const namespace_entry& ns);

}  // namespace hc::relay
