// proto/encoding: percent-encoding, base64 and hex, the byte-level helpers every other proto
// file uses. Pure functions; no allocation beyond the returned string.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hc::proto {

// RFC 3986 unreserved characters stay, everything else becomes %XX (upper-case hex), like
// JavaScript's encodeURIComponent and .NET's Uri.EscapeDataString.
std::string percent_encode(std::string_view text);
// Decodes %XX (either hex case); '+' becomes ' ' only when plus_is_space. nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

std::string base64_encode(std::span<const std::uint8_t> bytes);
std::string base64_encode(std::string_view bytes);
// Standard alphabet with padding; nullopt on any other character or bad length.
std::optional<std::string> base64_decode(std::string_view text);

std::string hex_encode(std::span<const std::uint8_t> bytes);
// n cryptographically random bytes as lower-case hex (2n characters).
std::string random_hex(std::size_t n_bytes);

// ASCII case-insensitive comparisons (host names, header names, path segments).
bool iequals(std::string_view a, std::string_view b) noexcept;
bool istarts_with(std::string_view text, std::string_view prefix) noexcept;
std::string to_lower(std::string_view text);
// Without leading and trailing spaces, tabs, CR and LF.
std::string_view trim_space(std::string_view text) noexcept;

// Compares two byte strings in time that depends only on their lengths.
bool constant_time_equals(std::string_view a, std::string_view b) noexcept;

// An arrived value as error messages show it: in double quotes, cut to `max_chars` (then "..."),
// bytes outside printable ASCII as \xHH so a message stays one line. Never pass keys or signatures.
std::string quote_for_message(std::string_view text, std::size_t max_chars = 60);

}  // namespace hc::proto
