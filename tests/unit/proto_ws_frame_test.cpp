// Unit tests for proto/ws_frame: RFC 6455 header codec, masking, close payloads, UTF-8
// validation across chunk boundaries, and the handshake accept key.
#include "proto/ws_frame.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace hc::proto {
namespace {

using bytes = std::vector<std::uint8_t>;

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

bytes encode(const frame_header& h) {
  std::array<std::uint8_t, max_frame_header_bytes> buf{};
  const std::size_t n = encode_frame_header(h, buf);
  return bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

TEST(ProtoWsFrame, Rfc6455Examples) {
  // RFC 6455 §5.7: unmasked "Hello".
  const bytes hello = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  auto d = decode_frame_header(hello);
  ASSERT_TRUE(d);
  ASSERT_TRUE(*d);
  EXPECT_TRUE((*d)->header.fin);
  EXPECT_EQ((*d)->header.op, opcode::text);
  EXPECT_FALSE((*d)->header.masked);
  EXPECT_EQ((*d)->header.payload_length, 5u);
  EXPECT_EQ((*d)->header_bytes, 2u);

  // Masked "Hello".
  bytes masked = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  auto m = decode_frame_header(masked);
  ASSERT_TRUE(m && *m);
  EXPECT_TRUE((*m)->header.masked);
  EXPECT_EQ((*m)->header.mask, (mask_key{0x37, 0xfa, 0x21, 0x3d}));
  EXPECT_EQ((*m)->header_bytes, 6u);
  std::span<std::uint8_t> payload(masked.data() + 6, 5);
  apply_mask(payload, (*m)->header.mask, 0);
  EXPECT_EQ(std::string(payload.begin(), payload.end()), "Hello");

  // Fragmented "Hel" + "lo", a Ping, and 256-byte / 64 KiB binary headers.
  auto first = decode_frame_header(bytes{0x01, 0x03});
  EXPECT_FALSE((*first)->header.fin);
  EXPECT_EQ((*first)->header.op, opcode::text);
  EXPECT_EQ((*decode_frame_header(bytes{0x80, 0x02}))->header.op, opcode::continuation);
  EXPECT_EQ((*decode_frame_header(bytes{0x89, 0x05}))->header.op, opcode::ping);
  auto b256 = decode_frame_header(bytes{0x82, 0x7E, 0x01, 0x00});
  EXPECT_EQ((*b256)->header.payload_length, 256u);
  EXPECT_EQ((*b256)->header_bytes, 4u);
  auto b64k = decode_frame_header(bytes{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0});
  EXPECT_EQ((*b64k)->header.payload_length, 65536u);
  EXPECT_EQ((*b64k)->header_bytes, 10u);
}

TEST(ProtoWsFrame, NeedsMoreBytes) {
  const frame_header h{true, opcode::binary, true, {1, 2, 3, 4}, 70000};
  const bytes full = encode(h);
  ASSERT_EQ(full.size(), 14u);
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto d = decode_frame_header(std::span(full.data(), n));
    ASSERT_TRUE(d) << n;
    EXPECT_FALSE(*d) << "decoded from only " << n << " bytes";
  }
  auto d = decode_frame_header(full);
  ASSERT_TRUE(d && *d);
  EXPECT_EQ((*d)->header_bytes, 14u);
}

TEST(ProtoWsFrame, EncodeDecodeRoundTrip) {
  for (std::uint64_t len :
       {0ull, 1ull, 125ull, 126ull, 127ull, 65535ull, 65536ull, 1ull << 32, 0x7FFFFFFFFFFFFFFFull}) {
    for (bool masked : {false, true}) {
      for (opcode op : {opcode::continuation, opcode::text, opcode::binary}) {
        for (bool fin : {false, true}) {
          const frame_header h{fin, op, masked, {9, 8, 7, 6}, len};
          const bytes enc = encode(h);
          const std::size_t expect = (len < 126 ? 2 : len <= 0xFFFF ? 4 : 10) + (masked ? 4 : 0);
          ASSERT_EQ(enc.size(), expect);
          auto d = decode_frame_header(enc);
          ASSERT_TRUE(d && *d);
          EXPECT_EQ((*d)->header.fin, fin);
          EXPECT_EQ((*d)->header.op, op);
          EXPECT_EQ((*d)->header.masked, masked);
          EXPECT_EQ((*d)->header.payload_length, len);
          if (masked) {
            EXPECT_EQ((*d)->header.mask, (mask_key{9, 8, 7, 6}));
          }
          EXPECT_EQ((*d)->header_bytes, enc.size());
        }
      }
    }
  }
  const bytes close = encode({true, opcode::close, false, {}, 2});
  EXPECT_EQ(close, (bytes{0x88, 0x02}));
}

TEST(ProtoWsFrame, NonMinimalLengthIsAccepted) {
  auto d = decode_frame_header(bytes{0x82, 0x7E, 0x00, 0x05});
  ASSERT_TRUE(d && *d);
  EXPECT_EQ((*d)->header.payload_length, 5u);
  auto e = decode_frame_header(bytes{0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0, 5});
  ASSERT_TRUE(e && *e);
  EXPECT_EQ((*e)->header.payload_length, 5u);
}

TEST(ProtoWsFrame, HeaderErrors) {
  for (const bytes& bad : {
           bytes{0xC1, 0x00},                             // RSV1
           bytes{0xA1, 0x00},                             // RSV2
           bytes{0x91, 0x00},                             // RSV3
           bytes{0x83, 0x00},                             // reserved data opcode
           bytes{0x8B, 0x00},                             // reserved control opcode
           bytes{0x8F, 0x00},                             // reserved control opcode
           bytes{0x09, 0x00},                             // fragmented ping
           bytes{0x08, 0x00},                             // fragmented close
           bytes{0x89, 0x7E, 0x00, 0x7E},                 // ping of 126
           bytes{0x8A, 0x7F, 0, 0, 0, 0, 0, 0, 0, 126},   // pong of 126
           bytes{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0},  // 64-bit length, top bit
       }) {
    auto d = decode_frame_header(bad);
    ASSERT_FALSE(d) << int(bad[0]) << " " << int(bad[1]);
    EXPECT_EQ(d.error().status, 400);
    EXPECT_NE(d.error().message.find("WebSocket frame"), std::string::npos);
  }
  EXPECT_TRUE(decode_frame_header(bytes{0x89, 0x7D}));  // ping of exactly 125
}

TEST(ProtoWsFrame, ApplyMaskMatchesBytewiseAtEveryOffsetAndLength) {
  std::mt19937 rng(12345);
  const mask_key key{0xA1, 0xB2, 0xC3, 0xD4};
  for (std::size_t len = 0; len < 70; ++len) {
    for (std::uint64_t offset = 0; offset < 9; ++offset) {
      bytes data(len);
      for (auto& b : data) b = static_cast<std::uint8_t>(rng());
      bytes expect = data;
      for (std::size_t i = 0; i < len; ++i) expect[i] ^= key[(offset + i) % 4];
      apply_mask(data, key, offset);
      ASSERT_EQ(data, expect) << "len " << len << " offset " << offset;
    }
  }
}

TEST(ProtoWsFrame, ApplyMaskInChunksEqualsWhole) {
  const mask_key key{1, 2, 3, 4};
  bytes whole(1000);
  for (std::size_t i = 0; i < whole.size(); ++i) whole[i] = static_cast<std::uint8_t>(i * 7);
  bytes chunked = whole;
  apply_mask(whole, key, 0);
  std::size_t pos = 0;
  for (std::size_t step : {3u, 1u, 8u, 13u, 500u, 475u}) {
    apply_mask(std::span(chunked.data() + pos, step), key, pos);
    pos += step;
  }
  ASSERT_EQ(pos, chunked.size());
  EXPECT_EQ(whole, chunked);
  apply_mask(whole, key, 0);  // masking twice restores
  EXPECT_EQ(whole[10], static_cast<std::uint8_t>(70));
}

TEST(ProtoWsFrame, ClosePayloadCodes) {
  auto empty = parse_close_payload({});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->code, 1005);
  EXPECT_EQ(empty->reason, "");

