// proto/ws_frame: the RFC 6455 frame codec: header decode/encode, masking (8 bytes per step),
// close payloads with the §7.4 code rules and the handshake's accept key. Reading and writing frames on a
// socket lives in net/; this file only transforms bytes. Pure functions.
#include "proto/ws_frame.hpp"

#include "proto/encoding.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <stdexcept>

namespace hc::proto {
namespace {

error frame_error(std::string rule) {
  return error::bad_request("WebSocket frame: " + std::move(rule) +
                            "; the peer breaks RFC 6455, fix the sender");
}

bool known_opcode(std::uint8_t op) noexcept {
  return op <= 2 || (op >= 8 && op <= 10);
}

// RFC 6455 §7.4.1/§7.4.2 and the IANA registry: which codes may appear in a Close frame.
bool sendable_close_code(std::uint16_t code) noexcept {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;  // 1012-1014 were registered after the RFC
  return code >= 3000 && code <= 4999;            // libraries/frameworks and private use
}

void random_bytes(std::uint8_t* out, std::size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed: OpenSSL's random generator is not seeded");
}

}  // namespace

result<std::optional<decoded_header>> decode_frame_header(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 2) return std::optional<decoded_header>{};
  const std::uint8_t b0 = bytes[0];
  const std::uint8_t b1 = bytes[1];
  if ((b0 & 0x70) != 0) return frame_error("RSV bits set but no extension was negotiated");
  const std::uint8_t op = b0 & 0x0F;
  if (!known_opcode(op)) return frame_error("reserved opcode " + std::to_string(op));

  decoded_header d;
  d.header.fin = (b0 & 0x80) != 0;
  d.header.op = static_cast<opcode>(op);
  d.header.masked = (b1 & 0x80) != 0;
  const std::uint8_t len7 = b1 & 0x7F;
  std::size_t pos = 2;
  if (len7 == 126) {
    if (bytes.size() < pos + 2) return std::optional<decoded_header>{};
    d.header.payload_length = (std::uint64_t(bytes[2]) << 8) | bytes[3];
    pos += 2;
  } else if (len7 == 127) {
    if (bytes.size() < pos + 8) return std::optional<decoded_header>{};
    std::uint64_t len = 0;
    for (std::size_t i = 0; i < 8; ++i) len = (len << 8) | bytes[2 + i];
    if ((len >> 63) != 0) return frame_error("64-bit payload length has its top bit set");
    d.header.payload_length = len;
    pos += 8;
  } else {
    d.header.payload_length = len7;
  }
  // Non-minimal length encodings are accepted: senders differ and nothing is ambiguous.
  if (is_control(d.header.op)) {
    if (!d.header.fin) return frame_error("control frame (opcode " + std::to_string(op) + ") is fragmented");
    if (d.header.payload_length > max_control_payload_bytes)
      return frame_error("control frame payload of " + std::to_string(d.header.payload_length) +
                         " bytes, the limit is 125");
  }
  if (d.header.masked) {
    if (bytes.size() < pos + 4) return std::optional<decoded_header>{};
    std::memcpy(d.header.mask.data(), bytes.data() + pos, 4);
    pos += 4;
  }
  d.header_bytes = pos;
  return std::optional<decoded_header>{d};
}

std::size_t encode_frame_header(const frame_header& h, std::span<std::uint8_t, max_frame_header_bytes> out) {
  out[0] = static_cast<std::uint8_t>((h.fin ? 0x80 : 0x00) | (static_cast<std::uint8_t>(h.op) & 0x0F));
  const std::uint8_t mask_bit = h.masked ? 0x80 : 0x00;
  std::size_t pos = 2;
  if (h.payload_length < 126) {
    out[1] = static_cast<std::uint8_t>(mask_bit | h.payload_length);
  } else if (h.payload_length <= 0xFFFF) {
    out[1] = mask_bit | 126;
    out[2] = static_cast<std::uint8_t>(h.payload_length >> 8);
    out[3] = static_cast<std::uint8_t>(h.payload_length);
    pos = 4;
  } else {
    out[1] = mask_bit | 127;
    for (std::size_t i = 0; i < 8; ++i)
      out[2 + i] = static_cast<std::uint8_t>(h.payload_length >> (56 - 8 * i));
    pos = 10;
  }
  if (h.masked) {
    std::memcpy(out.data() + pos, h.mask.data(), 4);
    pos += 4;
  }
  return pos;
}

void apply_mask(std::span<std::uint8_t> data, const mask_key& key, std::uint64_t offset) noexcept {
  // The key rotated so that byte 0 of `data` lines up with key[offset % 4], then doubled to 8 bytes.
  std::uint8_t rotated[8];
  for (std::size_t i = 0; i < 8; ++i) rotated[i] = key[(offset + i) & 3];
  std::uint64_t word;
  std::memcpy(&word, rotated, 8);

  std::uint8_t* p = data.data();
  std::size_t n = data.size();
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t chunk;
    std::memcpy(&chunk, p, 8);
    chunk ^= word;
    std::memcpy(p, &chunk, 8);
  }
  for (std::size_t i = 0; i < n; ++i) p[i] ^= rotated[i];
}

result<close_info> parse_close_payload(std::span<const std::uint8_t> payload) {
  if (payload.empty()) return close_info{};
  if (payload.size() == 1) return frame_error("close payload of 1 byte; a close code takes 2");
  if (payload.size() > max_control_payload_bytes)
    return frame_error("close payload of " + std::to_string(payload.size()) + " bytes, the limit is 125");
  const auto code = static_cast<std::uint16_t>((payload[0] << 8) | payload[1]);
  if (!sendable_close_code(code))
    return frame_error("close code " + std::to_string(code) +
                       " may not be sent (allowed: 1000-1003, 1007-1014, 3000-4999)");
  const auto reason = payload.subspan(2);
  if (!is_utf8({reinterpret_cast<const char*>(reason.data()), reason.size()}))
    return frame_error("close reason is not valid UTF-8");
  return close_info{code, std::string(reinterpret_cast<const char*>(reason.data()), reason.size())};
}

std::string build_close_payload(std::uint16_t code, std::string_view reason) {
  std::string out;
  out += static_cast<char>(code >> 8);
  out += static_cast<char>(code & 0xFF);
  out += close_reason(reason);
  return out;
}

std::string websocket_accept_key(std::string_view client_key) {
  const std::string input = std::string(client_key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr) != 1)
    throw std::runtime_error("SHA-1 failed inside OpenSSL");
  return base64_encode(std::span<const std::uint8_t>(digest, digest_len));
}

std::string new_websocket_key() {
  std::uint8_t bytes[16];
  random_bytes(bytes, sizeof bytes);
  return base64_encode(std::span<const std::uint8_t>(bytes, sizeof bytes));
}

mask_key new_mask_key() {
  // Drawn from the CSPRNG in batches: one call per 64 frames rather than one per frame (the call
  // and its fork check cost more than masking a small frame).
  thread_local std::array<std::uint8_t, 64 * sizeof(mask_key)> batch;
  thread_local std::size_t used = batch.size();
  if (used == batch.size()) {
    random_bytes(batch.data(), batch.size());
    used = 0;
  }
  mask_key key;
  std::memcpy(key.data(), batch.data() + used, key.size());
  used += key.size();
  return key;
}

}  // namespace hc::proto
