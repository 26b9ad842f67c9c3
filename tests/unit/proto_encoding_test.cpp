// Unit tests for proto/encoding: percent-encoding, base64, hex, randomness, case folding.
#include "proto/encoding.hpp"

#include <gtest/gtest.h>

namespace hc::proto {
namespace {

TEST(ProtoEncoding, PercentEncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(percent_encode("http://contoso.servicebus.windows.net/hyco"),
            "http%3A%2F%2Fcontoso.servicebus.windows.net%2Fhyco");
  EXPECT_EQ(percent_encode("!'()*"), "%21%27%28%29%2A");  // encodeURIComponent leaves these
  EXPECT_EQ(percent_encode("a b+c=d&e"), "a%20b%2Bc%3Dd%26e");
  EXPECT_EQ(percent_encode("\xC3\xA9"), "%C3%A9");
  EXPECT_EQ(percent_encode(std::string_view("\0", 1)), "%00");
  EXPECT_EQ(percent_encode(""), "");
}

TEST(ProtoEncoding, PercentDecode) {
  EXPECT_EQ(percent_decode("http%3a%2F%2Fx"), "http://x");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("%2B", true), "+");
  EXPECT_EQ(percent_decode("%C3%A9"), "\xC3\xA9");
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("abc%zz"));
  EXPECT_FALSE(percent_decode("%g0"));
}

TEST(ProtoEncoding, PercentRoundTripOfEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(percent_decode(percent_encode(all)), all);
}

TEST(ProtoEncoding, Base64Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  for (std::string_view s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"})
    EXPECT_EQ(base64_decode(base64_encode(s)), std::string(s));
}

TEST(ProtoEncoding, Base64DecodeRejectsBadInput) {
  EXPECT_FALSE(base64_decode("Zg="));       // bad length
  EXPECT_FALSE(base64_decode("Zg"));        // unpadded
  EXPECT_FALSE(base64_decode("Z==="));      // too much padding
  EXPECT_FALSE(base64_decode("Zg==Zm9v"));  // padding in the middle
  EXPECT_FALSE(base64_decode("Zm=v"));      // '=' before data
  EXPECT_FALSE(base64_decode("Zm9 "));      // space
  EXPECT_FALSE(base64_decode("Zm-_"));      // URL alphabet
  EXPECT_EQ(base64_decode("+/+/"), std::string("\xFB\xFF\xBF", 3));
}

TEST(ProtoEncoding, HexAndRandomHex) {
  const std::uint8_t bytes[] = {0x00, 0x0F, 0xA5, 0xFF};
  EXPECT_EQ(hex_encode(bytes), "000fa5ff");
  EXPECT_EQ(random_hex(0), "");
  const std::string a = random_hex(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, random_hex(16));
}

TEST(ProtoEncoding, CaseInsensitiveHelpers) {
  EXPECT_TRUE(iequals("Contoso.SERVICEBUS", "contoso.servicebus"));
  EXPECT_FALSE(iequals("abc", "abcd"));
  EXPECT_FALSE(iequals("abc", "abd"));
  EXPECT_TRUE(istarts_with("SB-HC-Action", "sb-hc-"));
  EXPECT_FALSE(istarts_with("sb-h", "sb-hc-"));
  EXPECT_TRUE(istarts_with("x", ""));
  EXPECT_EQ(to_lower("MiXeD-123\xC3\x89"), "mixed-123\xC3\x89");  // ASCII only
}

TEST(ProtoEncoding, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_TRUE(constant_time_equals("secret", "secret"));
  EXPECT_FALSE(constant_time_equals("secret", "secreT"));
  EXPECT_FALSE(constant_time_equals("secret", "secrets"));
  EXPECT_TRUE(constant_time_equals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(constant_time_equals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

TEST(ProtoEncoding, QuoteForMessageTruncatesAndEscapes) {
  EXPECT_EQ(quote_for_message("abc"), "\"abc\"");
  EXPECT_EQ(quote_for_message(std::string(100, 'x')), "\"" + std::string(60, 'x') + "...\"");
  EXPECT_EQ(quote_for_message(std::string(60, 'x')), "\"" + std::string(60, 'x') + "\"");
  EXPECT_EQ(quote_for_message("a\r\nb\"\xFF"), "\"a\\x0D\\x0Ab\\x22\\xFF\"");
  EXPECT_EQ(quote_for_message("abcdef", 3), "\"abc...\"");
}

}  // namespace
}  // namespace hc::proto
