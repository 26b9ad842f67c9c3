// tests/fuzz/fuzz_sas_token: SAS token parsing, scope extraction and coverage checks on any bytes.
#include "proto/sas.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto token = hc::proto::parse_sas_token(text)) {
    if (auto scope = hc::proto::token_scope(token->resource)) {
      (void)hc::proto::scope_covers(*scope, "contoso.servicebus.windows.net", "hyco/suffix");
    }
    static const hc::proto::sas_key key("SGVsbG9Xb3JsZEhlbGxvV29ybGRIZWxsb1dvcmxkMTI=");
    (void)key.verifies(*token);
  }
  (void)hc::proto::token_scope(text);
  (void)hc::proto::parse_rights(text);
  return 0;
}
