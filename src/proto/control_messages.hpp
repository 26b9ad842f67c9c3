// proto/control_messages: the JSON text messages of the listener control channel (protocol doc
// §3, §5.1, §6): accept and request (relay -> listener), renewToken and response (listener ->
// relay). Parsers are pure and bounded.
#pragma once
#include "proto/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace hc::proto {

// Header list that keeps order and the sender's spelling of each name.
using header_list = std::vector<std::pair<std::string, std::string>>;

struct remote_endpoint {
  std::string address;
  std::uint16_t port = 0;
};

// {"accept":{"address":..,"id":..,"connectHeaders":{..},"remoteEndpoint":{"address":..,"port":..}}}
struct accept_message {
  std::string address;
  std::string id;
  header_list connect_headers;
  std::optional<remote_endpoint> remote;
};

// {"renewToken":{"token":"SharedAccessSignature ..."}}
struct renew_token_message {
  std::string token;
};

// {"request":{"address":..,"id":..,"requestTarget":..,"method":..,"remoteEndpoint":{..},
// "requestHeaders":{..},"body":bool}}: an HTTP-mode request (protocol doc §6.2). With `body` true
// its body follows as one binary message. Without a method it carries only `address` and `id`:
// the listener dials the address and the whole request follows there.
struct request_message {
  std::string id;
  std::string address;  // the request's one-shot rendezvous address
  std::string method;   // empty: address and id only
  std::string target;   // requestTarget: the path and query without sb-hc-* parameters
  std::optional<remote_endpoint> remote;
  header_list headers;
  bool body = false;
};

// {"response":{"requestId":..,"statusCode":..,"statusDescription":..,"responseHeaders":{..},"body":bool}}
// statusCode arrives as a JSON number (the SDKs) or a string of digits (the protocol's sample);
// header values as strings, or numbers and booleans (Node keeps setHeader's type).
struct response_message {
  std::string request_id;
  int status = 200;  // 100..999
  std::string description;
  header_list headers;
  bool body = false;
};

// A listener command this relay does not know (ignored, as .NET does); keeps the command name.
struct unknown_command {
  std::string name;
};

using listener_command = std::variant<renew_token_message, response_message, unknown_command>;
using relay_command = std::variant<accept_message, request_message, unknown_command>;

// Header names and values that are not UTF-8 are written as their ISO-8859-1 characters, so the
// message is always valid UTF-8 (a listener's text frame must be).
std::string serialize(const accept_message& m);
std::string serialize(const renew_token_message& m);
std::string serialize(const response_message& m);
std::string serialize(const request_message& m);

// Parses what a listener sends. 400 with a clear message for non-JSON, a non-object, a known
// command with missing or mistyped fields. Input over max_control_message_bytes is 413.
result<listener_command> parse_listener_command(std::string_view json);
// Parses what the relay sends a listener (used by hcm and test peers).
result<relay_command> parse_relay_command(std::string_view json);

// Control messages are kept well under .NET's 64 KiB receive buffer.
inline constexpr std::size_t max_control_message_bytes = 64 * 1024;

}  // namespace hc::proto
