// net/relay_client: tokens, URLs, dials and the runtime-info GET for agents (see
// relay_client.hpp).
#include "net/relay_client.hpp"

#include "net/clock.hpp"
#include "net/h2_pool.hpp"
#include "net/limits.hpp"
#include "net/warm_pool.hpp"

#include <map>
#include <mutex>
#include "proto/encoding.hpp"
#include "proto/hc_address.hpp"
#include "proto/sas.hpp"

namespace hc::net {

relay_client::relay_client(proto::connection_string cs, tls_context tls, bool plaintext)
    : cs_(std::move(cs)), tls_(std::move(tls)), plaintext_(plaintext) {}

std::int64_t relay_client::token_expiry(std::chrono::seconds lifetime) const {
  return unix_now() + lifetime.count();
}

std::string relay_client::token(std::chrono::seconds lifetime) const {
  if (!cs_.sas_token.empty()) return cs_.sas_token;
  return proto::make_sas_token("http://" + proto::to_lower(cs_.host) + "/" + cs_.entity_path, cs_.key_name,
                               cs_.key, token_expiry(lifetime));
}

namespace {
std::string to_plain(std::string url) {
  if (url.starts_with("wss://")) url.replace(0, 3, "ws");
  return url;
}
}  // namespace

std::string relay_client::listen_url(std::string_view id) const {
  auto url = proto::build_listen_url(cs_.host, cs_.port, cs_.entity_path, id);
  return plaintext_ ? to_plain(url) : url;
}

std::string relay_client::connect_url(std::string_view id) const {
  auto url = proto::build_connect_url(cs_.host, cs_.port, cs_.entity_path, id);
  return plaintext_ ? to_plain(url) : url;
}

struct relay_client::links {
  asio::any_io_executor ex;
  std::size_t http2_connections = 0;
  std::mutex mutex;
  // Per node: accept addresses name the node that holds the sender (--advertise).
  std::map<std::pair<std::string, std::uint16_t>, std::shared_ptr<h2_pool>> h2;
  std::shared_ptr<warm_pool> warm;  // started when the relay turns out to speak HTTP/1.1 only
  bool stopped = false;

  // Under `mutex` (or before the links are shared): the warm connections, once.
  void start_warm(const std::string& host, std::uint16_t port, const tls_context& tls) {
    if (warm || stopped) return;
    warm = std::make_shared<warm_pool>(ex, host, port, tls, limits::warm_pool_size);
    warm->start();
  }
};

void relay_client::keep_warm(asio::any_io_executor ex, std::size_t http2_connections) {
  if (links_) return;
  links_ = std::make_shared<links>();
  links_->ex = std::move(ex);
  links_->http2_connections = plaintext_ ? 0 : http2_connections;  // h2 is chosen by TLS ALPN
  if (links_->http2_connections == 0)
    links_->start_warm(cs_.host, cs_.port, plaintext_ ? tls_context{} : tls_);
}

void relay_client::stop_warm() const {
  if (!links_) return;
  std::lock_guard lock(links_->mutex);
  links_->stopped = true;
  if (links_->warm) links_->warm->stop();
  links_->h2.clear();  // the node's connections end with the last client that holds them
}

task<dial_result> relay_client::dial(dial_request request) const {
  if (!links_) co_return co_await dial_websocket(std::move(request));
  auto url = proto::parse_ws_url(request.url);
  std::shared_ptr<h2_pool> h2;
  std::shared_ptr<warm_pool> warm;
  {
    std::lock_guard lock(links_->mutex);
    if (url && url->tls && links_->http2_connections > 0 && !links_->stopped) {
      auto& pool = links_->h2[{url->host, url->port}];
      if (!pool) pool = h2_pool::for_node(links_->ex, url->host, url->port, tls_, links_->http2_connections);
      h2 = pool;
    }
    warm = links_->warm;
  }
  std::optional<byte_stream> preopened;
  if (h2) {
    auto dialed = co_await h2->dial(request);
    if (!dialed.fall_back) co_return std::move(dialed.result);
    preopened = std::move(dialed.preopened);
    std::lock_guard lock(links_->mutex);
    links_->start_warm(cs_.host, cs_.port, tls_);
  }
  if (!preopened && warm && url) preopened = warm->take(url->host, url->port);
  if (preopened) {
    auto result = co_await dial_websocket(request, std::move(preopened));
    if (result || result.status != 0) co_return result;
  }
  co_return co_await dial_websocket(std::move(request));
}

task<dial_result> relay_client::listen(std::string_view id, std::string_view user_agent,
                                       std::chrono::seconds token_lifetime) const {
  dial_request r;
  r.url = listen_url(id);
  r.tls = tls_;
  r.timeout = limits::dial_timeout;
  r.headers = {{"ServiceBusAuthorization", token(token_lifetime)},
               {"Relay-User-Agent", std::string(user_agent)}};
  co_return co_await dial(std::move(r));
}

task<dial_result> relay_client::connect(header_list extra, std::string_view id) const {
  dial_request r;
  r.url = connect_url(id);
  r.tls = tls_;
  r.timeout = limits::dial_timeout;
  r.headers = std::move(extra);
  r.headers.emplace_back("ServiceBusAuthorization", token());
  co_return co_await dial(std::move(r));
}

task<dial_result> relay_client::dial_address(const std::string& address, header_list extra) const {
  dial_request r;
  r.url = plaintext_ ? to_plain(address) : address;
  r.tls = tls_;
  r.timeout = limits::dial_timeout;
  r.headers = std::move(extra);
  co_return co_await dial(std::move(r));
}

task<relay_client::runtime_info_result> relay_client::runtime_info() const {
  runtime_info_result out;
  http_call call;
  std::string authority = cs_.port == 443 ? cs_.host : cs_.host + ":" + std::to_string(cs_.port);
  call.url = std::string(plaintext_ ? "http://" : "https://") + authority + "/" + cs_.entity_path +
             "?api-version=" + std::string(proto::management_api_version);
  call.tls = tls_;
  call.timeout = limits::dial_timeout;
  call.headers = {{"Authorization", token()}, {"X-PROCESS-AT", "ServiceBus"}};
  auto r = co_await call_http(std::move(call));
  if (!r.response) {
    out.error = r.error;
    co_return out;
  }
  out.status = r.response->status;
  if (out.status != 200) {
    out.error = "runtime-info GET answered " + std::to_string(out.status) + " " + r.response->reason;
    co_return out;
  }
  auto info = proto::parse_runtime_info_xml(r.response->body);
  if (!info) {
    out.status = info.error().status;
    out.error = info.error().message;
    co_return out;
  }
  out.info = std::move(*info);
  co_return out;
}

}  // namespace hc::net
