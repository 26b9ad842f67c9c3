// Unit tests for proto/runtime_info: the Atom HybridConnectionDescription the relay writes and
// the tolerant reader hcm uses.
#include "proto/runtime_info.hpp"

#include <gtest/gtest.h>

namespace hc::proto {
namespace {

runtime_info sample() {
  runtime_info info;
  info.created_at = "2026-11-29T09:00:00Z";
  info.updated_at = "2026-11-30T10:30:00Z";
  info.requires_client_authorization = true;
  info.user_metadata = R"([{"key":"endpoint","value":"db.corp:5432"}])";
  info.listener_count = 2;
  return info;
}

TEST(ProtoRuntimeInfo, BuildsTheAtomEntryInDataContractOrder) {
  const std::string url = "https://ns.example/hyco";
  EXPECT_EQ(
      build_runtime_info_xml(sample(), url),
      "<entry xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"text\">https://ns.example/hyco</title>"
      "<id>https://ns.example/hyco</id><updated>2026-11-30T10:30:00Z</updated>"
      "<content type=\"application/xml\"><HybridConnectionDescription "
      "xmlns=\"http://schemas.microsoft.com/netservices/2010/10/servicebus/connect\" "
      "xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\"><CreatedAt>2026-11-29T09:00:00Z</CreatedAt>"
      "<UpdatedAt>2026-11-30T10:30:00Z</UpdatedAt><RequiresClientAuthorization>true"
      "</RequiresClientAuthorization><UserMetadata>[{&quot;key&quot;:&quot;endpoint&quot;,&quot;value&quot;:"
      "&quot;db.corp:5432&quot;}]</UserMetadata><ListenerCount>2</ListenerCount>"
      "</HybridConnectionDescription></content></entry>");
}

TEST(ProtoRuntimeInfo, RoundTrips) {
  runtime_info info = sample();
  info.user_metadata = R"([{"key":"endpoint","value":"a<b>&'c'"}] & more)";
  info.requires_client_authorization = false;
  info.listener_count = 25;
  auto back = parse_runtime_info_xml(build_runtime_info_xml(info, "https://ns.example/a&b"));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->created_at, info.created_at);
  EXPECT_EQ(back->updated_at, info.updated_at);
  EXPECT_FALSE(back->requires_client_authorization);
  EXPECT_EQ(back->user_metadata, info.user_metadata);
  EXPECT_EQ(back->listener_count, 25);
}

TEST(ProtoRuntimeInfo, ParsesServiceBusStyleXmlTolerantly) {
  const std::string xml =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<entry xmlns=\"http://www.w3.org/2005/Atom\">\n  <id>https://ns/hyco</id>\n"
      "  <content type=\"application/xml\">\n"
      "    <HybridConnectionDescription "
      "xmlns=\"http://schemas.microsoft.com/netservices/2010/10/servicebus/connect\" "
      "xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
      "      <CreatedAt>2018-05-07T17:20:05.123Z</CreatedAt>\n"
      "      <UpdatedAtX>ignored</UpdatedAtX>\n"
      "      <UpdatedAt> 2018-05-08T00:00:00Z </UpdatedAt>\n"
      "      <RequiresClientAuthorization>false</RequiresClientAuthorization>\n"
      "      <UserMetadata>caf&#233; &#x1F600; &unknown; &amp;</UserMetadata>\n"
      "      <ListenerCount> 3 </ListenerCount>\n"
      "    </HybridConnectionDescription>\n  </content>\n</entry>";
  auto info = parse_runtime_info_xml(xml);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->created_at, "2018-05-07T17:20:05.123Z");
  EXPECT_EQ(info->updated_at, "2018-05-08T00:00:00Z");
  EXPECT_FALSE(info->requires_client_authorization);
  EXPECT_EQ(info->user_metadata, "caf\xC3\xA9 \xF0\x9F\x98\x80 &unknown; &");
  EXPECT_EQ(info->listener_count, 3);
}

TEST(ProtoRuntimeInfo, MissingAndEmptyElementsTakeDefaults) {
  auto info = parse_runtime_info_xml(
      "<HybridConnectionDescription><UserMetadata/><UpdatedAt "
      "i:nil=\"true\"/></HybridConnectionDescription>");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_TRUE(info->requires_client_authorization);
  EXPECT_EQ(info->user_metadata, "");
  EXPECT_EQ(info->updated_at, "");
  EXPECT_EQ(info->listener_count, 0);
}

TEST(ProtoRuntimeInfo, EmptyFeedIsNotFound) {
  auto r = parse_runtime_info_xml(
      "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"text\">Publicly Listed "
      "Services</title></feed>");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 404);
  EXPECT_EQ(r.error().code, errc::not_found);
}

TEST(ProtoRuntimeInfo, OtherDocumentsAre400) {
  for (std::string_view bad : {
           "",
           "<html>hello</html>",
           "<entry><content><QueueDescription/></content></entry>",
           "<HybridConnectionDescription><ListenerCount>many</ListenerCount></HybridConnectionDescription>",
           "<HybridConnectionDescription><ListenerCount>-1</ListenerCount></HybridConnectionDescription>",
           "<HybridConnectionDescription><RequiresClientAuthorization>yes</RequiresClientAuthorization>"
           "</HybridConnectionDescription>",
       }) {
    auto r = parse_runtime_info_xml(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().status, 400) << bad;
  }
}

TEST(ProtoRuntimeInfo, ErrorXmlAndEscape) {
  EXPECT_EQ(build_management_error_xml(401, "Bad <token> & more"),
            "<Error><Code>401</Code><Detail>Bad &lt;token&gt; &amp; more</Detail></Error>");
  EXPECT_EQ(xml_escape("&<>\"'x"), "&amp;&lt;&gt;&quot;&#39;x");
  EXPECT_EQ(management_api_version, "2016-07");
}

}  // namespace
}  // namespace hc::proto
