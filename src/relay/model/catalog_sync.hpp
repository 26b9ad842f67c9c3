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

// Runs until the relay's io_context stops, from ctx.applied_revision.
net::task<> follow_store(relay_context& ctx);
// Before a management call on a shared store: the catalog as the store has it now, so a change
// made through another relay a moment ago is seen here (one revision read; a reload when it
// moved). Does nothing for a store of this relay's own.
net::task<> read_latest(relay_context& ctx);

}  // namespace hc::relay
