// proto/utf8: UTF-8 as the relay meets it: validation (whole or in pieces, for text messages and
// Close reasons), turning header bytes that are not UTF-8 into UTF-8 before they go into JSON,
// and making outside text safe to log or print (no control characters reach a terminal or a
// log line). Pure functions; a utf8_validator is a per-message value, not shared between threads.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace hc::proto {

// Incremental UTF-8 validator for text messages that arrive in pieces (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF).
class utf8_validator {
 public:
  // False as soon as the bytes so far cannot be valid UTF-8.
  bool feed(std::span<const std::uint8_t> bytes) noexcept;
  // True when the message may end here (no partial code point pending).
  bool complete() const noexcept { return needed_ == 0; }
  void reset() noexcept {
    needed_ = 0;
    code_point_ = 0;
    min_ = 0;
  }

 private:
  std::uint32_t needed_ = 0;
  std::uint32_t code_point_ = 0;
  std::uint32_t min_ = 0;
};

bool is_utf8(std::string_view text) noexcept;

// `text` itself when it is valid UTF-8; otherwise every byte read as ISO-8859-1 (RFC 9110 §5.5:
// the historical meaning of obs-text in header values), so the result is always valid UTF-8
// and no byte is lost.
std::string utf8_or_latin1(std::string_view text);

// Outside text made safe for a log line or a terminal: C0 and C1 control characters, DEL, a
// backslash and every byte that is not part of valid UTF-8 become \xHH; the rest is kept.
std::string printable(std::string_view text);

}  // namespace hc::proto
