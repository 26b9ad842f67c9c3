// manager/add_connection: validation and storage of a new connection (see add_connection.hpp).
#include "manager/add_connection.hpp"

#include "net/relay_client.hpp"
#include "proto/endpoint.hpp"

#include <algorithm>

namespace hc::manager {

add_result check_connection_string(const std::string& text) {
  add_result r;
  auto trimmed = text;
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) trimmed.pop_back();
  trimmed.erase(0, std::min(trimmed.size(), trimmed.find_first_not_of(" \t\r\n")));
  if (trimmed.empty()) {
    r.error =
        "the connection string is empty: paste the hybrid connection's listener (gateway) connection string, "
        "Endpoint=sb://HOST/;SharedAccessKeyName=...;SharedAccessKey=...;EntityPath=NAME";
    return r;
  }
  auto cs = proto::parse_connection_string(trimmed);
  if (!cs) {
    r.error = "malformed connection string: " + cs.error().message;
    return r;
  }
  if (cs->entity_path.empty()) {
    r.error =
        "the connection string has no EntityPath: use the hybrid connection's own connection string "
        "(...;EntityPath=NAME), not the namespace's";
    return r;
  }
  if (cs->key.empty() && cs->sas_token.empty()) {
    r.error =
        "the connection string has no key: it needs SharedAccessKeyName=RULE;SharedAccessKey=KEY "
        "(or SharedAccessSignature=...)";
    return r;
  }
  r.ok = true;
  r.entry.ns = namespace_of(*cs);
  r.entry.name = cs->entity_path;
  r.entry.connection_string = trimmed;
  return r;
}

namespace {

std::string rule_of(const proto::connection_string& cs) {
  return cs.key_name.empty() ? "the SharedAccessSignature" : "rule '" + cs.key_name + "'";
}

// Refusal text for a 401/403/404 from the relay, or "" for anything else.
std::string refusal(const proto::connection_string& cs, int status, const std::string& detail) {
  if (status == 401)
    return "the relay refused the key of " + rule_of(cs) + " for '" + cs.entity_path + "' (" + detail +
           "): the SharedAccessKey is wrong or was regenerated";
  if (status == 403)
    return rule_of(cs) + " may not listen on '" + cs.entity_path + "' (" + detail +
           "): use a rule with the Listen right, such as defaultListener";
  if (status == 404)
    return "the relay has no hybrid connection named '" + cs.entity_path + "' (" + detail + ")";
  return {};
}

}  // namespace

net::task<add_result> add_connection(std::string config_dir, std::string text, net::tls_context tls,
                                     bool plaintext, endpoint_policy policy) {
  auto r = check_connection_string(text);
  if (!r.ok) co_return r;
  r.entry.follow_endpoint = policy.follow_endpoint;
  r.entry.allow_link_local = policy.allow_link_local;
  auto cs = *proto::parse_connection_string(r.entry.connection_string);
  net::relay_client client(cs, tls, plaintext);
  auto info = co_await client.runtime_info();
  bool reachable = info.info || info.status != 0;
  if (!info.info && reachable) {
    if (auto why = refusal(cs, info.status, info.error); !why.empty()) {
      r.ok = false;
      r.error = why;
      co_return r;
    }
    r.warnings.push_back("the relay answered the runtime-info GET with an error (" + info.error +
                         "); added anyway, the service keeps trying");
  } else if (!reachable) {
    r.warnings.push_back("the relay " + cs.authority() + " cannot be reached now (" + info.error +
                         "); added anyway, the service keeps trying");
  }
  if (info.info) {
    // The runtime-info GET may be open to Send tokens too: prove the Listen right with a handshake.
    auto probe = co_await client.listen();
    if (!probe) {
      if (auto why = refusal(cs, probe.status, std::to_string(probe.status) + " " + probe.reason);
          !why.empty()) {
        r.ok = false;
        r.error = why;
        co_return r;
      }
      r.warnings.push_back("a test listen failed (" +
                           (probe.status ? std::to_string(probe.status) : probe.error) + "); added anyway");
    } else {
      co_await probe.connection->write_close(1000, "hcm add: rights checked");
      probe.connection->stream().close();
    }
    auto ep = proto::endpoint_from_user_metadata(info.info->user_metadata);
    if (!ep) {
      r.warnings.push_back("the hybrid connection has no usable endpoint (" + ep.error().message +
                           "): set its endpoint metadata to HOST:PORT; hcm will pick it up");
    } else {
      r.entry.endpoint_host = ep->host;
      r.entry.endpoint_port = ep->port;
      if (auto w = proto::endpoint_host_warning(ep->host); !w.empty()) r.warnings.push_back(w);
    }
  }
  auto now = now_iso8601();
  r.entry.created_on = now;
  r.entry.last_updated = now;
  update_connections(config_dir, [&](auto& entries) {
    auto same =
        std::find_if(entries.begin(), entries.end(), [&](auto& e) { return e.key() == r.entry.key(); });
    if (same != entries.end()) {
      r.replaced = true;
      r.entry.created_on = same->created_on;
      r.entry.restart_generation = same->restart_generation + 1;
      *same = r.entry;
    } else {
      entries.push_back(r.entry);
    }
    return true;
  });
  co_return r;
}

std::string added_line(const add_result& r, const endpoint_policy& policy) {
  return std::string(r.replaced ? "updated " : "added ") + r.entry.ns + "/" + r.entry.name +
         (r.entry.endpoint_host.empty()
              ? ""
              : " (endpoint " + r.entry.endpoint() +
                    (policy.follow_endpoint ? ", following the relay's changes)" : ", pinned)"));
}

}  // namespace hc::manager
