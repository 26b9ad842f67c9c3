// proto/ws_frame: the RFC 6455 frame codec: header decode/encode, masking, close payloads and the
// handshake's accept key. The relay owns its frame layer (rather than Beast's websocket stream)
// so that a Close can be forwarded while the other direction keeps flowing (half-close).
// Pure functions over bytes; nothing here reads or writes a socket.
#pragma once
#include "proto/error.hpp"
#include "proto/utf8.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hc::proto {

enum class opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };
constexpr bool is_control(opcode op) {
  return (std::uint8_t(op) & 0x8) != 0;
}

using mask_key = std::array<std::uint8_t, 4>;

struct frame_header {
  bool fin = true;
  opcode op = opcode::binary;
  bool masked = false;
  mask_key mask{};
  std::uint64_t payload_length = 0;
};

inline constexpr std::size_t max_frame_header_bytes = 14;
inline constexpr std::size_t max_control_payload_bytes = 125;

struct decoded_header {
  frame_header header;
  std::size_t header_bytes = 0;  // how many input bytes the header took
};

// Decodes one frame header from the start of `bytes`. nullopt = need more bytes. Errors (all
// 400, the message names the rule): RSV bits set (no extension is ever negotiated), reserved
// opcode, control frame longer than 125 or not FIN, 64-bit length with the top bit set.
// Non-minimal length encodings are accepted (senders differ).
result<std::optional<decoded_header>> decode_frame_header(std::span<const std::uint8_t> bytes);

// Writes the header into `out` and returns its size (2..14).
std::size_t encode_frame_header(const frame_header& h, std::span<std::uint8_t, max_frame_header_bytes> out);

// XORs `data` with the mask; `offset` is how many payload bytes of this frame came before
// `data` (so a payload can be unmasked in chunks).
void apply_mask(std::span<std::uint8_t> data, const mask_key& key, std::uint64_t offset) noexcept;

// Close frame payload: 2-byte code + UTF-8 reason. An empty payload means "no status" (1005).
struct close_info {
  std::uint16_t code = 1005;
  std::string reason;
};
// 400 on a 1-byte or over-125-byte payload, a code that may not be sent (RFC 6455 §7.4 and the
// IANA registry: 1000-1003, 1007-1014 and 3000-4999 are allowed; <1000, 1004-1006, 1015-2999 and
// >=5000 are not), or a reason that is not UTF-8.
result<close_info> parse_close_payload(std::span<const std::uint8_t> payload);
// Code + reason cut to fit 125 bytes.
std::string build_close_payload(std::uint16_t code, std::string_view reason);

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string websocket_accept_key(std::string_view client_key);
// 16 random bytes, base64: a client's Sec-WebSocket-Key.
std::string new_websocket_key();
// A client frame's masking key, from the CSPRNG (RFC 6455 §5.3: unpredictable).
mask_key new_mask_key();

}  // namespace hc::proto
