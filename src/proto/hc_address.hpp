// proto/hc_address: request targets of hybrid-connection gestures (protocol doc §1, §5) and the
// rendezvous addresses the relay hands to listeners. Splits the sb-hc-* parameters (the relay's)
// from the application's own query, which is kept raw and in order.
// Pure functions.
#pragma once
#include "proto/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hc::proto {

enum class hc_action { connect, listen, accept, request };
std::string_view to_string(hc_action a);

struct hc_target {
  bool websocket_path = false;            // the path began with /$hc/
  std::string path;                       // percent-decoded path after "/$hc/" (or after "/"): "name/suffix"
  std::string raw_path;                   // the same, exactly as sent (still encoded), for forwarding
  hc_action action = hc_action::connect;  // sb-hc-action; connect when absent
  std::string id;                         // sb-hc-id, decoded; empty when absent
  std::string token;                      // sb-hc-token, decoded; empty when absent
  std::string rendezvous;                 // sb-hc-rendezvous (the relay's own one-shot key)
  // Reject of an accept: sb-hc-statusCode / sb-hc-statusDescription, or the unprefixed
  // statusCode / statusDescription that Node clients send (sb-hc-* wins when both appear).
  int reject_status = 0;  // 0 = not a reject
  std::string reject_description;
  std::string app_query;  // every non-sb-hc-* parameter, raw, '&'-joined, no leading '?'
};

// sb-hc-id (a tracking or listener id) is at most this many bytes of printable ASCII: it is copied
// into accept messages, logs and status lines (a GUID with a suffix takes about 40).
inline constexpr std::size_t max_hc_id_bytes = 128;

// The relay's own pages (management API, portal, healthz, metrics) live under this prefix of
// every host, which no hybrid connection's path can take (names cannot hold '$').
inline constexpr std::string_view admin_path_prefix = "/$admin";

// Parses "/$hc/{path}[?query]" or "/{path}[?query]". 400 on an empty path, a bad escape, a
// '..' segment, a control character in the decoded path, an unknown sb-hc-action, or a
// non-numeric/out-of-range status code (the reject status must be 100..599), an sb-hc-id over
// max_hc_id_bytes or with a byte outside printable ASCII. The unprefixed
// statusCode/statusDescription count only when the action is accept (elsewhere they are app
// data and stay in app_query). A repeated sb-hc-* parameter: the last one wins; unknown
// sb-hc-* parameters are dropped. sb-hc-* values are decoded with '+' as space.
result<hc_target> parse_hc_target(std::string_view request_target);

// True when `prefix` equals `path` or is followed in `path` by '/' (case-insensitive).
bool is_segment_prefix(std::string_view prefix, std::string_view path) noexcept;

// wss://{host}:{port}/$hc/{raw_path}?{app_query&}sb-hc-action={accept|request}&sb-hc-id={id}&sb-hc-rendezvous={key}
std::string build_rendezvous_address(std::string_view host, std::uint16_t port, std::string_view raw_path,
                                     std::string_view app_query, hc_action action, std::string_view id,
                                     std::string_view rendezvous_key);

// The listen / connect URLs clients dial: wss://{host}[:port]/$hc/{path}?sb-hc-action=..[&sb-hc-id=..]
// (port omitted when 443; path percent-encoded per segment, '/' kept).
std::string build_listen_url(std::string_view host, std::uint16_t port, std::string_view path,
                             std::string_view id = {});
std::string build_connect_url(std::string_view host, std::uint16_t port, std::string_view path,
                              std::string_view id = {});
// address + "&sb-hc-statusCode={status}&sb-hc-statusDescription={urlencoded}"
std::string build_reject_url(std::string_view accept_address, int status, std::string_view description);

// A parsed wss:// or ws:// URL, for dialing.
struct ws_url {
  bool tls = true;
  std::string host;
  std::uint16_t port = 443;
  std::string target;  // path + query, starting with '/'
};
result<ws_url> parse_ws_url(std::string_view url);

}  // namespace hc::proto
