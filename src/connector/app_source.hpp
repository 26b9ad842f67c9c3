// connector/app_source: hcconnect's App Service mode (`--relay URL --app NAME --app-key KEY`):
// instead of endpoints.json, the endpoints are the hybrid connections the portal has added to
// the app, read from the relay's GET /api/v1/apps/{app}/connections with the app's own Send
// credential ("app:{NAME}"). Turns that answer into an endpoint_config whose connection strings
// sign with the app key, keeping each endpoint's loopback address from the previous config.
// connector_service polls it; run_command reads it once. The key is a secret: never logged.
#pragma once
#include "connector/endpoint_config.hpp"
#include "net/tls.hpp"
#include "net/types.hpp"
#include "proto/error.hpp"

#include <chrono>
#include <string>

namespace hc::connector {

struct app_source {
  std::string relay_url;  // https://HOST[:PORT] (http:// with --insecure-plaintext), a namespace host
  std::string app;
  std::string key;  // the app's Send key (a secret)
  std::chrono::milliseconds poll{2000};
  // run-service --follow-endpoints: apply new hybrid connections and changed endpoints as the
  // relay names them (and pin them); otherwise they wait for `hcconnect app-accept` (app_pins).
  bool follow_endpoints = false;
};

// Checks the flags together: app and key present, an https:// (or http://) URL. 400 naming the flag.
proto::result<void> validate_app_source(const app_source& source);

// The relay's answer (JSON text) as endpoints. Entries are named NAMESPACE/NAME.
proto::result<endpoint_config> endpoints_from_app_answer(std::string_view json, const app_source& source,
                                                         const endpoint_config& previous);

struct app_fetch_result {
  std::optional<endpoint_config> config;
  std::string error;  // in words when there is no config (unreachable, 401, bad answer)
};
// One GET of the app's connections.
net::task<app_fetch_result> fetch_app_endpoints(const app_source& source, net::tls_context tls,
                                                const endpoint_config& previous);
// The same, synchronously on a private io_context (for `run`, before the command starts).
app_fetch_result fetch_app_endpoints_now(const app_source& source, net::tls_context tls);

}  // namespace hc::connector