  for (int code :
       {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999}) {
    const std::string p = build_close_payload(static_cast<std::uint16_t>(code), "why");
    auto c = parse_close_payload(as_bytes(p));
    ASSERT_TRUE(c) << code;
    EXPECT_EQ(c->code, code);
    EXPECT_EQ(c->reason, "why");
  }
  for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}) {
    const std::string p = build_close_payload(static_cast<std::uint16_t>(code), "");
    auto c = parse_close_payload(as_bytes(p));
    ASSERT_FALSE(c) << code;
    EXPECT_EQ(c.error().status, 400);
    EXPECT_NE(c.error().message.find(std::to_string(code)), std::string::npos);
  }
}

TEST(ProtoWsFrame, ClosePayloadErrorsAndBuild) {
  EXPECT_FALSE(parse_close_payload(bytes{0x03}));
  EXPECT_FALSE(parse_close_payload(bytes{0x03, 0xE8, 0xC0, 0xAF}));  // overlong reason
  EXPECT_FALSE(parse_close_payload(bytes{0x03, 0xE8, 0xE2, 0x82}));  // truncated reason
  EXPECT_FALSE(parse_close_payload(bytes(126, 0x41)));               // too long
  auto ok = parse_close_payload(bytes{0x03, 0xE8, 0xE2, 0x82, 0xAC});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->reason, "\xE2\x82\xAC");

  EXPECT_EQ(build_close_payload(1000, "Shutdown"), std::string("\x03\xE8Shutdown", 10));
  const std::string longer = build_close_payload(1011, std::string(200, 'x') + "\xC3\xA9");
  EXPECT_EQ(longer.size(), 125u);
  EXPECT_TRUE(parse_close_payload(as_bytes(longer)));
  const std::string cut = build_close_payload(1011, std::string(122, 'x') + "\xC3\xA9");
  EXPECT_EQ(cut.size(), 124u);  // the 2-byte character would pass 125: dropped whole
  EXPECT_TRUE(parse_close_payload(as_bytes(cut)));
}

