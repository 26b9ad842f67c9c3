// Unit tests for proto/utf8: validation at its edges (overlong forms, surrogates, the last code
// point, a character cut at the end), Latin-1 repair of header bytes, and printable().
#include "proto/utf8.hpp"

#include <gtest/gtest.h>

namespace hc::proto {
namespace {

TEST(ProtoUtf8, ValidatesAtTheEdges) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("plain ascii"));
  EXPECT_TRUE(is_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_TRUE(is_utf8("\xF4\x8F\xBF\xBF"));   // U+10FFFF, the last code point
  EXPECT_FALSE(is_utf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(is_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_utf8("\xE0\x80\xAF"));      // overlong, three bytes
  EXPECT_FALSE(is_utf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(is_utf8("caf\xE9"));           // Latin-1
  EXPECT_FALSE(is_utf8("\xE2\x82"));          // cut in the middle of a character
  EXPECT_FALSE(is_utf8("\x80"));              // a continuation byte alone
}

TEST(ProtoUtf8, HeaderBytesThatAreNotUtf8AreReadAsLatin1) {
  EXPECT_EQ(utf8_or_latin1("caf\xE9"), "caf\xC3\xA9");
  EXPECT_EQ(utf8_or_latin1("\xFF\x80"), "\xC3\xBF\xC2\x80");
  EXPECT_EQ(utf8_or_latin1("na\xC3\xAFve"), "na\xC3\xAFve");  // valid UTF-8 stays as it is
  EXPECT_TRUE(is_utf8(utf8_or_latin1(std::string("\x01\x7F\x80\xFE", 4))));
}

TEST(ProtoUtf8, PrintableEscapesEverythingThatCanDriveATerminal) {
  EXPECT_EQ(printable("listener 7 connected"), "listener 7 connected");
  EXPECT_EQ(printable("a\x1B[2Jb"), "a\\x1B[2Jb");
  EXPECT_EQ(printable("line\nnext\r\t"), "line\\x0Anext\\x0D\\x09");
  EXPECT_EQ(printable("back\\slash"), "back\\x5Cslash");  // an escape can never be forged
  EXPECT_EQ(printable("\x7F"), "\\x7F");
  EXPECT_EQ(printable("caf\xC3\xA9"), "caf\xC3\xA9");  // UTF-8 text stays readable
  EXPECT_EQ(printable("\xC2\x9B"
                      "31m"),
            "\\xC2\\x9B31m");  // U+009B, the C1 CSI
  EXPECT_EQ(printable("\x9B"
                      "31m"),
            "\\x9B31m");  // the raw 8-bit CSI
  EXPECT_EQ(printable("caf\xE9"), "caf\\xE9");
  EXPECT_TRUE(is_utf8(printable(std::string("\xF0\x9F\x98", 3))));
}

}  // namespace
}  // namespace hc::proto
