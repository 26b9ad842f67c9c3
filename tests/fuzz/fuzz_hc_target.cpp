// tests/fuzz/fuzz_hc_target: request targets and ws:// URLs on any bytes, plus the accept address
// built from a parsed target (which must parse again).
#include "proto/hc_address.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto t = hc::proto::parse_hc_target(text)) {
    auto address = hc::proto::build_rendezvous_address("relay.local", 443, t->raw_path, t->app_query,
                                                       hc::proto::hc_action::accept, t->id, "00ff");
    if (!hc::proto::parse_ws_url(address)) std::abort();  // what we build, we must read
  }
  (void)hc::proto::parse_ws_url(text);
  (void)hc::proto::is_segment_prefix(text.substr(0, size / 2), text.substr(size / 2));
  return 0;
}
