// net/http: reads HTTP heads and bodies with Beast's buffer-oriented parser (no Beast stream
// types, so this file compiles quickly) and formats messages as text (see http.hpp).
#include "net/http.hpp"

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
    return proto::error{431, proto::errc::too_large, "the request head is larger than the relay's 32 KB limit"};
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

task<read_outcome> read_request(byte_stream& stream, std::string& leftover, http_request& out, std::size_t max_body) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(32 * 1024);
  parser.body_limit(max_body);
  parser.eager(false);
  auto head_done = [](auto& p) { return p.is_header_done(); };
  auto outcome = co_await drive(stream, leftover, parser, head_done);
  if (!outcome) co_return outcome;
  const auto& head = parser.get();
  out.method = std::string(head.method_string());
  out.target = std::string(head.target());
  out.version = head.version();
  out.headers = copy_headers(head);
  out.keep_alive = head.keep_alive();
  if (out.is_websocket_upgrade() || parser.is_done()) co_return outcome;
  parser.eager(true);
  outcome = co_await drive(stream, leftover, parser, [](auto& p) { return p.is_done(); });
  if (outcome) out.body = parser.get().body();
  co_return outcome;
}

task<read_outcome> read_response(byte_stream& stream, std::string& leftover, http_response& out, std::size_t max_body,
                                 bool head_only) {
  http::response_parser<http::string_body> parser;
  parser.header_limit(32 * 1024);
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

std::string format_response(int status, std::string_view reason, const header_list& headers, std::string_view body) {
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
