// net/http_server: a small plain-HTTP/1.1 server for the agents' local surfaces (hcm's web UI,
// its CLI API and /metrics; hcconnect's /metrics). Binds loopback by default; keep-alive;
// one coroutine per connection on its own strand; a request head must arrive within
// limits::handshake_timeout. The handler returns the whole response text (net/http.hpp
// format_response). Stop by destroying the server or calling stop().
#pragma once
#include "net/http.hpp"

#include <functional>
#include <memory>

namespace hc::net {

using http_handler = std::function<task<std::string>(const http_request&)>;

class http_server {
 public:
  // Throws std::runtime_error naming the address when it cannot bind.
  http_server(asio::any_io_executor ex, const tcp::endpoint& at, http_handler handler);
  ~http_server();
  tcp::endpoint local_endpoint() const;
  void stop();

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace hc::net
