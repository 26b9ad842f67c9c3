// net/management_call: see management_call.hpp.
#include "net/management_call.hpp"

#include "net/clock.hpp"
#include "net/ws_client.hpp"
#include "proto/encoding.hpp"
#include "proto/endpoint.hpp"
#include "proto/hc_address.hpp"
#include "proto/sas.hpp"

#include <boost/json.hpp>

namespace hc::net {

std::string relay_address::url() const {
  bool v6 = host.find(':') != std::string::npos;
  return (plaintext ? "http://" : "https://") + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

proto::result<relay_address> parse_relay_url(std::string_view url, std::string_view flag) {
  bool plaintext = proto::istarts_with(url, "http://");
  if (!plaintext && !proto::istarts_with(url, "https://"))
    return proto::error::bad_request(std::string(flag) + ": expected https://HOST[:PORT], got " +
                                     proto::quote_for_message(url));
  auto rest = url.substr(url.find("//") + 2);
  rest = rest.substr(0, rest.find('/'));
  std::string default_port = plaintext ? ":80" : ":443";
  bool has_port = rest.starts_with("[") ? rest.find("]:") != std::string_view::npos
                                        : rest.find(':') != std::string_view::npos;
  auto ep = proto::parse_endpoint(has_port ? std::string(rest) : std::string(rest) + default_port);
  if (!ep) return proto::error::bad_request(std::string(flag) + ": " + ep.error().message);
  return relay_address{ep->host, ep->port, plaintext};
}

task<management_reply> call_management(const management_target& target, std::string method, std::string path,
                                       std::string body) {
  http_call call;
  call.method = std::move(method);
  call.url = std::string(target.plaintext ? "http://" : "https://") + target.authority +
             std::string(proto::admin_path_prefix) + path;
  call.tls = target.tls;
  call.timeout = target.timeout;
  call.headers = {
      {"Authorization", proto::make_sas_token("http://" + proto::to_lower(target.token_host) + "/",
                                              target.key_name, target.key, unix_now() + 3600)},
      {"Accept", "application/json"}};
  if (!body.empty()) call.headers.emplace_back("Content-Type", "application/json");
  call.body = std::move(body);

  auto answer = co_await call_http(std::move(call));
  management_reply out;
  if (!answer.response) {
    out.error = "cannot reach the relay: " + answer.error;
    co_return out;
  }
  out.status = answer.response->status;
  out.raw = std::move(answer.response->body);
  if (!out.raw.empty()) {
    boost::system::error_code ec;
    out.body = boost::json::parse(out.raw, ec);
    if (ec) out.body = nullptr;
  }
  if (out.status >= 200 && out.status <= 299) co_return out;
  std::string message = out.raw.empty() ? answer.response->reason : out.raw;
  if (const auto* o = out.body.if_object())
    if (const auto* err = o->if_contains("error"); err && err->is_object())
      if (const auto* m = err->as_object().if_contains("message"); m && m->is_string())
        message = std::string(m->as_string());
  out.error = "relay refused (" + std::to_string(out.status) + "): " + message;
  co_return out;
}

}  // namespace hc::net
