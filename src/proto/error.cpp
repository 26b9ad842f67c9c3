// proto/error: the error category for proto::errc, the throw hook boost::system::result uses,
// and the Azure-style error texts (tracking description, tracking ids, close reasons).
// Does not decide which status an error gets; each parser picks that where it fails.
// Pure functions; the category is a function-local static, safe to use from any thread.
#include "proto/error.hpp"

#include "proto/encoding.hpp"

#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace hc::proto {
namespace {

class proto_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hc.proto"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::bad_request:
        return "bad request";
      case errc::unauthorized:
        return "unauthorized";
      case errc::forbidden:
        return "forbidden";
      case errc::not_found:
        return "not found";
      case errc::gone:
        return "gone";
      case errc::conflict:
        return "conflict";
      case errc::too_large:
        return "too large";
      case errc::internal:
        return "internal error";
      case errc::bad_gateway:
        return "bad gateway";
      case errc::timeout:
        return "timeout";
      case errc::unavailable:
        return "unavailable";
    }
    return "unknown hc.proto error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& proto_category() noexcept {
  static const proto_category_impl category;
  return category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), proto_category()};
}

void throw_exception_from_error(const error& e, const boost::source_location& loc) {
  // what() is "{message}: {category text}"; the code keeps the machine-readable kind.
  throw std::system_error(make_error_code(e.code), e.message);
}

std::string tracking_description(std::string_view message, std::string_view tracking_id,
                                 std::string_view ns_host, std::string_view path,
                                 std::chrono::system_clock::time_point now) {
  std::string out(message);
  if (out.empty() || out.back() != '.') out += '.';
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);

  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&t, &utc);
  const int hour12 = utc.tm_hour % 12 == 0 ? 12 : utc.tm_hour % 12;
  char stamp[48];
  std::snprintf(stamp, sizeof stamp, "%d/%d/%d %d:%02d:%02d %s", utc.tm_mon + 1, utc.tm_mday,
                utc.tm_year + 1900, hour12, utc.tm_min, utc.tm_sec, utc.tm_hour < 12 ? "AM" : "PM");

  out += " TrackingId:";
  out += tracking_id;
  out += ", SystemTracker:sb://";
  out += ns_host;
  out += '/';
  out += path;
  out += ", Timestamp:";
  out += stamp;
  return out;
}

std::string new_tracking_id() {
  // A version-4 GUID in the 8-4-4-4-12 form, then Azure's gateway suffix.
  std::string hex = random_hex(16);
  hex[12] = '4';
  static constexpr char variant[] = "89ab";
  hex[16] = variant[std::stoi(hex.substr(16, 1), nullptr, 16) & 3];
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' + hex.substr(16, 4) + '-' +
         hex.substr(20, 12) + "_G0";
}

std::string close_reason(std::string_view text) {
  constexpr std::size_t max_reason = 123;  // RFC 6455: 125-byte control payload minus the code
  if (text.size() <= max_reason) return std::string(text);
  std::size_t n = max_reason;
  // text[n] is the first byte cut off; if it continues a code point, cut before that code point.
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return std::string(text.substr(0, n));
}

}  // namespace hc::proto
