// tests/fuzz/fuzz_control_messages: listener and relay control messages (JSON) on any bytes;
// an accept message that parses must survive serialise -> parse.
#include "proto/control_messages.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)hc::proto::parse_listener_command(text);
  if (auto command = hc::proto::parse_relay_command(text)) {
    if (auto* accept = std::get_if<hc::proto::accept_message>(&*command)) {
      if (!hc::proto::parse_relay_command(hc::proto::serialize(*accept))) std::abort();
    }
  }
  return 0;
}
