// Unit tests for proto/connection_string: the §2.5 forms, any domain, ports and the errors.
#include "proto/connection_string.hpp"

#include "proto/sas.hpp"

#include <gtest/gtest.h>

namespace hc::proto {
namespace {

constexpr std::string_view secret = "SGVsbG9Xb3JsZEhlbGxvV29ybGRIZWxsb1dvcmxkMTI=";

TEST(ProtoConnectionString, ParsesTheAppServiceGatewayForm) {
  const std::string text =
      "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=defaultListener;"
      "SharedAccessKey=" +
      std::string(secret) + ";EntityPath=hyco";
  auto cs = parse_connection_string(text);
  ASSERT_TRUE(cs) << cs.error().message;
  EXPECT_EQ(cs->host, "contoso.servicebus.windows.net");
  EXPECT_EQ(cs->port, 443);
  EXPECT_FALSE(cs->port_given);
  EXPECT_EQ(cs->key_name, "defaultListener");
  EXPECT_EQ(cs->key, secret);  // split on the first '=' only: the key's padding survives
  EXPECT_EQ(cs->entity_path, "hyco");
  EXPECT_EQ(cs->sas_token, "");
  EXPECT_EQ(cs->authority(), "contoso.servicebus.windows.net");
  EXPECT_EQ(cs->to_string(), text);
}

TEST(ProtoConnectionString, AnyDomainAnyOrderCaseInsensitiveKeysAndAPort) {
  auto cs = parse_connection_string(
      " entitypath = a/b ;sharedaccesskey=k==;ENDPOINT=sb://Relay.Example.org:8443/;;SharedAccessKeyName=r;");
  ASSERT_TRUE(cs) << cs.error().message;
  EXPECT_EQ(cs->host, "Relay.Example.org");  // case kept
  EXPECT_EQ(cs->port, 8443);
  EXPECT_TRUE(cs->port_given);
  EXPECT_EQ(cs->key, "k==");
  EXPECT_EQ(cs->entity_path, "a/b");
  EXPECT_EQ(cs->authority(), "Relay.Example.org:8443");
  EXPECT_EQ(cs->to_string(),
            "Endpoint=sb://Relay.Example.org:8443/;SharedAccessKeyName=r;SharedAccessKey=k==;"
            "EntityPath=a/b");
  auto again = parse_connection_string(cs->to_string());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->port, 8443);
}

TEST(ProtoConnectionString, ExplicitPort443IsKeptForDialing) {
  auto cs = parse_connection_string("Endpoint=sb://ns.example:443;SharedAccessKeyName=r;SharedAccessKey=k");
  ASSERT_TRUE(cs);
  EXPECT_TRUE(cs->port_given);
  EXPECT_EQ(cs->authority(), "ns.example:443");
}

TEST(ProtoConnectionString, Ipv6Endpoint) {
  auto cs = parse_connection_string("Endpoint=sb://[::1]:9443/;SharedAccessKeyName=r;SharedAccessKey=k");
  ASSERT_TRUE(cs) << cs.error().message;
  EXPECT_EQ(cs->host, "::1");
  EXPECT_EQ(cs->authority(), "[::1]:9443");
}

TEST(ProtoConnectionString, SasForm) {
  const std::string token = make_sas_token("http://ns.example/hyco", "rule", "key", 1700000000);
  auto cs = parse_connection_string("Endpoint=sb://ns.example/;SharedAccessSignature=" + token +
                                    ";EntityPath=hyco");
  ASSERT_TRUE(cs) << cs.error().message;
  EXPECT_EQ(cs->sas_token, token);
  EXPECT_TRUE(cs->key_name.empty());
  EXPECT_EQ(cs->to_string(), "Endpoint=sb://ns.example/;SharedAccessSignature=" + token + ";EntityPath=hyco");
}

TEST(ProtoConnectionString, ExtraKnownKeysAreIgnored) {
  auto cs = parse_connection_string(
      "Endpoint=sb://ns.example/;OperationTimeout=00:01:00;Authentication=Managed Identity;EntityPath=h");
  ASSERT_TRUE(cs) << cs.error().message;
  EXPECT_EQ(cs->entity_path, "h");
  EXPECT_TRUE(cs->key.empty());
}

TEST(ProtoConnectionString, ErrorsNameTheKeyAndNeverShowSecrets) {
  const std::string key = ";SharedAccessKeyName=r;SharedAccessKey=" + std::string(secret);
  struct bad_case {
    std::string text;
    std::string mentions;
  };
  const std::vector<bad_case> cases = {
      {"", "no Endpoint"},
      {"SharedAccessKeyName=r;SharedAccessKey=" + std::string(secret), "no Endpoint"},
      {"Endpoint=https://ns.example/" + key, "sb://"},
      {"Endpoint=ns.example" + key, "sb://"},
      {"Endpoint=sb:///" + key, "no host"},
      {"Endpoint=sb://ns.example:0/" + key, "1..65535"},
      {"Endpoint=sb://ns.example:70000/" + key, "1..65535"},
      {"Endpoint=sb://ns.example:x/" + key, "1..65535"},
      {"Endpoint=sb://ns.example:/" + key, "empty port"},
      {"Endpoint=sb://ns.example/;SharedAccessKeyName=r", "without SharedAccessKey"},
      {"Endpoint=sb://ns.example/;SharedAccessKey=" + std::string(secret), "without SharedAccessKeyName"},
      {"Endpoint=sb://ns.example/" + key +
           ";SharedAccessSignature=SharedAccessSignature sr=a&sig=b&se=1&skn=c",
       "cannot be combined"},
      {"Endpoint=sb://ns.example/;SharedAccessSignature=garbage", "SharedAccessSignature"},
      {"Endpoint=sb://ns.example/" + key + ";Colour=blue", "Colour"},
      {"Endpoint=sb://ns.example/" + key + ";" + std::string(secret), "unknown key (not shown"},
      {"Endpoint=sb://ns.example/" + key + ";" + std::string(secret.substr(0, 40)), "no '='"},
      {"Endpoint=sb://ns.example/" + key + ";endpoint=sb://x/", "twice"},
      {"Endpoint=sb://ns.example/;SharedAccessKeyName=;SharedAccessKey=" + std::string(secret), "empty"},
  };
  for (const auto& c : cases) {
    auto cs = parse_connection_string(c.text);
    ASSERT_FALSE(cs) << c.text;
    EXPECT_EQ(cs.error().status, 400);
    EXPECT_NE(cs.error().message.find(c.mentions), std::string::npos) << cs.error().message;
    EXPECT_NE(cs.error().message.find("Endpoint=sb://HOST"), std::string::npos) << cs.error().message;
    EXPECT_EQ(cs.error().message.find("SGVsbG9X"), std::string::npos) << "key leaked: " << cs.error().message;
  }
}

}  // namespace
}  // namespace hc::proto
