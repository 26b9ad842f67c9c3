// net/h2_pool: an agent's HTTP/2 connections to one relay node (host:port), shared by every
// relay_client of this process that names the node: each tunnel leg (hcm's listener channel and
// rendezvous legs, hcconnect's senders) is a WebSocket on a new stream (RFC 8441 extended
// CONNECT) instead of its own TCP and TLS connection. Up to `connections` connections are kept
// (streams go to the least busy one); they are opened on first use and kept alive by PING. A node
// that does not choose h2 by ALPN, or does not allow extended CONNECT (Azure Relay), is dialed with
// HTTP/1.1 from then on: the caller is told to fall back, with the TLS connection already opened.
// Thread-safe.
#pragma once
#include "net/h2_session.hpp"
#include "net/ws_client.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hc::net {

class wake_signal;

class h2_pool {
 public:
  // The pool for host:port and `tls` in this process (made on first use with `ex` for its
  // connections); it lives while a caller holds it.
  static std::shared_ptr<h2_pool> for_node(asio::any_io_executor ex, const std::string& host,
                                           std::uint16_t port, tls_context tls, std::size_t connections);
  h2_pool(asio::any_io_executor ex, std::string host, std::uint16_t port, tls_context tls,
          std::size_t connections);
  ~h2_pool();  // its connections end (GOAWAY)

  struct dialed {
    dial_result result;
    bool fall_back = false;                // the node speaks HTTP/1.1 only: dial it so
    std::optional<byte_stream> preopened;  // the TLS connection that found out, for that dial
  };
  // A WebSocket to `request.url` (wss://, this pool's host and port) on a new stream: the same
  // result as dial_websocket (the reason of a refusal is the first line of its body).
  task<dialed> dial(const dial_request& request);

 private:
  struct choice {
    std::shared_ptr<h2_session> session;
    bool fall_back = false;
    std::optional<byte_stream> preopened;
    std::string error;
  };
  task<choice> session_for(const dial_request& request);
  // `refused`: the stream ended unanswered with its connection going away (worth a retry).
  task<dialed> dial_once(const dial_request& request, bool& refused);
  void wake_waiters();

  asio::any_io_executor ex_;
  std::string host_;
  std::uint16_t port_;
  tls_context tls_;
  std::size_t size_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<h2_session>> sessions_;
  std::size_t opening_ = 0;
  std::chrono::steady_clock::time_point http1_only_until_{};
  std::vector<std::shared_ptr<wake_signal>> waiting_;
};

}  // namespace hc::net
