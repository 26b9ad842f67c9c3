// relay/http_mode/request_exchange: one relayed HTTP request (protocol doc §6) as the caller's
// session and the listener's side see it. The caller's session owns it and waits on it; the
// listener's control channel (a response and its body) and the request's rendezvous connection
// (the listener dialed the request's address) deliver to it from their own strands. Thread-safe:
// deliveries are queued under a mutex and wake the caller on its executor.
// request_table holds the one-shot rendezvous keys of requests in flight.
#pragma once
#include "net/websocket.hpp"
#include "proto/control_messages.hpp"
#include "relay/recent_keys.hpp"

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace hc::relay {

// What the listener's side hands the caller's session.
struct exchange_event {
  enum class kind {
    head,        // the listener's response message (control channel)
    body,        // the response body, whole (control channel: one message of at most 64 KiB)
    rendezvous,  // the listener dialed the request's address: `leg`, upgraded, 101 not yet sent
    lost,        // the listener went away or broke the protocol: `text` says how
  };
  kind what = kind::lost;
  proto::response_message head;
  std::string text;
  std::optional<net::ws_connection> leg;
  std::string leg_key;  // the leg's Sec-WebSocket-Key, for our 101
  // The listener whose leaving sent it (lost): a request that moved on from a listener that could
  // not take it ignores that listener's news.
  const void* from = nullptr;
};

class request_exchange : public std::enable_shared_from_this<request_exchange> {
 public:
  request_exchange(net::asio::any_io_executor caller, std::string id, std::string namespace_name,
                   std::string entity_path)
      : caller_(std::move(caller)),
        wake_(caller_),
        id_(std::move(id)),
        namespace_name_(std::move(namespace_name)),
        entity_path_(std::move(entity_path)) {}

  const std::string& id() const { return id_; }
  const std::string& namespace_name() const { return namespace_name_; }
  const std::string& entity_path() const { return entity_path_; }

  // The listener's side, any thread. False when the caller no longer waits (the event is dropped).
  bool deliver(exchange_event e);
  // The caller's side: the next event, nullopt when none arrived by `until`.
  net::task<std::optional<exchange_event>> next(std::chrono::steady_clock::time_point until);
  // The caller's side: it has stopped waiting; later deliveries are dropped.
  void abandon();

 private:
  net::asio::any_io_executor caller_;
  net::asio::steady_timer wake_;  // touched only on the caller's executor
  std::string id_;
  std::string namespace_name_;
  std::string entity_path_;
  std::mutex mutex_;
  std::deque<exchange_event> events_;
  bool abandoned_ = false;
};

// Request rendezvous keys (128 random bits in the address's sb-hc-rendezvous), each claimed once.
// The caller's session removes its key when it ends, claimed or not. Keys claimed or removed are
// remembered for 5 minutes (the last 64 Ki), so that a listener dialing late is told so
// rather than taken for someone guessing addresses.
class request_table {
 public:
  void add(const std::string& key, std::weak_ptr<request_exchange> r);
  // The listener's claim: removes and returns the exchange; null when unknown, used or gone.
  std::shared_ptr<request_exchange> take(const std::string& key);
  void remove(const std::string& key);
  bool was_used(const std::string& key);

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<request_exchange>> pending_;
  recent_keys used_{64 * 1024, std::chrono::minutes(5)};
};

}  // namespace hc::relay
