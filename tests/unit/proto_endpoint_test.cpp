// Unit tests for proto/endpoint: host:port parsing, the userMetadata form and the IP/localhost
// warning.
#include "proto/endpoint.hpp"

#include <gtest/gtest.h>

namespace hc::proto {
namespace {

TEST(ProtoEndpoint, ParsesHostPort) {
  auto e = parse_endpoint("db.corp:5432");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->host, "db.corp");
  EXPECT_EQ(e->port, 5432);
  EXPECT_EQ(e->to_string(), "db.corp:5432");

  auto v6 = parse_endpoint("[::1]:80");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 80);
  EXPECT_EQ(v6->to_string(), "[::1]:80");

  EXPECT_EQ(parse_endpoint("SQL_01.Corp.Example:65535")->port, 65535);
  EXPECT_EQ(parse_endpoint("10.1.2.3:1")->host, "10.1.2.3");
}

TEST(ProtoEndpoint, Errors) {
  struct bad_case {
    std::string_view text;
    std::string_view mentions;
  };
  for (const auto& c :
       {bad_case{"db.corp", "no port"}, bad_case{"db:0", "1..65535"}, bad_case{"db:70000", "1..65535"},
        bad_case{":80", "empty host"}, bad_case{"a b:1", "DNS name"}, bad_case{"db:", "no port"},
        bad_case{"db:8x", "1..65535"}, bad_case{"db:-1", "1..65535"}, bad_case{"::1:80", "brackets"},
        bad_case{"[::1]", ":port"}, bad_case{"[::1:80", "']'"}, bad_case{"[db.corp]:80", "IPv6"},
        bad_case{"", "no port"}, bad_case{"db/x:80", "DNS name"}}) {
    auto e = parse_endpoint(c.text);
    ASSERT_FALSE(e) << c.text;
    EXPECT_EQ(e.error().status, 400);
    EXPECT_NE(e.error().message.find(c.mentions), std::string::npos) << e.error().message;
    EXPECT_NE(e.error().message.find("host:port"), std::string::npos) << e.error().message;
  }
}

TEST(ProtoEndpoint, FromUserMetadata) {
  auto e = endpoint_from_user_metadata(R"([{"key":"endpoint","value":"db.corp:5432"}])");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->host, "db.corp");
  EXPECT_EQ(e->port, 5432);

  auto mixed = endpoint_from_user_metadata(
      R"([{"key":"owner","value":"ops"},7,{"Key":"ENDPOINT","Value":"Db.Corp:1433"},{"key":"endpoint","value":"x:1"}])");
  ASSERT_TRUE(mixed) << mixed.error().message;
  EXPECT_EQ(mixed->host, "Db.Corp");
  EXPECT_EQ(mixed->port, 1433);
}

TEST(ProtoEndpoint, FromUserMetadataErrors) {
  for (std::string_view bad : {"", "db.corp:5432", R"({"key":"endpoint","value":"db:1"})", "[]",
                               R"([{"key":"owner","value":"ops"}])", R"([{"key":"endpoint"}])",
                               R"([{"key":"endpoint","value":5432}])"}) {
    auto e = endpoint_from_user_metadata(bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().status, 400);
    EXPECT_NE(e.error().message.find("UserMetadata must contain an endpoint"), std::string::npos)
        << e.error().message;
  }
  auto bad_value = endpoint_from_user_metadata(R"([{"key":"endpoint","value":"db:0"}])");
  ASSERT_FALSE(bad_value);
  EXPECT_NE(bad_value.error().message.find("1..65535"), std::string::npos);
  const std::string deep = std::string(5000, '[') + std::string(5000, ']');
  EXPECT_FALSE(endpoint_from_user_metadata(deep));
}

TEST(ProtoEndpoint, UserMetadataForRoundTrips) {
  const endpoint e{"db.corp", 5432};
  EXPECT_EQ(user_metadata_for(e), R"([{"key":"endpoint","value":"db.corp:5432"}])");
  auto back = endpoint_from_user_metadata(user_metadata_for(endpoint{"::1", 8080}));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->host, "::1");
  EXPECT_EQ(back->port, 8080);
}

TEST(ProtoEndpoint, IpLiterals) {
  for (std::string_view ip :
       {"10.1.2.3", "0.0.0.0", "255.255.255.255", "::1", "[::1]", "fe80::1", "::ffff:1.2.3.4"})
    EXPECT_TRUE(is_ip_literal(ip)) << ip;
  for (std::string_view name :
       {"db.corp", "localhost", "10.1.2", "10.1.2.256", "1.2.3.4.5", "", "a:b:c:g", "10.01.2.3x", "db"})
    EXPECT_FALSE(is_ip_literal(name)) << name;
}

TEST(ProtoEndpoint, HostWarning) {
  const std::string ip = endpoint_host_warning("10.1.2.3");
  EXPECT_NE(ip.find("10.1.2.3"), std::string::npos);
  EXPECT_NE(ip.find("IP address"), std::string::npos);
  EXPECT_NE(ip.find("DNS name"), std::string::npos);
  EXPECT_NE(endpoint_host_warning("::1").find("IP address"), std::string::npos);
  const std::string local = endpoint_host_warning("LocalHost");
  EXPECT_NE(local.find("localhost"), std::string::npos);
  EXPECT_NE(local.find("use the server's DNS name"), std::string::npos);
  EXPECT_FALSE(endpoint_host_warning("app.localhost").empty());
  EXPECT_FALSE(endpoint_host_warning("localhost.").empty());
  EXPECT_TRUE(endpoint_host_warning("db.corp").empty());
  EXPECT_TRUE(endpoint_host_warning("mylocalhost").empty());
}

}  // namespace
}  // namespace hc::proto
