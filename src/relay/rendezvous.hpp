// relay/rendezvous: the table of pending accepts. A sender session registers a one-shot key
// (128 random bits, carried in the accept address as sb-hc-rendezvous) and waits; the
// listener's accept (or reject) connection claims the key exactly once and delivers its outcome
// to the waiting sender. Keys expire with the sender's wait (limits::rendezvous_timeout).
// Thread-safe: sessions on different strands meet here; delivery wakes the sender on its strand.
#pragma once
#include "net/limits.hpp"
#include "net/websocket.hpp"
#include "relay/recent_keys.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace hc::relay {

struct rendezvous_outcome {
  // Accepted: the listener's upgraded-but-unanswered connection and what to answer it.
  std::optional<net::ws_connection> listener_leg;
  std::string listener_key;  // the listener's Sec-WebSocket-Key (for our 101 to it)
  std::string subprotocol;   // the one the listener chose, echoed to both sides
  // Rejected: the listener's status and description, passed to the sender as they are.
  int reject_status = 0;
  std::string reject_description;
  // The listener went away (or was dropped) before it answered: offer the sender to another.
  bool listener_lost = false;
};

// Shared by the waiting sender and the claiming accept session; enable_shared_from_this so a
// wake-up queued on the sender's strand keeps the object alive.
class pending_rendezvous : public std::enable_shared_from_this<pending_rendezvous> {
 public:
  // forwarded_from: the node whose sender this stands in for (relay/cluster/forwarding), "" for
  // a sender of this node.
  pending_rendezvous(net::asio::any_io_executor sender_executor, std::string namespace_name,
                     std::string entity_path, std::string forwarded_from = {})
      : sender_executor_(std::move(sender_executor)),
        wake_(sender_executor_),
        namespace_name_(std::move(namespace_name)),
        entity_path_(std::move(entity_path)),
        forwarded_from_(std::move(forwarded_from)) {}

  // Called by the claiming accept session, on any strand.
  void deliver(rendezvous_outcome outcome);
  // Called by the sender; nullopt when nothing arrived and the key was withdrawn: at `give_up`,
  // or already at `move_on` when `elsewhere()` says then that the sender can go to another
  // listener.
  net::task<std::optional<rendezvous_outcome>> wait(std::chrono::steady_clock::time_point move_on,
                                                    std::chrono::steady_clock::time_point give_up,
                                                    const std::function<bool()>& elsewhere,
                                                    class rendezvous_table& table, const std::string& key);
  // The sender's namespace: an accept on a gateway host (which serves every namespace) is
  // checked against it.
  const std::string& namespace_name() const { return namespace_name_; }
  const std::string& entity_path() const { return entity_path_; }
  const std::string& forwarded_from() const { return forwarded_from_; }

 private:
  net::asio::any_io_executor sender_executor_;
  net::asio::steady_timer wake_;  // touched only on the sender's executor
  std::string namespace_name_;
  std::string entity_path_;  // the accept address must name the same entity
  std::string forwarded_from_;
  std::mutex mutex_;
  std::optional<rendezvous_outcome> outcome_;
};

class rendezvous_table {
 public:
  void add(const std::string& key, std::shared_ptr<pending_rendezvous> p);
  // The listener's claim: removes and returns the entry; null when unknown, used or withdrawn.
  std::shared_ptr<pending_rendezvous> take(const std::string& key);
  // The sender's side: removes the entry (the sender stopped waiting or went to another
  // listener) and remembers the key for a while, so that a listener answering late is told so
  // rather than taken for someone guessing addresses. The entry, or null when already claimed.
  std::shared_ptr<pending_rendezvous> withdraw(const std::string& key);
  // Withdrawn within the last limits::rendezvous_timeout (at most 64 Ki keys).
  bool was_withdrawn(const std::string& key) const;
  std::size_t size() const;
  // At exit, while the io_context the entries' timers belong to still exists.
  void clear();

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<pending_rendezvous>> pending_;
  recent_keys withdrawn_{64 * 1024, net::limits::rendezvous_timeout};
};

}  // namespace hc::relay