TEST(ProtoWsFrame, Utf8ValidatorAcceptsValidText) {
  for (std::string_view ok : {"", "hello", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF",
                              "\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF",
                              "Gr\xC3\xBC\xC3\x9F"
                              "e \xE2\x82\xAC \xF0\x9F\x98\x80 long ascii tail 1234567890"}) {
    utf8_validator v;
    EXPECT_TRUE(v.feed(as_bytes(ok))) << ok;
    EXPECT_TRUE(v.complete()) << ok;
  }
}

TEST(ProtoWsFrame, Utf8ValidatorRejectsBadText) {
  for (std::string_view bad : {
           "\x80",              // lone continuation
           "\xBF",              // lone continuation
           "\xC0\x80",          // overlong NUL
           "\xC1\xBF",          // overlong
           "\xE0\x80\x80",      // overlong 3-byte
           "\xE0\x9F\xBF",      // overlong 3-byte
           "\xF0\x80\x80\x80",  // overlong 4-byte
           "\xF0\x8F\xBF\xBF",  // overlong 4-byte
           "\xED\xA0\x80",      // U+D800 surrogate
           "\xED\xBF\xBF",      // U+DFFF surrogate
           "\xF4\x90\x80\x80",  // U+110000
           "\xF5\x80\x80\x80",  // lead beyond range
           "\xF8\x88\x80\x80\x80",
           "\xFE",
           "\xFF",
           "\xC3\x28",  // bad continuation
           "\xE2\x82\x28",
           "abcdefgh\xC3\x28ijkl",
       }) {
    utf8_validator v;
    EXPECT_FALSE(v.feed(as_bytes(bad)) && v.complete()) << testing::PrintToString(bad);
  }
}

TEST(ProtoWsFrame, Utf8ValidatorFailsFastOnImpossiblePrefixes) {
  for (std::string_view prefix : {"\xC0", "\xE0\x80", "\xED\xA0", "\xF0\x80", "\xF4\x90", "\xF5"}) {
    utf8_validator v;
    EXPECT_FALSE(v.feed(as_bytes(prefix))) << testing::PrintToString(prefix);
  }
}

TEST(ProtoWsFrame, Utf8ValidatorAcrossChunkBoundaries) {
  const std::string text =
      "a\xF0\x9F\x98\x80"
      "b\xE2\x82\xAC"
      "c\xC3\xA9";
  for (std::size_t split1 = 0; split1 <= text.size(); ++split1) {
    for (std::size_t split2 = split1; split2 <= text.size(); ++split2) {
      utf8_validator v;
      ASSERT_TRUE(v.feed(as_bytes(std::string_view(text).substr(0, split1))));
      ASSERT_TRUE(v.feed(as_bytes(std::string_view(text).substr(split1, split2 - split1))));
      ASSERT_TRUE(v.feed(as_bytes(std::string_view(text).substr(split2))));
      EXPECT_TRUE(v.complete());
    }
  }
  utf8_validator v;
  ASSERT_TRUE(v.feed(as_bytes("x\xF0\x9F")));
  EXPECT_FALSE(v.complete());  // the message may not end mid code point
  ASSERT_TRUE(v.feed(as_bytes("\x98")));
  EXPECT_FALSE(v.complete());
  ASSERT_TRUE(v.feed(as_bytes("\x80")));
  EXPECT_TRUE(v.complete());

  utf8_validator surrogate;
  ASSERT_TRUE(surrogate.feed(as_bytes("\xED")));
  EXPECT_FALSE(surrogate.feed(as_bytes("\xA0\x80")));  // caught across the boundary

  utf8_validator reset;
  ASSERT_TRUE(reset.feed(as_bytes("\xE2")));
  reset.reset();
  EXPECT_TRUE(reset.complete());
  EXPECT_TRUE(reset.feed(as_bytes("ok")));
}

TEST(ProtoWsFrame, AcceptKeyAndRandomKeys) {
  // RFC 6455 §1.3's example (SHA-1 of key + GUID, checked with Python's hashlib too).
  EXPECT_EQ(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const std::string k = new_websocket_key();
  EXPECT_EQ(k.size(), 24u);
  EXPECT_NE(k, new_websocket_key());
  const mask_key a = new_mask_key();
  const mask_key b = new_mask_key();
  const mask_key c = new_mask_key();
  EXPECT_FALSE(a == b && b == c);
  EXPECT_TRUE(is_control(opcode::ping));
  EXPECT_TRUE(is_control(opcode::close));
  EXPECT_FALSE(is_control(opcode::binary));
}

}  // namespace
}  // namespace hc::proto
