// Unit tests for proto/error: category, throw hook, Azure tracking descriptions, close reasons.
#include "proto/error.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace hc::proto {
namespace {

TEST(ProtoError, CategoryNamesAndMessages) {
  EXPECT_STREQ(proto_category().name(), "hc.proto");
  const std::error_code ec = errc::unauthorized;
  EXPECT_EQ(&ec.category(), &proto_category());
  EXPECT_EQ(ec.message(), "unauthorized");
  EXPECT_EQ(make_error_code(errc::timeout).message(), "timeout");
  EXPECT_NE(proto_category().message(999).find("999"), std::string::npos);
}

TEST(ProtoError, FactoriesCarryStatusAndCode) {
  EXPECT_EQ(error::bad_request("x").status, 400);
  EXPECT_EQ(error::unauthorized("x").code, errc::unauthorized);
  EXPECT_EQ(error::forbidden("x").status, 403);
  EXPECT_EQ(error::not_found("x").status, 404);
  EXPECT_EQ(error::conflict("x").status, 409);
  EXPECT_EQ(error::internal("x").status, 500);
}

TEST(ProtoError, ResultValueThrowsSystemErrorWithMessage) {
  result<int> r = error::forbidden("token covers another path");
  try {
    (void)r.value();
    FAIL() << "value() did not throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::forbidden));
    EXPECT_NE(std::string(e.what()).find("token covers another path"), std::string::npos);
  }
}

std::chrono::system_clock::time_point utc(int y, int mo, int d, int h, int mi, int s) {
  using namespace std::chrono;
  return sys_days{year{y} / mo / d} + hours{h} + minutes{mi} + seconds{s};
}

TEST(ProtoError, TrackingDescriptionMatchesAzureFormat) {
  EXPECT_EQ(
      tracking_description("The token has an invalid signature", "abc_G3", "contoso.servicebus.windows.net",
                           "authenticated", utc(2018, 5, 7, 17, 20, 5)),
      "The token has an invalid signature. TrackingId:abc_G3, "
      "SystemTracker:sb://contoso.servicebus.windows.net/authenticated, Timestamp:5/7/2018 5:20:05 PM");
}

TEST(ProtoError, TrackingDescriptionDoesNotDoubleThePeriodAndHandlesMidnightAndNoon) {
  EXPECT_EQ(
      tracking_description("Endpoint does not exist.", "t", "ns", "/hyco", utc(2024, 12, 31, 0, 0, 9)),
      "Endpoint does not exist. TrackingId:t, SystemTracker:sb://ns/hyco, Timestamp:12/31/2024 12:00:09 AM");
  EXPECT_NE(tracking_description("m", "t", "ns", "p", utc(2024, 1, 2, 12, 5, 0)).find("1/2/2024 12:05:00 PM"),
            std::string::npos);
  EXPECT_NE(tracking_description("m", "t", "ns", "p", utc(2024, 1, 2, 11, 59, 59)).find("11:59:59 AM"),
            std::string::npos);
}

TEST(ProtoError, NewTrackingIdIsAGuidWithGatewaySuffix) {
  const std::string a = new_tracking_id();
  const std::string b = new_tracking_id();
  EXPECT_NE(a, b);
  EXPECT_TRUE(std::regex_match(
      a, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}_G0")))
      << a;
}

TEST(ProtoError, CloseReasonKeepsShortTextAndCutsOnUtf8Boundary) {
  EXPECT_EQ(close_reason("Shutdown"), "Shutdown");
  EXPECT_EQ(close_reason(std::string(123, 'a')).size(), 123u);
  EXPECT_EQ(close_reason(std::string(200, 'a')).size(), 123u);
  // 122 ASCII bytes then a 2-byte character: byte 123 would split it.
  const std::string text = std::string(122, 'a') + "\xC3\xA9" + "tail";
  EXPECT_EQ(close_reason(text), std::string(122, 'a'));
  // 121 ASCII bytes then the same character: it fits exactly.
  const std::string fits = std::string(121, 'a') + "\xC3\xA9" + "tail";
  EXPECT_EQ(close_reason(fits), std::string(121, 'a') + "\xC3\xA9");
  // A 4-byte character straddling the limit.
  const std::string four = std::string(121, 'a') + "\xF0\x9F\x98\x80";
  EXPECT_EQ(close_reason(four), std::string(121, 'a'));
}

}  // namespace
}  // namespace hc::proto
