// net/http: HTTP/1.1 messages on a byte_stream: reading a request or response (Beast's parser,
// compiled only in http.cpp) and writing them as text. Bytes read past a head stay in the
// caller's `leftover` (for an upgrade they are the first WebSocket frames and must be kept).
#pragma once
#include "net/byte_stream.hpp"
#include "proto/control_messages.hpp"
#include "proto/error.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace hc::net {

using proto::header_list;

// Case-insensitive lookup of the first header called `name`; empty when absent.
std::string_view find_header(const header_list& headers, std::string_view name);
bool has_header(const header_list& headers, std::string_view name);

struct http_request {
  std::string method;
  std::string target;
  unsigned version = 11;
  header_list headers;
  std::string body;
  bool keep_alive = true;

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
  bool is_websocket_upgrade() const;
};

struct http_response {
  int status = 0;
  std::string reason;
  header_list headers;
  std::string body;

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

// An I/O failure (ec) or a malformed message (bad, with the status to answer: 400, 413, 431).
struct read_outcome {
  error_code ec;
  std::optional<proto::error> bad;
  explicit operator bool() const { return !ec && !bad; }
};

// Reads one request in two steps, so that a server reads a body only once it knows the route,
// the caller's right to it and the route's size limit. One reader per request.
class request_reader {
 public:
  request_reader();
  ~request_reader();
  request_reader(const request_reader&) = delete;
  request_reader& operator=(const request_reader&) = delete;
  // The request line and headers (at most limits::max_request_head_bytes: 431 beyond).
  task<read_outcome> read_head(byte_stream& stream, std::string& leftover, http_request& out);
  // After read_head: the body into out.body, at most `max_body` bytes (413 beyond). Nothing to
  // do when the request has none.
  task<read_outcome> read_body(byte_stream& stream, std::string& leftover, http_request& out,
                               std::size_t max_body);
  // After read_head, for a body passed on as it arrives: the next bytes of it into `piece`
  // (replacing what was there), at most `max_body` bytes in all (413 beyond); `piece` stays empty
  // once the body is complete (body_pending() is then false).
  task<read_outcome> read_body_piece(byte_stream& stream, std::string& leftover, std::string& piece,
                                     std::size_t max_body);
  // Whether the head announced a chunked body (its length is unknown until it ends) and the length
  // a Content-Length gave.
  bool chunked() const;
  std::optional<std::uint64_t> content_length() const;
  // The head announced a body (Content-Length > 0 or chunked) that has not been read yet.
  bool body_pending() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Head and body in one step (upgrades have no body).
task<read_outcome> read_request(byte_stream& stream, std::string& leftover, http_request& out,
                                std::size_t max_body);
// Reads one response; a 101 or with head_only stops after the head.
task<read_outcome> read_response(byte_stream& stream, std::string& leftover, http_response& out,
                                 std::size_t max_body, bool head_only = false);

// "HTTP/1.1 {status} {reason}\r\n" + headers + Content-Length (unless a 101 or 204) + body.
std::string format_response(int status, std::string_view reason, const header_list& headers,
                            std::string_view body = {});
std::string format_request(std::string_view method, std::string_view target, const header_list& headers,
                           std::string_view body = {});
// The response with "Connection: close" among its headers (added when missing).
std::string with_connection_close(std::string response);
// The standard reason phrase for a status ("Not Found"), "Unknown" when there is none.
std::string_view reason_phrase(int status);

}  // namespace hc::net
