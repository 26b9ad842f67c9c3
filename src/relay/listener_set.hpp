// relay/listener_set: the live side of a hybrid connection: its connected listeners
// (control channels), the choice of a listener for each sender, and recent tunnel counts.
// listener_set is shared by every session that touches the entity and is thread-safe (one mutex,
// held only for list operations). A `listener` belongs to its control-channel session; other
// sessions reach its socket only by running code on its strand (listener::send, begin_close).
// A control write that the listener does not take within limits::control_write_timeout drops
// the listener; one that has waited limits::control_backlog_grace makes it "backed up", and
// backed-up listeners are not picked.
#pragma once
#include "net/async_mutex.hpp"
#include "net/deadline.hpp"
#include "net/websocket.hpp"
#include "proto/ws_frame.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace hc::relay {

// enable_shared_from_this: a close queued on the strand from another thread keeps the
// listener (and its channel) alive until it has run.
class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::asio::any_io_executor s, std::string id, std::string remote_address, std::string agent)
      : strand_(std::move(s)),
        id_(std::move(id)),
        remote_address_(std::move(remote_address)),
        agent_(std::move(agent)),
        connected_since_(std::chrono::system_clock::now()) {}

  // The control-channel session's strand: everything below marked "strand" runs only there.
  const net::asio::any_io_executor& executor() const { return strand_; }
  const std::string& id() const { return id_; }  // the listener's sb-hc-id (or one we made)
  const std::string& remote_address() const { return remote_address_; }
  const std::string& agent() const { return agent_; }  // User-Agent / Relay-User-Agent
  std::chrono::system_clock::time_point connected_since() const { return connected_since_; }

  // Tunnels this listener is currently carrying (the load used to pick listeners).
  std::atomic<int> active_tunnels{0};

  // strand: sends frames in order with nothing between them (an HTTP-mode request and its body),
  // each as `send` does.
  net::task<bool> send_in_order(std::vector<std::pair<proto::opcode, std::string>> frames);
  // strand: sends one frame (an accept, a ping). A write that has the connection and does not
  // finish within limits::control_write_timeout drops the listener (its socket closed, so its
  // session ends and its unanswered accepts go back to their senders). False when the channel
  // is gone, closing or was dropped.
  net::task<bool> send(proto::opcode op, std::string payload);
  // Any thread: a listener to give a new sender only when no other is there: more than
  // limits::control_backlog_bytes of control messages queued for it, a write waiting
  // limits::control_backlog_grace without progress, or an accept unanswered for
  // limits::listener_answer_grace.
  bool backed_up() const;
  // Any thread: a Close has begun; never offered a sender again.
  bool close_begun() const { return closing_started_.load(); }

  // The SAS token the listener authorized with last (connect or renewToken); any thread. The
  // relay checks it again against the current keys and rights whenever they change.
  void set_token(std::string token);
  std::string token() const;
  // Any thread: sends Close(code, reason) on the strand and gives the listener
  // limits::close_echo_timeout to answer before the connection is dropped.
  void begin_close(std::uint16_t code, std::string reason);

  // strand: the control channel, owned here so a queued send or close never outlives it.
  std::optional<net::ws_connection> channel;
  // strand: armed once we have sent Close.
  std::optional<net::deadline> closing;

  // Accepts sent to this listener and not yet answered (any thread). When the listener goes
  // away they are passed on at once rather than left to the 30 s accept window. expect_answer
  // is false once the listener has gone (take_unanswered ran): the sender must go elsewhere.
  bool expect_answer(std::string key, std::weak_ptr<class pending_rendezvous> pending);
  std::vector<std::pair<std::string, std::weak_ptr<pending_rendezvous>>> take_unanswered();

  // HTTP-mode requests sent to this listener whose response has not come on its control channel,
  // by request id (any thread). A response names one of these or is ignored; each is taken once
  // (by the response, or by the caller's session when it ends). expect_response is false once
  // the listener has gone (take_requests ran) or when the id is in use.
  bool expect_response(const std::string& id, std::weak_ptr<class request_exchange> r);
  std::shared_ptr<request_exchange> take_request(const std::string& id);
  std::vector<std::shared_ptr<request_exchange>> take_requests();

 private:
  void note_write_progress();

  struct unanswered_accept {
    std::string key;
    std::weak_ptr<pending_rendezvous> pending;  // expired once the sender stopped waiting
    std::chrono::steady_clock::time_point sent;
  };
  mutable std::mutex unanswered_mutex_;
  std::vector<unanswered_accept> unanswered_;
  bool gone_ = false;  // unanswered_mutex_: take_unanswered has run
  std::unordered_map<std::string, std::weak_ptr<request_exchange>> requests_;  // unanswered_mutex_
  net::async_mutex frame_order_;  // strand: a request and its body leave together
  mutable std::mutex token_mutex_;
  std::string token_;
  std::atomic<bool> closing_started_{false};
  std::atomic<int> writes_in_flight_{0};
  std::atomic<std::size_t> queued_bytes_{0};  // control messages written or waiting to be
  // steady_clock nanoseconds when a write last started on an idle channel or finished.
  std::atomic<std::int64_t> write_progress_ns_{0};
  net::asio::any_io_executor strand_;
  std::string id_;
  std::string remote_address_;
  std::string agent_;
  std::chrono::system_clock::time_point connected_since_;
};

// "Power of two choices": the index of the lower of two random loads (random like Azure, but
// steering away from a listener that is already busy); nullopt when there are none.
std::optional<std::size_t> pick_less_loaded(const std::vector<int>& loads);

class listener_set {
 public:
  // False when the hybrid connection already has max_listeners.
  bool add(std::shared_ptr<listener> l, std::size_t max_listeners);
  void remove(const listener* l);
  std::size_t count() const;
  std::vector<std::shared_ptr<listener>> snapshot() const;

  // The listeners a sender may be offered to: `allowed` / `disallowed` are listener ids from
  // Microsoft-Relay-AllowedListeners / DisallowedListeners (empty = no constraint); `exclude`
  // are listeners already tried for this sender (held, so a new listener cannot reuse a tried
  // one's address); closing ones are left out. Backed-up ones are apart: a sender goes to one
  // only when nothing else is left (relay/connect chooses, by pick_less_loaded).
  struct candidates {
    std::vector<std::shared_ptr<listener>> ready, busy;
  };
  candidates eligible(const std::vector<std::string>& allowed, const std::vector<std::string>& disallowed,
                      const std::vector<std::shared_ptr<listener>>& exclude) const;

  // Closes every listener (1001 when the entity is deleted).
  void close_all(std::uint16_t code, const std::string& reason);

  // Tunnel outcomes, for status lines ("Connected, endpoint unreachable ...") and diagnose.
  enum class outcome { accepted, rejected, timed_out };
  struct last_outcome {
    outcome kind = outcome::accepted;
    std::string text;  // rejected: "502 endpoint ... unreachable from hcm on HOST: ..."
    std::chrono::system_clock::time_point at{};
  };
  void record(outcome kind, std::string text = {});
  std::optional<last_outcome> last() const;
  std::atomic<std::uint64_t> tunnels_accepted{0};
  std::atomic<std::uint64_t> tunnels_rejected{0};
  std::atomic<std::uint64_t> tunnels_timed_out{0};

 private:
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<listener>> listeners_;
  std::optional<last_outcome> last_;
};

}  // namespace hc::relay
