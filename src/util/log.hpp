// util/log: logging setup shared by every program: one line per event, text or JSON
// (--log-format json), to stderr. Secrets are never passed to the logger (callers' rule).
// log_event attaches the ids a line is about (tracking id, namespace, hybrid connection,
// listener id): JSON lines carry them as fields of their own beside "msg", so a log pipeline
// can follow one connection across the relay, hcm and hcconnect without parsing messages.
#pragma once
#include <spdlog/spdlog.h>

#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace hc::util {

// What a log line is about; empty fields are left out.
struct log_fields {
  std::string_view tracking_id;
  std::string_view ns;
  std::string_view hybrid_connection;
  std::string_view listener_id;
};

namespace detail {
// The fields of the line being written on this thread (log_event sets them around one call).
inline thread_local const log_fields* current_log_fields = nullptr;
}  // namespace detail

// spdlog::log(level, ...) with `fields` attached (loggers format on the calling thread; an
// asynchronous sink would format on its own and leave the fields out).
template <class... Args>
void log_event(spdlog::level::level_enum level, const log_fields& fields,
               spdlog::format_string_t<Args...> format, Args&&... args) {
  struct attached {  // cleared on every way out: no later line sees the fields of one gone
    explicit attached(const log_fields& f) { detail::current_log_fields = &f; }
    ~attached() { detail::current_log_fields = nullptr; }
  } fields_of_this_line(fields);
  spdlog::log(level, format, std::forward<Args>(args)...);
}

// format: "text" or "json"; level: "debug", "info", "warn", "error". Throws
// std::invalid_argument with the accepted values on anything else.
void init_logging(const std::string& format, const std::string& level);

// True when systemd connected stderr to the journal (JOURNAL_STREAM names stderr's device and
// inode): a service then logs there only, not to a second copy in a file of its own.
bool stderr_is_journal();

// Raises the soft limit on open files to the hard limit: every tunnel holds two sockets.
void raise_file_limit();

}  // namespace hc::util
