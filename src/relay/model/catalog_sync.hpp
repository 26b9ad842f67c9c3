// relay/model/catalog_sync: keeps this relay's in-memory catalog in step with a store that other
// relays write too (PostgreSQL), and knows whether the store answers. Every
// limits::catalog_poll_interval the store's revision is read on the store worker; when it moved,
// the snapshot is loaded and reconciled there too (so in order with this relay's own writes), and
// recheck_listeners closes the listeners a change elsewhere has revoked.
#pragma once
#include "net/types.hpp"

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace hc::relay {

struct relay_context;

// Whether the catalog store answered the last time it was asked, and if not why (a sentence).
class store_health {
 public:
  // Each returns true when the state changed (the caller logs the change once).
  bool answered();
  bool failed(std::string why);
  std::optional<std::string> problem() const;

 private:
  mutable std::mutex mutex_;
  std::optional<std::string> problem_;
};

// Runs until the relay's io_context stops. `applied` is the revision the catalog reflects now.
net::task<> follow_store(relay_context& ctx, std::int64_t applied);

}  // namespace hc::relay
