// util/log: spdlog configuration; every message is made printable (and JSON-escaped for the JSON
// format) by a custom flag.
#include "util/log.hpp"

#include "proto/utf8.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <sys/resource.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace hc::util {
namespace {

// Every message passes through proto::printable: text from outside (ids, header values, reasons)
// can never put a control character, a terminal escape or a byte that is not UTF-8 into a log.
class printable_message_flag : public spdlog::custom_flag_formatter {
 public:
  explicit printable_message_flag(bool json) : json_(json) {}
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    auto safe = proto::printable(std::string_view(msg.payload.data(), msg.payload.size()));
    if (!json_) {
      dest.append(std::string_view(safe));
      return;
    }
    for (char c : safe) {  // printable() left no control character: only these need JSON escapes
      if (c == '"' || c == '\\') dest.push_back('\\');
      dest.push_back(c);
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<printable_message_flag>(json_);
  }

 private:
  bool json_;
};

// JSON only: ,"tracking_id":"…","namespace":"…",… for the fields log_event attached (printable
// and escaped like the message).
class log_fields_flag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    const auto* f = detail::current_log_fields;
    if (!f) return;
    field(dest, "tracking_id", f->tracking_id);
    field(dest, "namespace", f->ns);
    field(dest, "hybrid_connection", f->hybrid_connection);
    field(dest, "listener_id", f->listener_id);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<log_fields_flag>();
  }

 private:
  static void field(spdlog::memory_buf_t& dest, std::string_view name, std::string_view value) {
    if (value.empty()) return;
    dest.append(std::string_view(",\""));
    dest.append(name);
    dest.append(std::string_view("\":\""));
    for (char c : proto::printable(value)) {
      if (c == '"' || c == '\\') dest.push_back('\\');
      dest.push_back(c);
    }
    dest.push_back('"');
  }
};

}  // namespace

void init_logging(const std::string& format, const std::string& level) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "json") {
    formatter->add_flag<printable_message_flag>('*', true);
    formatter->add_flag<log_fields_flag>('F').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%*"%F})");
  } else if (format == "text") {
    formatter->add_flag<printable_message_flag>('*', false).set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %*");
  } else {
    throw std::invalid_argument("--log-format must be 'text' or 'json', not '" + format + "'");
  }
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    throw std::invalid_argument("--log-level must be debug, info, warn or error, not '" + level + "'");
  auto logger = std::make_shared<spdlog::logger>("hc", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(std::move(formatter));
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void raise_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
    spdlog::warn("cannot raise the open-file limit to {}", limit.rlim_max);
}

bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  unsigned long long device = 0, inode = 0;
  if (!stream || std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
  struct stat st {};
  return ::fstat(2, &st) == 0 && st.st_dev == device && st.st_ino == inode;
}

}  // namespace hc::util
