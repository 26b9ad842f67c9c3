// net/pump: the data path. relay_tunnel joins two WebSocket legs in the relay (frames pass
// untouched: opcode, FIN, payload); splice joins a WebSocket leg to a TCP connection in hcm and
// hcconnect (TCP bytes <-> binary frames). Both run two one-way pumps that must BOTH finish:
// a Close (or FIN) from one side is forwarded and the other direction keeps flowing until its
// own end (half-close). A leg lost without a Close ends the other with an error (1001/1011, or
// a TCP RST), never with a clean close. Memory is bounded: each write finishes before the next
// read, and buffers are held only while bytes flow.
#pragma once
#include "net/limits.hpp"
#include "net/tunnel_counters.hpp"
#include "net/websocket.hpp"

#include <atomic>
#include <cstdint>
#include <string>

namespace hc::net {

// How one direction ended.
enum class pump_end {
  closed,        // the source ended cleanly (Close frame or TCP FIN) and that was forwarded
  closed_error,  // the source sent a Close with an error code (forwarded; TCP destinations get RST)
  source_lost,   // reading the source failed (reset, timeout, protocol error)
  dest_lost,     // writing to the destination failed
};
std::string_view to_string(pump_end e);

struct tunnel_result {
  pump_end app_to_agent = pump_end::closed;  // how the app -> agent direction ended
  pump_end agent_to_app = pump_end::closed;
  error_code error;  // first error seen, if any (see first_cause)
  bool clean() const { return app_to_agent == pump_end::closed && agent_to_app == pump_end::closed; }
};

// The error a tunnel reports from its two directions' errors: an operation_aborted is what one
// direction's close or reset did to the other, so the other's error, when it has one, is the cause.
inline error_code first_cause(error_code a, error_code b) {
  if (!a || (a == asio::error::operation_aborted && b)) return b;
  return a;
}

// In the relay: both legs are server-role connections that have completed their upgrades.
// Returns when both directions have ended; the caller then closes both streams.
task<tunnel_result> relay_tunnel(ws_connection& app_side, ws_connection& agent_side,
                                 tunnel_counters& counters);

// In hcm / hcconnect: `ws` is a client-role leg, `tcp` the local TCP connection. `tcp` is armed
// with byte_stream::reset_on_abandon: if the process dies mid-stream its peer sees RST; the
// caller ends with tcp.close() (orderly) once splice returned.
// `tcp_side` says which side of the tunnel the TCP connection is, so which counter each
// direction feeds: the app (hcconnect) or the agent's endpoint (hcm). The leg is pinged every
// `keepalive`; when nothing (not even the Pong) came back by the next one the leg is lost: the
// TCP side is reset and the tunnel ends with timed_out.
enum class tunnel_side { app_side, agent_side };
task<tunnel_result> splice(ws_connection& ws, byte_stream& tcp, tunnel_counters& counters,
                           tunnel_side tcp_side,
                           std::chrono::steady_clock::duration keepalive = limits::tunnel_keepalive_interval);

}  // namespace hc::net
