// cluster/redis_client: the relay cluster's Redis client (node presence, cross-node signals). One
// connection carries commands, a second one pub/sub; each reopens by itself after a failure
// (cluster/redis_link) and runs hiredis's async API on Asio waits (cluster/redis_connection), so
// no loop ever blocks on Redis. This header is plain C++ and Asio: hiredis stays in the .cpp files.
// Thread-safe: any member may be called from any thread, and a coroutine that awaits one resumes
// on its own executor. The state handler and message handlers run on the client's strand, one at
// a time and never inside hiredis; keep them short (hand work to your own coroutine). None runs
// after close() has completed.
#pragma once
#include "cluster/redis_reply.hpp"
#include "cluster/redis_url.hpp"
#include "net/types.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hc::cluster {

struct redis_state {
  bool up = false;         // both connections logged in, every subscription made
  std::string last_error;  // why a connection last went down or failed to come up; empty if never
  bool operator==(const redis_state&) const = default;
};

class redis_client {
 public:
  using state_handler = std::function<void(const redis_state&)>;
  using message_handler = std::function<void(std::string payload)>;

  // Starts connecting at once, on a strand of `ex`; `on_state` hears every change of state().
  redis_client(net::asio::any_io_executor ex, redis_endpoint endpoint, state_handler on_state = {});
  // Starts close() without waiting for it; posts nothing when close() has already run (so a
  // client closed on its loop may be destroyed after that loop has stopped).
  ~redis_client();
  redis_client(const redis_client&) = delete;
  redis_client& operator=(const redis_client&) = delete;

  // One command, such as {"HSET", key, field, value}: the server's reply, or unanswered with a
  // sentence at once while the commands connection is down, after limits::redis_reply_timeout
  // (that connection is then dropped and reopened: replies come in order), or when the
  // connection drops or the client closes first. Refused at once: commands that take a connection
  // out of request and reply (SUBSCRIBE and its kin, MONITOR, CLIENT REPLY) or change what the
  // client restores on reconnect (SELECT, RESET, HELLO).
  net::task<redis_reply> command(std::vector<std::string> args);

  // Hands every message published on `channel` to `on_message` (replacing an earlier handler)
  // until unsubscribe(), and makes the subscription again after every reconnect (messages
  // published while the connection is down are lost: resync when the state comes up again).
  // Completes with the server's confirmation, or unanswered while the connection is down.
  net::task<redis_reply> subscribe(std::string channel, message_handler on_message);
  // No message of `channel` is handed over once this completes.
  net::task<> unsubscribe(std::string channel);

  redis_state state() const;

  // The one shutdown path: both connections end (commands still waiting get unanswered), nothing
  // reconnects, and this completes once their sockets are closed. Idempotent.
  net::task<> close();

 private:
  class core;
  std::shared_ptr<core> core_;
};

}  // namespace hc::cluster
