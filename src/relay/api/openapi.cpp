// relay/api/openapi: GET /api/v1/openapi.json, the OpenAPI 3 document of the management API
// (web/api/openapi.json, embedded at build time by cmake/embed.cmake). It needs no token: it
// holds no secrets. tests/unit/relay_api_routes_test.cpp keeps it and api_routes() in step.
#include "relay/api/route.hpp"

namespace hc::web {
extern const std::string_view api_openapi_json;  // generated from web/api/openapi.json
}  // namespace hc::web

namespace hc::relay {
namespace {

net::task<std::string> serve_document(api_call&) {
  co_return net::format_response(200, {}, {{"Content-Type", "application/json"}}, web::api_openapi_json);
}

}  // namespace

std::string_view openapi_document() {
  return web::api_openapi_json;
}

std::vector<api_route> document_routes() {
  return {{"GET", "/openapi.json", api_access::anonymous, serve_document}};
}

}  // namespace hc::relay
