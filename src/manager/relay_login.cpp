// manager/relay_login: the stored credential and the management calls it makes (see relay_login.hpp).
#include "manager/relay_login.hpp"

#include "manager/config.hpp"
#include "net/management_call.hpp"
#include "proto/connection_string.hpp"
#include "proto/encoding.hpp"
#include "util/private_file.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <variant>

namespace hc::manager {
namespace json = boost::json;
namespace {

std::string text(const json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  const auto* field = o ? o->if_contains(key) : nullptr;
  return field && field->is_string() ? std::string(field->as_string()) : std::string();
}

std::int64_t number(const json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  const auto* field = o ? o->if_contains(key) : nullptr;
  return field && field->is_number() ? field->to_number<std::int64_t>() : 0;
}

struct fetched_string {
  std::string connection_string;  // the listener connection string (holds a key)
  std::string error;
};

// A hostile relay cannot make hcm hold or walk an endless list.
constexpr std::size_t max_namespaces = 1000;
constexpr std::size_t max_connections = 10000;

// The target every call of this credential goes to, or why there is none.
std::variant<net::management_target, std::string> target_of(const relay_login& login, net::tls_context tls,
                                                            bool plaintext_allowed) {
  auto relay = net::parse_relay_url(login.relay);
  if (!relay) return "the stored relay URL is not valid: hcm login again";
  if (relay->plaintext && !plaintext_allowed)
    return "the sign-in is for the plaintext relay " + login.relay + ": give --insecure-plaintext to use it";
  return net::management_target{relay->host + ":" + std::to_string(relay->port),
                                relay->plaintext,
                                relay->host,
                                login.credential(),
                                login.key,
                                std::move(tls),
                                std::chrono::seconds(15)};
}

std::string hc_path(const pickable_connection& hc) {
  return "/api/v1/namespaces/" + proto::percent_encode(hc.ns) + "/hybridConnections/" +
         proto::percent_encode(hc.name);
}

// A Manage key: every namespace it may see, and their hybrid connections.
net::task<pick_list> list_with_manage_key(const net::management_target& target) {
  pick_list out;
  auto namespaces = co_await net::call_management(target, "GET", "/api/v1/namespaces");
  if (!namespaces.ok() || !namespaces.body.is_array()) {
    out.error = namespaces.ok() ? "the relay's answer lists no namespaces" : namespaces.error;
    co_return out;
  }
  if (namespaces.body.as_array().size() > max_namespaces) {
    out.error = "the relay lists more than " + std::to_string(max_namespaces) + " namespaces";
    co_return out;
  }
  for (const auto& ns : namespaces.body.as_array()) {
    auto name = text(ns, "name");
    auto host = text(ns, "host");
    auto list = co_await net::call_management(
        target, "GET", "/api/v1/namespaces/" + proto::percent_encode(name) + "/hybridConnections");
    if (!list.ok()) {
      out.error = list.error;
      co_return out;
    }
    if (!list.body.is_array()) continue;
    for (const auto& hc : list.body.as_array())
      out.connections.push_back(
          {name, text(hc, "name"), host, text(hc, "endpoint"), number(hc, "listenerCount")});
    if (out.connections.size() > max_connections) {
      out.error = "the relay lists more than " + std::to_string(max_connections) + " hybrid connections";
      co_return out;
    }
  }
  co_return out;
}

// An app's key: the hybrid connections the app uses.
net::task<pick_list> list_with_app_key(const net::management_target& target, const std::string& app) {
  pick_list out;
  auto reply = co_await net::call_management(target, "GET",
                                             "/api/v1/apps/" + proto::percent_encode(app) + "/connections");
  const auto* list =
      reply.body.is_object() ? reply.body.as_object().if_contains("hybridConnections") : nullptr;
  if (!reply.ok() || !list || !list->is_array()) {
    out.error = reply.ok() ? "the relay's answer lists no hybrid connections" : reply.error;
    co_return out;
  }
  if (list->as_array().size() > max_connections) {
    out.error = "the relay lists more than " + std::to_string(max_connections) + " hybrid connections";
    co_return out;
  }
  for (const auto& hc : list->as_array()) {
    auto host = text(hc, "endpointHost");
    auto port = number(hc, "endpointPort");
    out.connections.push_back({text(hc, "namespace"), text(hc, "name"), text(hc, "namespaceHost"),
                               host.empty() ? "" : host + ":" + std::to_string(port),
                               number(hc, "listenerCount")});
  }
  co_return out;
}

// A Manage key: defaultListener, else the first rule of the hybrid connection with Listen.
net::task<fetched_string> fetch_with_manage_key(const net::management_target& target,
                                                const pickable_connection& hc) {
  auto rules = co_await net::call_management(target, "GET", hc_path(hc) + "/authorizationRules");
  if (!rules.ok()) co_return fetched_string{{}, rules.error};
  std::string chosen;
  if (rules.body.is_array())
    for (const auto& r : rules.body.as_array()) {
      const auto* rights = r.is_object() ? r.as_object().if_contains("rights") : nullptr;
      bool listen =
          rights && rights->is_array() && std::ranges::any_of(rights->as_array(), [](const json::value& x) {
            return x.is_string() && x.as_string() == "Listen";
          });
      if (listen && (chosen.empty() || text(r, "name") == "defaultListener")) chosen = text(r, "name");
    }
  if (chosen.empty())
    co_return fetched_string{
        {},
        "hybrid connection " + hc.key() +
            " has no rule with the Listen right: create one (hcctl key create defaultListener --rights "
            "Listen --namespace " +
            hc.ns + " --hc " + hc.name + ") and pick it again"};
  auto keys = co_await net::call_management(
      target, "POST", hc_path(hc) + "/authorizationRules/" + proto::percent_encode(chosen) + "/listKeys");
  if (!keys.ok()) co_return fetched_string{{}, keys.error};
  auto cs = text(keys.body, "primaryConnectionString");
  if (cs.empty()) co_return fetched_string{{}, "the relay's answer holds no connection string"};
  co_return fetched_string{cs, {}};
}

}  // namespace

bool relay_login::plaintext() const {
  return proto::istarts_with(relay, "http://");
}

std::string login_path(const std::string& config_dir) {
  return (std::filesystem::path(config_dir) / "relay-login.json").string();
}

std::optional<relay_login> read_login(const std::string& config_dir) {
  auto content = util::read_file(login_path(config_dir));
  if (!content) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(*content, ec);
  relay_login login{text(v, "relay"), text(v, "keyName"), text(v, "app"), text(v, "key")};
  if (ec || login.relay.empty() || login.key.empty() || login.key_name.empty() == login.app.empty())
    throw std::runtime_error(login_path(config_dir) +
                             " is not a sign-in hcm wrote: run hcm logout, then hcm login again");
  return login;
}

void save_login(const std::string& config_dir, const relay_login& login) {
  json::object o{{"relay", login.relay}, {"key", login.key}};
  if (login.app.empty())
    o["keyName"] = login.key_name;
  else
    o["app"] = login.app;
  util::write_private_file(login_path(config_dir), json::serialize(o) + "\n");
}

bool remove_login(const std::string& config_dir) {
  std::error_code ec;
  return std::filesystem::remove(login_path(config_dir), ec);
}

net::task<pick_list> list_pickable(const relay_login& login, net::tls_context tls, bool plaintext_allowed) {
  auto target = target_of(login, std::move(tls), plaintext_allowed);
  if (auto* why = std::get_if<std::string>(&target)) co_return pick_list{{}, *why};
  const auto& to = std::get<net::management_target>(target);
  pick_list list;  // g++ 12: no co_await inside ?: (net/types.hpp)
  if (login.app.empty())
    list = co_await list_with_manage_key(to);
  else
    list = co_await list_with_app_key(to, login.app);
  std::ranges::sort(list.connections, {}, [](const auto& c) { return std::pair(c.ns, c.name); });
  co_return list;
}

namespace {

net::task<fetched_string> fetch_listener_string(const relay_login& login, net::tls_context tls,
                                                bool plaintext_allowed, const pickable_connection& hc) {
  auto target = target_of(login, std::move(tls), plaintext_allowed);
  if (auto* why = std::get_if<std::string>(&target)) co_return fetched_string{{}, *why};
  const auto& to = std::get<net::management_target>(target);
  fetched_string fetched;
  if (login.app.empty()) {
    fetched = co_await fetch_with_manage_key(to, hc);
  } else {
    auto reply = co_await net::call_management(to, "POST",
                                               "/api/v1/apps/" + proto::percent_encode(login.app) +
                                                   "/connections/" + proto::percent_encode(hc.ns) + "/" +
                                                   proto::percent_encode(hc.name) + "/listKeys");
    fetched = reply.ok() ? fetched_string{text(reply.body, "gatewayConnectionString"), {}}
                         : fetched_string{{}, reply.error};
    if (reply.ok() && fetched.connection_string.empty())
      fetched.error = "the relay's answer holds no connection string";
  }
  if (!fetched.error.empty()) co_return fetched;
  // The string must be for what was picked, on this relay's port.
  auto relay = net::parse_relay_url(login.relay);
  auto cs = proto::parse_connection_string(fetched.connection_string);
  if (!cs || !proto::iequals(cs->entity_path, hc.name) || !proto::iequals(cs->host, hc.host) ||
      cs->port != relay->port)
    co_return fetched_string{{},
                             "the relay answered with a connection string for " +
                                 (cs ? cs->host + ":" + std::to_string(cs->port) + "/" + cs->entity_path
                                     : std::string("nothing usable")) +
                                 ", not " + hc.host + ":" + std::to_string(relay->port) + "/" + hc.name +
                                 ": not added"};
  co_return fetched;
}

std::string replaces_another_relay(const std::string& config_dir, const std::string& connection_string) {
  auto cs = proto::parse_connection_string(connection_string);
  if (!cs) return {};
  for (const auto& e : load_connections(config_dir)) {
    auto old = proto::parse_connection_string(e.connection_string);
    if (e.ns != namespace_of(*cs) || e.name != cs->entity_path || !old) continue;
    if (!proto::iequals(old->host, cs->host) || old->port != cs->port)
      return "hcm already has " + e.key() + " from " + old->authority() + "; remove it first (hcm remove " +
             e.ns + " " + e.name + ") to take it from " + cs->authority();
  }
  return {};
}

}  // namespace

net::task<add_result> add_picked(std::string config_dir, relay_login login, net::tls_context tls,
                                 bool plaintext_allowed, pickable_connection hc, endpoint_policy policy) {
  auto fetched = co_await fetch_listener_string(login, tls, plaintext_allowed, hc);
  if (fetched.error.empty()) fetched.error = replaces_another_relay(config_dir, fetched.connection_string);
  if (!fetched.error.empty()) {
    add_result refused;
    refused.error = fetched.error;
    co_return refused;
  }
  auto added = co_await add_connection(config_dir, fetched.connection_string, tls, login.plaintext(), policy);
  co_return added;
}

}  // namespace hc::manager
