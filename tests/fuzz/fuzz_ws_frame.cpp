// tests/fuzz/fuzz_ws_frame: the frame header decoder, close payloads and the UTF-8 validator on
// any bytes. A decoded header encodes to a header that decodes to the same fields in exactly the
// bytes it took; when the input's length field was minimal (the decoder also takes longer ones),
// the encoding is byte for byte the input's header.
#include "proto/ws_frame.hpp"

#include <algorithm>
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
    const auto& in = (*decoded)->header;
    auto n = hc::proto::encode_frame_header(in, out);
    if (n == 0 || n > (*decoded)->header_bytes) std::abort();
    auto again = hc::proto::decode_frame_header(std::span<const std::uint8_t>(out.data(), n));
    if (!again || !again->has_value() || (*again)->header_bytes != n) std::abort();
    const auto& back = (*again)->header;
    if (back.fin != in.fin || back.op != in.op || back.masked != in.masked || back.mask != in.mask ||
        back.payload_length != in.payload_length)
      std::abort();
    auto len7 = bytes[1] & 0x7f;
    bool minimal = len7 < 126 || (len7 == 126 && in.payload_length >= 126) ||
                   (len7 == 127 && in.payload_length > 0xffff);
    if (minimal &&
        (n != (*decoded)->header_bytes || !std::equal(out.begin(), out.begin() + n, bytes.begin())))
      std::abort();
    std::vector<std::uint8_t> payload(bytes.begin() + std::ptrdiff_t((*decoded)->header_bytes), bytes.end());
    hc::proto::apply_mask(payload, (*decoded)->header.mask, size % 7);
  }
  (void)hc::proto::parse_close_payload(bytes.subspan(0, std::min<std::size_t>(size, 125)));
  hc::proto::utf8_validator v;
  (void)v.feed(bytes.subspan(0, size / 2));
  (void)v.feed(bytes.subspan(size / 2));
  return 0;
}
