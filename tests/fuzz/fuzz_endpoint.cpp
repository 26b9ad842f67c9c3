// tests/fuzz/fuzz_endpoint: host:port and userMetadata endpoint parsing on any bytes; a parsed
// endpoint survives user_metadata_for -> endpoint_from_user_metadata.
#include "proto/endpoint.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto e = hc::proto::parse_endpoint(text)) {
    auto back = hc::proto::endpoint_from_user_metadata(hc::proto::user_metadata_for(*e));
    if (!back || back->port != e->port) std::abort();
  }
  (void)hc::proto::endpoint_from_user_metadata(text);
  (void)hc::proto::endpoint_host_warning(text);
  return 0;
}
