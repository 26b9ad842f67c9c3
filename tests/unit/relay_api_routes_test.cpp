// Unit tests for the management API's route table against its OpenAPI document: every routed
// method and path is documented, every documented operation is routed, patterns are unique, and
// every documented operation says how it answers. (tests/integration/api_openapi_test.cpp asks a
// running relay for each documented path.)
#include "relay/api/route.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <set>
#include <string>

namespace hc::relay {
namespace {

namespace json = boost::json;

std::string upper(std::string s) {
  for (auto& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::set<std::string> routed() {
  std::set<std::string> out;
  for (const auto& r : api_routes()) out.insert(std::string(r.method) + " " + std::string(r.pattern));
  return out;
}

std::set<std::string> documented() {
  std::set<std::string> out;
  auto doc = json::parse(openapi_document());
  for (const auto& [path, item] : doc.at("paths").as_object())
    for (const auto& [method, op] : item.as_object())
      out.insert(upper(std::string(method)) + " " + std::string(path));
  return out;
}

TEST(ApiRoutes, EveryRouteIsDocumented) {
  auto docs = documented();
  for (const auto& r : routed())
    EXPECT_TRUE(docs.contains(r)) << r << " is routed but not in web/api/openapi.json";
}

TEST(ApiRoutes, EveryDocumentedOperationIsRouted) {
  auto routes = routed();
  for (const auto& d : documented()) EXPECT_TRUE(routes.contains(d)) << d << " is documented but not routed";
}

TEST(ApiRoutes, NoRouteIsRegisteredTwice) {
  EXPECT_EQ(routed().size(), api_routes().size());
}

TEST(ApiRoutes, DocumentIsOpenApi3WithResponsesEverywhere) {
  auto doc = json::parse(openapi_document());
  EXPECT_EQ(std::string(doc.at("openapi").as_string()).substr(0, 2), "3.");
  EXPECT_EQ(doc.at("servers").at(0).at("url"), "/api/v1");
  for (const auto& [path, item] : doc.at("paths").as_object())
    for (const auto& [method, op] : item.as_object()) {
      EXPECT_FALSE(op.at("responses").as_object().empty()) << method << " " << path;
      EXPECT_TRUE(op.as_object().contains("summary")) << method << " " << path;
    }
}

}  // namespace
}  // namespace hc::relay
