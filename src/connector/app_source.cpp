// connector/app_source: the app's hybrid connections from the relay (see app_source.hpp).
#include "connector/app_source.hpp"

#include "net/management_call.hpp"
#include "net/spawn.hpp"
#include "proto/connection_string.hpp"
#include "proto/encoding.hpp"
#include "proto/endpoint.hpp"

#include <boost/json.hpp>

namespace hc::connector {
namespace json = boost::json;
namespace {

std::string text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

proto::result<void> validate_app_source(const app_source& s) {
  if (s.app.empty()) return proto::error::bad_request("--app: the app's name is required with --relay");
  if (s.key.empty())
    return proto::error::bad_request(
        "the app's key is required with --app: --app-key-file PATH (a file only you can read) or "
        "HCCONNECT_APP_KEY (hcctl app key APP prints it)");
  auto relay = net::parse_relay_url(s.relay_url);
  if (!relay) return relay.error();
  return {};
}

proto::result<endpoint_config> endpoints_from_app_answer(std::string_view body, const app_source& source,
                                                         const endpoint_config& previous) {
  auto relay = net::parse_relay_url(source.relay_url);
  if (!relay) return relay.error();
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("hybridConnections") ||
      !v.at("hybridConnections").is_array())
    return proto::error::bad_request("the relay's answer has no hybridConnections list");
  endpoint_config config;
  for (const auto& item : v.at("hybridConnections").as_array()) {
    if (!item.is_object()) continue;
    const auto& o = item.as_object();
    auto port = o.if_contains("endpointPort");
    if (!port || !port->is_number()) continue;
    proto::connection_string cs;
    cs.host = text(o, "namespaceHost");
    cs.port = relay->port;
    cs.port_given = true;
    cs.key_name = "app:" + source.app;
    cs.key = source.key;
    cs.entity_path = text(o, "name");
    endpoint_entry e{text(o, "namespace") + "/" + cs.entity_path,
                     cs.to_string(),
                     text(o, "endpointHost"),
                     std::uint16_t(port->to_number<int>()),
                     {}};
    if (cs.host.empty() || cs.entity_path.empty() || e.endpoint_host.empty()) continue;
    if (const auto* old = previous.find(e.name); old && old->endpoint_host == e.endpoint_host)
      e.loopback_address = old->loopback_address;
    config.upsert(std::move(e));
  }
  return config;
}

net::task<app_fetch_result> fetch_app_endpoints(const app_source& source, net::tls_context tls,
                                                const endpoint_config& previous) {
  auto relay = net::parse_relay_url(source.relay_url);
  if (!relay) co_return app_fetch_result{std::nullopt, relay.error().message};
  net::management_target target{relay->host + ":" + std::to_string(relay->port),
                                relay->plaintext,
                                relay->host,
                                "app:" + source.app,
                                source.key,
                                std::move(tls),
                                std::chrono::seconds(10)};
  auto reply = co_await net::call_management(
      target, "GET", "/api/v1/apps/" + proto::percent_encode(source.app) + "/connections");
  if (!reply.ok()) co_return app_fetch_result{std::nullopt, reply.error};
  auto config = endpoints_from_app_answer(reply.raw, source, previous);
  if (!config) co_return app_fetch_result{std::nullopt, config.error().message};
  co_return app_fetch_result{std::move(*config), {}};
}

app_fetch_result fetch_app_endpoints_now(const app_source& source, net::tls_context tls) {
  endpoint_config none;
  return net::run_sync(fetch_app_endpoints(source, std::move(tls), none));
}

}  // namespace hc::connector
