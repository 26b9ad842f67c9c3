// tests/fuzz/fuzz_connection_string: connection-string parsing and re-serialisation on any bytes.
#include "proto/connection_string.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto cs = hc::proto::parse_connection_string(text)) {
    auto again = hc::proto::parse_connection_string(cs->to_string());
    (void)again;
  }
  return 0;
}
