// net/log: logging setup shared by every program: one line per event, text or JSON
// (--log-format json), to stderr. Secrets are never passed to the logger (callers' rule).
#pragma once
#include <spdlog/spdlog.h>

#include <string>

namespace hc::net {

// format: "text" or "json"; level: "debug", "info", "warn", "error". Throws
// std::invalid_argument with the accepted values on anything else.
void init_logging(const std::string& format, const std::string& level);

}  // namespace hc::net
