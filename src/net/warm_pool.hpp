// net/warm_pool: TCP+TLS connections to one relay opened ahead of time, so that a new tunnel
// (hcconnect's sender leg, hcm's rendezvous leg) starts with its upgrade request instead of a
// TCP connect and a TLS handshake ("nothing per connection that can be done once"). A pooled
// connection is used once and only while younger than limits::warm_max_age (the relay closes a
// silent connection after limits::handshake_timeout). Thread-safe; a background loop on the
// given executor keeps `size` connections ready and ends with stop() (or the destructor). The
// pool idles (holds none) once no take() for its host has come for limits::warm_idle_after, and
// fills again at the next one.
#pragma once
#include "net/byte_stream.hpp"
#include "net/tls.hpp"

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace hc::net {

class warm_pool : public std::enable_shared_from_this<warm_pool> {
 public:
  // `tls` null = plaintext connections.
  warm_pool(asio::any_io_executor ex, std::string host, std::uint16_t port, tls_context tls,
            std::size_t size);
  ~warm_pool();

  // Starts the refill loop (separate from the constructor: the loop holds a shared_ptr).
  void start();
  void stop();
  // A ready connection to host:port, or nullopt (the caller dials as usual).
  std::optional<byte_stream> take(std::string_view host, std::uint16_t port);

 private:
  task<> keep_filled(std::shared_ptr<warm_pool> self);
  struct ready {
    std::chrono::steady_clock::time_point opened;
    byte_stream stream;
  };
  asio::any_io_executor ex_;
  std::string host_;
  std::uint16_t port_;
  tls_context tls_;
  std::size_t size_;
  std::mutex mutex_;
  std::deque<ready> ready_;
  // guarded by mutex_; the start counts as a use, so a new client is warm at once
  std::chrono::steady_clock::time_point last_take_ = std::chrono::steady_clock::now();
  std::unique_ptr<asio::steady_timer> wake_;  // touched only from the refill loop and stop()
  bool stopped_ = false;
};

}  // namespace hc::net
