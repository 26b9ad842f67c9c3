// relay/refuse: the one way the relay answers a gesture it will not serve: the status, and the
// Azure-style description ("... TrackingId:..., SystemTracker:sb://ns/path, Timestamp:...") as
// reason phrase and body, then close.
#include "relay/refuse.hpp"

#include "net/http.hpp"
#include "proto/encoding.hpp"

namespace hc::relay {

std::string status_line_text(std::string_view text) {
  std::string out;
  out.reserve(std::min<std::size_t>(text.size(), 512));
  for (char c : text) {
    if (out.size() >= 512) break;
    auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u > 0x7e ? ' ' : c);
  }
  return out;
}

std::string error_response(const proto::error& e, std::string_view ns_host, std::string_view path,
                           std::string_view tracking_id) {
  auto description =
      proto::tracking_description(e.message, tracking_id, ns_host, path, std::chrono::system_clock::now());
  return net::format_response(e.status, status_line_text(description),
                              {{"Content-Type", "text/plain; charset=utf-8"}, {"Connection", "close"}},
                              description + "\n");
}

net::task<> refuse(net::byte_stream& stream, const proto::error& e, std::string_view ns_host,
                   std::string_view path, std::string_view tracking_id) {
  auto text = error_response(e, ns_host, path, tracking_id);
  co_await stream.write(net::asio::buffer(text));
  stream.close();
}

}  // namespace hc::relay
