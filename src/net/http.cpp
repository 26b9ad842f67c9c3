// net/http: reads HTTP heads and bodies with Beast's buffer-oriented parser (no Beast stream
// types, so this file compiles quickly) and formats messages as text (see http.hpp).
#include "net/http.hpp"

#include "net/limits.hpp"
#include "proto/encoding.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

namespace hc::net {
namespace http = boost::beast::http;

std::string_view find_header(const header_list& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (proto::iequals(k, name)) return v;
  return {};
}

bool has_header(const header_list& headers, std::string_view name) {
  for (const auto& h : headers)
    if (proto::iequals(h.first, name)) return true;
  return false;
}

bool http_request::is_websocket_upgrade() const {
  auto upgrade = header("Upgrade");
  return proto::iequals(upgrade, "websocket");
}

namespace {

template <class Fields>
header_list copy_headers(const Fields& fields) {
  header_list out;
  for (const auto& f : fields) out.emplace_back(std::string(f.name_string()), std::string(f.value()));
  return out;
}

std::optional<proto::error> classify(const error_code& ec) {
  if (ec == http::error::header_limit)
    return proto::error{431, proto::errc::too_large,
                        "the request head is larger than the relay's 32 KB limit"};
  if (ec == http::error::body_limit)
    return proto::error{413, proto::errc::too_large, "the message body is larger than this endpoint accepts"};
  return proto::error::bad_request("malformed HTTP message: " + ec.message());
}

// Feeds `leftover` (then fresh reads) into the parser until `done(parser)`.
template <class Parser, class Done>
task<read_outcome> drive(byte_stream& stream, std::string& leftover, Parser& parser, Done done) {
  for (;;) {
    if (!leftover.empty()) {
      error_code ec;
      std::size_t used = parser.put(asio::buffer(leftover), ec);
      leftover.erase(0, used);
      if (ec && ec != http::error::need_more) co_return read_outcome{{}, classify(ec)};
      if (done(parser)) co_return read_outcome{};
      if (!ec && used > 0) continue;  // parser consumed a piece; offer the rest
    }
    char chunk[8192];
    auto [ec, n] = co_await stream.read_some(asio::buffer(chunk));
    if (ec == asio::error::eof && parser.got_some()) {
      error_code eof_ec;
      parser.put_eof(eof_ec);
      if (!eof_ec && done(parser)) co_return read_outcome{};
      co_return read_outcome{ec, {}};
    }
    if (ec) co_return read_outcome{ec, {}};
    leftover.append(chunk, n);
  }
}

}  // namespace

struct request_reader::impl {
  http::request_parser<http::string_body> parser;
  bool streaming = false;  // read_body_piece has set the body limit (Beast counts it down)
};

request_reader::request_reader() : impl_(std::make_unique<impl>()) {
  impl_->parser.header_limit(std::uint32_t(limits::max_request_head_bytes));
  // No limit with the head: each route sets its own when it reads the body (read_body,
  // read_body_piece), and a relayed request may be far larger than any the relay reads itself.
  impl_->parser.body_limit(boost::none);
  impl_->parser.eager(false);
}
request_reader::~request_reader() = default;

task<read_outcome> request_reader::read_head(byte_stream& stream, std::string& leftover, http_request& out) {
  auto& parser = impl_->parser;
  auto outcome = co_await drive(stream, leftover, parser, [](auto& p) { return p.is_header_done(); });
  if (!outcome) co_return outcome;
  const auto& head = parser.get();
  out.method = std::string(head.method_string());
  out.target = std::string(head.target());
  out.version = head.version();
  out.headers = copy_headers(head);
  out.keep_alive = head.keep_alive();
  // RFC 9112 §6.3: a Transfer-Encoding whose last coding is not chunked (Beast would read no body
  // and take the body for the next request), or any on HTTP/1.0, leaves the length unknown.
  if (has_header(out.headers, "Transfer-Encoding") && (!parser.chunked() || out.version < 11))
    co_return read_outcome{
        {},
        proto::error::bad_request("the request's Transfer-Encoding does not end in chunked (or "
                                  "comes with HTTP/1.0): its length cannot be known")};
  co_return outcome;
}

bool request_reader::body_pending() const {
  return impl_->parser.is_header_done() && !impl_->parser.is_done();
}

task<read_outcome> request_reader::read_body(byte_stream& stream, std::string& leftover, http_request& out,
                                             std::size_t max_body) {
  auto& parser = impl_->parser;
  if (!body_pending()) co_return read_outcome{};
  // Beast checks a Content-Length against the limit only with the head: check it here too.
  if (auto length = parser.content_length(); length && *length > max_body)
    co_return read_outcome{{}, classify(http::error::body_limit)};
  parser.body_limit(max_body);
  parser.eager(true);
  auto outcome = co_await drive(stream, leftover, parser, [](auto& p) { return p.is_done(); });
  if (outcome) out.body = parser.get().body();
  co_return outcome;
}

task<read_outcome> request_reader::read_body_piece(byte_stream& stream, std::string& leftover,
                                                   std::string& piece, std::size_t max_body) {
  auto& parser = impl_->parser;
  piece.clear();
  if (!body_pending()) co_return read_outcome{};
  if (auto length = parser.content_length(); length && *length > max_body)
    co_return read_outcome{{}, classify(http::error::body_limit)};
  if (!impl_->streaming) parser.body_limit(max_body);
  impl_->streaming = true;
  parser.eager(true);
  auto& body = parser.get().body();
  body.clear();
  auto outcome = co_await drive(stream, leftover, parser,
                                [](auto& p) { return p.is_done() || !p.get().body().empty(); });
  if (outcome) piece = std::move(body);
  body.clear();
  co_return outcome;
}

bool request_reader::chunked() const {
  return impl_->parser.chunked();
}

std::optional<std::uint64_t> request_reader::content_length() const {
  auto length = impl_->parser.content_length();
  return length ? std::optional<std::uint64_t>(*length) : std::nullopt;
}

task<read_outcome> read_request(byte_stream& stream, std::string& leftover, http_request& out,
                                std::size_t max_body) {
  request_reader reader;
  auto outcome = co_await reader.read_head(stream, leftover, out);
  if (!outcome || out.is_websocket_upgrade()) co_return outcome;
  co_return co_await reader.read_body(stream, leftover, out, max_body);
}

task<read_outcome> read_response(byte_stream& stream, std::string& leftover, http_response& out,
                                 std::size_t max_body, bool head_only) {
  http::response_parser<http::string_body> parser;
  parser.header_limit(std::uint32_t(limits::max_request_head_bytes));
  parser.body_limit(max_body);
  parser.eager(false);
  auto outcome = co_await drive(stream, leftover, parser, [](auto& p) { return p.is_header_done(); });
  if (!outcome) co_return outcome;
  const auto& head = parser.get();
  out.status = int(head.result_int());
  out.reason = std::string(head.reason());
  out.headers = copy_headers(head);
  if (head_only || out.status == 101 || parser.is_done()) co_return outcome;
  parser.eager(true);
  outcome = co_await drive(stream, leftover, parser, [](auto& p) { return p.is_done(); });
  if (outcome) out.body = parser.get().body();
  co_return outcome;
}

std::string format_response(int status, std::string_view reason, const header_list& headers,
                            std::string_view body) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out.append(reason.empty() ? reason_phrase(status) : reason);
  out += "\r\n";
  for (const auto& [k, v] : headers) out.append(k).append(": ").append(v).append("\r\n");
  if (status != 101 && status != 204 && status != 304 && !has_header(headers, "Content-Length"))
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out.append(body);
  return out;
}

std::string with_connection_close(std::string response) {
  auto line_end = response.find("\r\n");
  if (line_end == std::string::npos) return response;
  auto head = proto::to_lower(std::string_view(response).substr(0, response.find("\r\n\r\n") + 2));
  if (head.find("\r\nconnection: close\r\n") != std::string::npos) return response;
  response.insert(line_end + 2, "Connection: close\r\n");
  return response;
}

std::string format_request(std::string_view method, std::string_view target, const header_list& headers,
                           std::string_view body) {
  std::string out;
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  for (const auto& [k, v] : headers) out.append(k).append(": ").append(v).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out.append(body);
  return out;
}

std::string_view reason_phrase(int status) {
  auto text = http::obsolete_reason(http::int_to_status(unsigned(status)));
  return text.empty() ? std::string_view("Unknown") : std::string_view(text.data(), text.size());
}

}  // namespace hc::net
