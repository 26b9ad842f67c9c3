// util/log: logging setup shared by every program: one line per event, text or JSON
// (--log-format json), to stderr. Secrets are never passed to the logger (callers' rule).
#pragma once
#include <spdlog/spdlog.h>

#include <exception>
#include <functional>
#include <string>

namespace hc::util {

// format: "text" or "json"; level: "debug", "info", "warn", "error". Throws
// std::invalid_argument with the accepted values on anything else.
void init_logging(const std::string& format, const std::string& level);

// True when systemd connected stderr to the journal (JOURNAL_STREAM names stderr's device and
// inode): a service then logs there only, not to a second copy in a file of its own.
bool stderr_is_journal();

// Raises the soft limit on open files to the hard limit: every tunnel holds two sockets.
void raise_file_limit();

}  // namespace hc::util
