// cluster/redis_connection: one hiredis async context (0.14's redisAsyncContext) driven from an
// Asio strand. hiredis's event hooks (addRead, addWrite, ...) become waits on the context's socket
// wrapped in a posix::stream_descriptor; the replies the connection owes are a FIFO of handlers,
// each with a deadline; a watchdog drops the connection when the connect or the oldest reply is
// late. It ends once (server gone, overdue, drop()) with a sentence saying why, and every handler
// still waiting then gets that sentence. hiredis owns the socket and frees the context itself when
// the connection fails: we release the descriptor, never close it. Reconnecting is redis_link's.
// Strand-confined: open() and every member run on the strand given to open(). Completions are
// posted to the handler's executor, never run inside a hiredis callback.
#pragma once
#include "cluster/redis_reply.hpp"
#include "net/types.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct redisAsyncContext;  // hiredis, kept out of every header

namespace hc::cluster {

namespace asio = net::asio;
using strand = asio::strand<asio::any_io_executor>;
using reply_handler = asio::any_completion_handler<void(redis_reply)>;
// A pub/sub message: channel, payload.
using message_sink = std::function<void(std::string, std::string)>;

// Completes `done` with `reply`: posted to the strand `s` (never inline), from where it runs on the
// handler's own executor. An empty `done` is a reply nobody waits for.
void complete(const strand& s, reply_handler done, redis_reply reply);

// Awaits a completion: `start(handler)` hands the handler (an any_completion_handler<Signature>)
// to whoever completes it. The caller resumes on its own executor.
template <class Signature, class Start>
auto await_completion(Start start) {
  auto initiation = [start = std::move(start)](auto handler) mutable {
    start(asio::any_completion_handler<Signature>(std::move(handler)));
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, Signature>(std::move(initiation),
                                                                         asio::use_awaitable);
}

template <class Start>
net::task<redis_reply> await_reply(Start start) {
  return await_completion<void(redis_reply)>(std::move(start));
}

// The shared_ptr (and enable_shared_from_this) is for the socket waits hiredis asks for through its
// C hooks: their handlers may run after the link let the connection go and must find it alive.
class redis_connection : public std::enable_shared_from_this<redis_connection> {
  struct private_tag {};

 public:
  enum class phase { connecting, open, ended };

  // Starts a non-blocking connect to `address` (resolved by the caller, so that hiredis's own
  // getaddrinfo never blocks the loop). `name` (host:port) is said in every sentence; messages of
  // a subscriber connection go to `on_message`, called on the strand.
  static std::shared_ptr<redis_connection> open(const strand& s, const net::tcp::endpoint& address,
                                                std::string name, message_sink on_message);
  redis_connection(private_tag, const strand& s, std::string name, message_sink on_message);
  ~redis_connection();
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  phase state() const { return phase_; }
  // Why the connection ended (empty before).
  const std::string& end_reason() const { return end_reason_; }
  // Resumes after the next change of phase (the caller checks the phase first).
  net::task<> wait_for_change();

  // Sends a command while open; `done` gets its reply, or unanswered when the connection ends
  // first. SUBSCRIBE and UNSUBSCRIBE (with their channels) owe one reply per channel: `done` gets
  // the last one.
  void send(const std::vector<std::string>& args, reply_handler done);
  // Ends the connection now (no-op once ended): the socket closes, waiting handlers get `why`.
  void drop(std::string why);

 private:
  using wait_type = asio::posix::descriptor_base::wait_type;
  struct owed_reply {
    reply_handler done;  // empty for all but the last reply of a multi-channel (UN)SUBSCRIBE
    std::chrono::steady_clock::time_point deadline;
  };
  // What hiredis asked for in one direction.
  struct interest {
    bool wanted = false;   // hiredis called add* (and not del* since)
    bool waiting = false;  // an async_wait is out (cancelled waits come back too)
  };
  friend struct hiredis_hooks;

  void want(wait_type w);
  void unwant(wait_type w) { interest_for(w).wanted = false; }
  void on_ready(wait_type w, net::error_code ec);
  interest& interest_for(wait_type w) { return w == wait_type::wait_read ? read_ : write_; }
  void on_connected();
  void answer(redis_reply reply);
  void context_gone();
  void note_change();
  net::task<> watch_deadlines();

  strand strand_;
  std::string name_;
  message_sink on_message_;
  redisAsyncContext* context_ = nullptr;   // null once hiredis freed it (context_gone)
  asio::posix::stream_descriptor socket_;  // the context's socket, released (hiredis closes it)
  interest read_, write_;
  phase phase_ = phase::connecting;
  std::string end_reason_;
  std::deque<owed_reply> owed_;  // in the order the server answers
  std::chrono::steady_clock::time_point connect_deadline_;
  asio::steady_timer watchdog_;  // at the connect deadline, then the oldest owed reply's
  asio::steady_timer changed_;   // wait_for_change(); cancelled on every phase change
};

}  // namespace hc::cluster
