// net/limits: every duration and size the programs use, in one place, each with why.
#pragma once
#include <array>
#include <chrono>
#include <cstddef>

namespace hc::net::limits {
using namespace std::chrono_literals;

// A client has this long for TCP accept -> TLS handshake -> complete upgrade request
// (slowloris protection; the hostile-input catalog checks 10 s).
inline constexpr auto handshake_timeout = 10s;
// Outbound dials (TCP connect + TLS + upgrade) by hcm, hcconnect and hcctl.
inline constexpr auto dial_timeout = 20s;
// Protocol doc §5.1: "the maximum to assume is 30 seconds" for an accept address.
inline constexpr auto rendezvous_timeout = 30s;
// After a leg is lost and the other was sent 1001, how long we wait for its Close echo.
inline constexpr auto close_echo_timeout = 10s;
// SAS grace after `se` (Azure drops at about se + 5 min, protocol doc §3.3).
inline constexpr auto token_grace = 5min;
// A relay whose catalog store other relays write too (PostgreSQL) reads the store's revision this
// often and reloads when it moved: a change made through one relay holds on every relay within
// about this long (docs/scale-out.md promises 1 s).
inline constexpr auto catalog_poll_interval = 500ms;
// hcm / hcconnect keep-alive Ping on control channels; dead after two missed Pongs.
inline constexpr auto keepalive_interval = 30s;
// hcm / hcconnect Ping every tunnel leg this often (--tunnel-keepalive): Azure's load balancers
// cut connections idle for about 4 minutes, which would cut an idle pooled database connection.
// A leg that sends nothing back (no Pong) for a whole interval after a Ping is lost: the TCP
// side is reset.
inline constexpr auto tunnel_keepalive_interval = 60s;

// The relay pings every listener control channel this often (hcrelay --listener-keepalive) and
// drops a listener that has sent nothing for two pings.
inline constexpr auto relay_keepalive_interval = 30s;
// On SIGTERM the relay sends Close 1001 on every control channel and tunnel leg and gives them
// this long to finish before it exits (hcrelay --drain-timeout).
inline constexpr auto relay_drain_timeout = 10s;
// On SIGTERM (and when hcconnect's `run --` command exits) hcm and hcconnect stop taking new
// tunnels and give open ones this long to finish before they are cut.
inline constexpr auto agent_drain_timeout = 5s;
// A control message (accept, ping) that has the connection and is not taken from it in this time
// drops the listener: a listener that stops reading cannot hold its senders.
inline constexpr auto control_write_timeout = 5s;
// A listener is "backed up", and senders go to another one, while a control write has waited this
// long without progress, while more than control_backlog_bytes are queued for it, or while an
// accept it was sent has waited listener_answer_grace for its answer (listeners answer in
// milliseconds).
inline constexpr auto control_backlog_grace = 1s;
inline constexpr std::size_t control_backlog_bytes = 256 * 1024;
inline constexpr auto listener_answer_grace = 2s;
// A listener that has not answered an accept in this time loses that sender to another listener
// (within the sender's rendezvous_timeout); a late answer finds the address withdrawn.
inline constexpr auto listener_answer_timeout = 10s;
// An accept message, serialized, stays under this (.NET listeners read control messages into a
// fixed buffer of proto::max_control_message_bytes; hcm refuses bigger ones): a sender whose headers make
// more gets 431.
inline constexpr std::size_t max_accept_message_bytes = 60 * 1024;

// After a failed accept (out of file descriptors): pause this long before the next one.
inline constexpr auto accept_retry_delay = 100ms;

// How often the relay and the agents return free heap memory to the system (net/memory_trim).
inline constexpr auto memory_trim_interval = 30s;

// Resolved relay and endpoint addresses are reused this long (a new tunnel skips the resolver).
inline constexpr auto dns_cache_ttl = 30s;

// A pre-opened relay connection is used only while younger than this (under handshake_timeout,
// after which the relay drops a connection that has sent no request).
inline constexpr auto warm_max_age = 7s;
// After a failed pre-open (relay away), wait this long before the next try.
inline constexpr auto warm_retry_delay = 2s;
// After a pre-opened connection is taken (and another is still ready), its replacement is opened
// this much later: after the new tunnel's setup rather than in the middle of it.
inline constexpr auto warm_refill_delay = 5ms;
// Pre-opened connections an agent keeps per relay: one in use, one ready, for bursts.
inline constexpr std::size_t warm_pool_size = 2;
// HTTP/2 connections an agent keeps to each relay node (net/h2_pool); their streams carry the tunnel legs.
inline constexpr std::size_t h2_pool_connections = 2;
// A warm pool whose host no tunnel has used for this long stops refilling until one does again:
// toward Azure (accepts go to gateway hosts, never the namespace host) and on an idle hybrid
// connection no handshake is made ahead of time for nothing.
inline constexpr auto warm_idle_after = 60s;

// Request head (request line + headers) limit, protocol doc §6.2 (32 kB header metadata).
inline constexpr std::size_t max_request_head_bytes = 32 * 1024;
// Body limit for management API requests (their JSON bodies are a few hundred bytes), read only
// once the route and the caller's authorization are known; other routes take no body.
inline constexpr std::size_t max_api_body_bytes = 64 * 1024;
// Open connections the relay takes from one source address (IPv6: one /64) and in total; beyond
// them a new connection is closed at once (hcrelay --max-connections-per-source, --max-connections).
// An hcconnect host opens one connection per app connection and an hcm host one per tunnel, so
// honest sources run into the thousands; the total stays under a 2 KiB-per-connection budget of
// a few hundred MiB plus TLS state.
inline constexpr std::size_t max_connections_per_source = 10'000;
inline constexpr std::size_t max_connections = 100'000;
// Of those, plain HTTP connections (no tunnel needs them; hcm and hcctl open a few): beyond this
// a source's next one is answered 503, so idle keep-alives cannot fill the relay.
inline constexpr std::size_t max_http_connections_per_source = 256;
// File descriptors the relay keeps for itself (store, logs, listening socket) when it fits
// max_connections to its open-file limit.
inline constexpr std::size_t reserved_descriptors = 64;
// A plain HTTP connection (management API, runtime info, portal) may idle this long between
// requests and carry this many requests (hcrelay --http-idle-timeout, --max-requests-per-connection).
inline constexpr auto http_idle_timeout = 15s;
inline constexpr std::size_t max_requests_per_connection = 1000;
// Data-path read size: large while bytes flow (ARCHITECTURE "Performance by design").
inline constexpr std::size_t pump_buffer_bytes = 64 * 1024;
// Listeners per hybrid connection (protocol doc §11).
inline constexpr std::size_t max_listeners_per_hc = 25;
// Per-source (remote IP) limits in the relay (relay/source_limits). A client that fails
// authentication again and again (hyco-ws reconnects without backoff) may spend this many
// failures at once; the allowance refills at auth_failure_refill_per_second, and
// while it is empty every request from that address is answered 429 without being looked at.
// High enough that the test suites (many requests, a few dozen deliberate failures from
// 127.0.0.1) never trip it; low enough that a flood costs the relay a TLS handshake and a
// 429 per attempt after the first 100.
inline constexpr double auth_failure_burst = 100;
inline constexpr double auth_failure_refill_per_second = 10;  // hcrelay --auth-failure-refill
// Connections from one address that have not yet finished TLS + request head: beyond this the
// relay closes new ones at once (a slowloris from one host cannot take every socket). An
// hcconnect host opens the sender leg of every app connection from one address, so honest bursts
// run into the thousands (the benchmark opens 10,000 tunnels at once); 4096 leaves them room.
inline constexpr std::size_t max_handshakes_per_source = 4096;
// Sources remembered by the limiter; above this, sources with a full allowance and no
// handshake in flight are forgotten (memory stays bounded under a spoofed-source scan).
inline constexpr std::size_t max_tracked_sources = 64 * 1024;

// Redis (cluster/redis_client). Redis answers in microseconds, so a connect or a reply that takes
// this long means the server or the path is broken: the connection is dropped and opened again
// (replies come in order, so a lost one would shift every later reply onto the wrong command).
// 2 s stays clear of a slow EVAL; blocking commands (BLPOP ...) must wait less than this.
inline constexpr auto redis_connect_timeout = 2s;
inline constexpr auto redis_reply_timeout = 2s;
// Reconnect delays (net/backoff adds 0..20 % jitter): a restarted Redis is found again within
// a fraction of a second, and one that stays away is tried every 2 s.
inline constexpr std::array<std::chrono::milliseconds, 6> redis_reconnect_schedule{0ms,   100ms, 250ms,
                                                                                   500ms, 1s,    2s};
// Cluster presence (relay/cluster). A node refreshes its key (and the loads of its listeners)
// every node_heartbeat_interval; the key lives node_ttl, so a node that stops (kill -9, lost
// link) stops being picked within node_ttl plus one refresh of the live-node list.
inline constexpr auto node_heartbeat_interval = 1s;
inline constexpr auto node_ttl = 3s;
}  // namespace hc::net::limits
