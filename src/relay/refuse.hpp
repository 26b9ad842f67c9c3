// relay/refuse: the one way the relay answers a request it will not serve: an HTTP status with
// the Azure-style tracking description as reason phrase and body, then the connection closed.
// Used by connection.cpp and every gesture; stateless.
#pragma once
#include "net/byte_stream.hpp"
#include "net/types.hpp"
#include "proto/error.hpp"

#include <string>
#include <string_view>

namespace hc::relay {

// "HTTP/1.1 {status} {description}" with the Azure-style tracking description as the reason
// phrase and the body, and Connection: close.
std::string error_response(const proto::error& e, std::string_view ns_host, std::string_view path,
                           std::string_view tracking_id);
// Writes error_response and closes the stream.
net::task<> refuse(net::byte_stream& stream, const proto::error& e, std::string_view ns_host,
                   std::string_view path, std::string_view tracking_id);

// A reason phrase safe for a status line: one line of printable ASCII, at most 512 bytes.
std::string status_line_text(std::string_view text);

}  // namespace hc::relay
