// tests/integration/api_support: what the management-API tests add to harness.hpp: any call under
// /api/v1 (root token by default, or a given token, or none), calls that must succeed and return
// JSON, the error message of a refusal, and a polling wait on a JSON view. Coroutines on the
// caller's io_context, like the harness.
#pragma once
#include "harness.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace hc::test {

// Sentinel for api_call's token: send no Authorization header at all.
inline const std::string no_token = "\x01none";

inline task<net::http_response> api_call(const relay_process& relay, std::string method, std::string path,
                                         std::string body = {}, std::string token = {}) {
  net::http_call call;
  call.method = method;
  call.url = relay.https_url("/api/v1" + path);
  if (token != no_token) call.headers = {{"Authorization", token.empty() ? relay.root_token() : token}};
  if (!body.empty()) call.headers.emplace_back("Content-Type", "application/json");
  call.body = std::move(body);
  call.tls = relay.tls();
  call.timeout = 10s;
  auto r = co_await net::call_http(std::move(call));
  require(r.response.has_value(), method + " " + path + " failed: " + r.error);
  co_return std::move(*r.response);
}

// The call must answer 2xx; returns the parsed body (null for 204).
inline task<boost::json::value> api_ok(const relay_process& relay, std::string method, std::string path,
                                       std::string body = {}) {
  auto r = co_await api_call(relay, method, path, body);
  require(r.status >= 200 && r.status < 300, method + " " + path + " " + body + ": expected 2xx, got " +
                                                 std::to_string(r.status) + " " + r.body);
  co_return r.body.empty() ? boost::json::value() : boost::json::parse(r.body);
}

// error.message of a refusal ("" when the body has none).
inline std::string error_message(const net::http_response& r) {
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("error")) return {};
  return std::string(v.at("error").at("message").as_string());
}

inline std::string json_text(const boost::json::value& v, std::string_view key) {
  const auto* f = v.as_object().if_contains(key);
  return f && f->is_string() ? std::string(f->as_string()) : std::string();
}

// Polls GET path until `ready(body)` or the timeout; true when it became ready.
inline task<bool> api_wait(const relay_process& relay, std::string path,
                           std::function<bool(const boost::json::value&)> ready,
                           std::chrono::steady_clock::duration timeout = 10s) {
  auto until = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer pause(co_await asio::this_coro::executor);
  for (;;) {
    auto v = co_await api_ok(relay, "GET", path);
    if (ready(v)) co_return true;
    if (std::chrono::steady_clock::now() >= until) co_return false;
    pause.expires_after(20ms);
    co_await pause.async_wait(net::use_tuple);
  }
}

}  // namespace hc::test
