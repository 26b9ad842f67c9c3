// proto/error: the one error value every parser and check in proto/ returns.
// An error carries the HTTP status the relay answers with, a machine code and a message a
// person can act on (names the field, what was expected, what arrived, what to do).
// Pure values; no I/O. Thread-safe (immutable after construction).
#pragma once
#include <boost/system/result.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <system_error>

namespace hc::proto {

enum class errc {
  bad_request = 1,  // 400: malformed input
  unauthorized,     // 401: token missing, malformed, bad signature, expired
  forbidden,        // 403: valid token without the right, or for another path
  not_found,        // 404: unknown entity, no listener
  gone,             // 410: rendezvous used or expired (reported as 403 on the wire)
  conflict,         // 409: limits and duplicates
  too_large,        // 413/431: message or header too large
  internal,         // 500
  bad_gateway,      // 502
  timeout,          // 504
  unavailable,      // 503: a back end (the catalog store) cannot be reached for now
};

const std::error_category& proto_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

struct error {
  int status = 400;  // HTTP status to answer with
  errc code = errc::bad_request;
  std::string message;  // one line, ASCII, no trailing period needed by callers

  static error bad_request(std::string msg) { return {400, errc::bad_request, std::move(msg)}; }
  static error unauthorized(std::string msg) { return {401, errc::unauthorized, std::move(msg)}; }
  static error forbidden(std::string msg) { return {403, errc::forbidden, std::move(msg)}; }
  static error not_found(std::string msg) { return {404, errc::not_found, std::move(msg)}; }
  static error conflict(std::string msg) { return {409, errc::conflict, std::move(msg)}; }
  static error internal(std::string msg) { return {500, errc::internal, std::move(msg)}; }
  static error unavailable(std::string msg) { return {503, errc::unavailable, std::move(msg)}; }
};

// boost::system::result::value() calls this (found by ADL) when it holds an error.
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, error>;

// Azure's error description format:
// "{message}. TrackingId:{tracking_id}, SystemTracker:sb://{ns_host}/{path}, Timestamp:{M/D/YYYY h:mm:ss AM}"
// A message that already ends in '.' is not given a second one.
std::string tracking_description(std::string_view message, std::string_view tracking_id,
                                 std::string_view ns_host, std::string_view path,
                                 std::chrono::system_clock::time_point now);

// A fresh tracking id: a random GUID followed by the gateway suffix, e.g. "3f2a..-.._G0".
std::string new_tracking_id();

// Keeps a WebSocket close reason within RFC 6455's 123 bytes (cuts on a UTF-8 boundary).
std::string close_reason(std::string_view text);

}  // namespace hc::proto

template <>
struct std::is_error_code_enum<hc::proto::errc> : std::true_type {};
