// proto/utf8: UTF-8 validation, repair and escaping (see utf8.hpp).
#include "proto/utf8.hpp"

#include <cstring>

namespace hc::proto {
namespace {

constexpr char upper_hex[] = "0123456789ABCDEF";

void append_hex_escape(std::string& out, unsigned char c) {
  out += "\\x";
  out += upper_hex[c >> 4];
  out += upper_hex[c & 0xF];
}

// Length of the valid UTF-8 sequence starting at text[at], or 0 when none starts there.
std::size_t sequence_length(std::string_view text, std::size_t at) noexcept {
  const auto lead = static_cast<unsigned char>(text[at]);
  const std::size_t n = lead < 0x80             ? 1
                        : (lead & 0xE0) == 0xC0 ? 2
                        : (lead & 0xF0) == 0xE0 ? 3
                        : (lead & 0xF8) == 0xF0 ? 4
                                                : 0;
  if (n == 0 || at + n > text.size()) return 0;
  utf8_validator v;
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data() + at);
  return v.feed({bytes, n}) && v.complete() ? n : 0;
}

}  // namespace

bool utf8_validator::feed(std::span<const std::uint8_t> bytes) noexcept {
  const std::uint8_t* p = bytes.data();
  const std::uint8_t* const end = p + bytes.size();
  while (p < end) {
    if (needed_ == 0) {
      // Fast path: 8 ASCII bytes at a time.
      while (end - p >= 8) {
        std::uint64_t chunk;
        std::memcpy(&chunk, p, 8);
        if ((chunk & 0x8080808080808080ULL) != 0) break;
        p += 8;
      }
      if (p == end) break;
      const std::uint8_t b = *p++;
      if (b < 0x80) continue;
      if ((b & 0xE0) == 0xC0) {
        code_point_ = b & 0x1F;
        needed_ = 1;
        min_ = 0x80;
      } else if ((b & 0xF0) == 0xE0) {
        code_point_ = b & 0x0F;
        needed_ = 2;
        min_ = 0x800;
      } else if ((b & 0xF8) == 0xF0) {
        code_point_ = b & 0x07;
        needed_ = 3;
        min_ = 0x10000;
      } else {
        return false;  // a continuation byte without a lead, or 0xF8..0xFF
      }
    } else {
      const std::uint8_t b = *p++;
      if ((b & 0xC0) != 0x80) return false;
      code_point_ = (code_point_ << 6) | (b & 0x3F);
      --needed_;
    }
    // Fail as early as the bytes so far allow: the code points this prefix can still become
    // lie in [lo, hi]; reject when all of them are overlong, surrogates or above U+10FFFF.
    const std::uint32_t shift = 6 * needed_;
    const std::uint32_t lo = code_point_ << shift;
    const std::uint32_t hi = lo | ((1u << shift) - 1);
    if (hi < min_ || lo > 0x10FFFF || (lo >= 0xD800 && hi <= 0xDFFF)) return false;
  }
  return true;
}
bool is_utf8(std::string_view text) noexcept {
  utf8_validator v;
  return v.feed({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}) && v.complete();
}

std::string utf8_or_latin1(std::string_view text) {
  if (is_utf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() * 2);
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    const auto c = static_cast<unsigned char>(text[at]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += text[at++];
      continue;
    }
    const std::size_t n = c >= 0x80 ? sequence_length(text, at) : 0;
    // U+0080..U+009F (C1 controls, 0xC2 0x80..0x9F) act on terminals like ESC sequences.
    const bool c1 = n == 2 && c == 0xC2 && static_cast<unsigned char>(text[at + 1]) < 0xA0;
    if (n > 0 && !c1) {
      out.append(text.substr(at, n));
      at += n;
    } else {
      append_hex_escape(out, c);
      ++at;
    }
  }
  return out;
}

}  // namespace hc::proto
