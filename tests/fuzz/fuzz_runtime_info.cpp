// tests/fuzz/fuzz_runtime_info: the runtime-info XML reader on any bytes; what we build we read.
#include "proto/runtime_info.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)hc::proto::parse_runtime_info_xml(text);
  hc::proto::runtime_info info;
  info.user_metadata = std::string(text);
  auto xml = hc::proto::build_runtime_info_xml(info, "https://relay.local/hc");
  auto back = hc::proto::parse_runtime_info_xml(xml);
  if (!back || back->user_metadata != info.user_metadata) std::abort();
  return 0;
}
