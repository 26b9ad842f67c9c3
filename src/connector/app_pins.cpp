// connector/app_pins: the accepted endpoints of App Service mode (see app_pins.hpp).
#include "connector/app_pins.hpp"

#include "proto/endpoint.hpp"
#include "util/private_file.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace hc::connector {
namespace json = boost::json;

namespace {

std::string endpoint_of(const endpoint_entry& e) {
  return e.endpoint_host + ":" + std::to_string(e.endpoint_port);
}

std::string accept_hint(const app_source& s) {
  return "run \"hcconnect --relay " + s.relay_url + " --app " + s.app +
         " app-accept\" (or start run-service with --follow-endpoints)";
}

}  // namespace

const pinned_endpoint* app_pins::find(std::string_view name) const {
  for (const auto& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}

std::string app_pins_path(const std::string& state_dir) {
  return (std::filesystem::path(state_dir) / "app-endpoints.json").string();
}

proto::result<app_pins> parse_app_pins(std::string_view text) {
  boost::system::error_code ec;
  auto doc = json::parse(text, ec);
  if (ec || !doc.is_object()) return proto::error::bad_request("app-endpoints.json: expected a JSON object");
  const auto& o = doc.as_object();
  auto string_of = [](const json::value* v) {
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  app_pins pins{string_of(o.if_contains("relay")), string_of(o.if_contains("app")), {}};
  const auto* list = o.if_contains("endpoints");
  if (!list || !list->is_array())
    return proto::error::bad_request("app-endpoints.json: no \"endpoints\" list");
  for (const auto& item : list->as_array()) {
    const auto* e = item.if_object();
    pinned_endpoint pin{e ? string_of(e->if_contains("name")) : "",
                        e ? string_of(e->if_contains("endpoint")) : ""};
    if (pin.name.empty() || pin.endpoint.empty())
      return proto::error::bad_request(
          "app-endpoints.json: every entry needs \"name\" and \"endpoint\" strings");
    pins.entries.push_back(std::move(pin));
  }
  return pins;
}

std::string serialize(const app_pins& pins) {
  json::array list;
  for (const auto& e : pins.entries) list.push_back(json::object{{"name", e.name}, {"endpoint", e.endpoint}});
  return json::serialize(json::object{{"relay", pins.relay_url}, {"app", pins.app}, {"endpoints", list}}) +
         "\n";
}

std::optional<app_pins> load_app_pins(const std::string& state_dir) {
  auto path = app_pins_path(state_dir);
  auto text = util::read_file(path);
  if (!text) return std::nullopt;
  auto pins = parse_app_pins(*text);
  if (!pins) throw std::runtime_error(path + ": " + pins.error().message);
  return std::move(*pins);
}

void save_app_pins(const std::string& state_dir, const app_pins& pins) {
  std::filesystem::create_directories(state_dir);
  util::write_private_file(app_pins_path(state_dir), serialize(pins));
}

app_pins pins_from(const endpoint_config& relay, const app_source& source) {
  app_pins pins{source.relay_url, source.app, {}};
  for (const auto& e : relay.entries) pins.entries.push_back({e.name, endpoint_of(e)});
  return pins;
}

std::vector<endpoint_change> changes_between(const app_pins& pins, const endpoint_config& relay) {
  std::vector<endpoint_change> out;
  for (const auto& e : relay.entries) {
    const auto* pin = pins.find(e.name);
    if (!pin || pin->endpoint != endpoint_of(e))
      out.push_back({e.name, endpoint_of(e), pin ? pin->endpoint : ""});
  }
  return out;
}

std::string waiting_sentence(const app_source& s, const endpoint_change& c) {
  return "app " + s.app + ": the relay names a new endpoint " + c.named + " for " + c.name +
         (c.pinned.empty() ? " (a hybrid connection not accepted before)"
                           : " (accepted: " + c.pinned + ", which stays in use)") +
         "; not used until accepted: " + accept_hint(s);
}

std::string followed_sentence(const app_source& s, const endpoint_change& c) {
  return "app " + s.app + ": " + c.name + ": endpoint " + c.named + " (" +
         (c.pinned.empty() ? std::string("new") : "was " + c.pinned) +
         "), following the relay (--follow-endpoints)";
}

app_decision decide_app_endpoints(const endpoint_config& relay, const app_source& source,
                                  const std::string& state_dir, const endpoint_config& previous) {
  auto pins = load_app_pins(state_dir);
  if (pins && (pins->app != source.app || pins->relay_url != source.relay_url))
    pins.reset();  // another app's
  app_decision d;
  d.first_use = !pins;
  if (!pins || source.follow_endpoints) {
    if (pins) d.followed = changes_between(*pins, relay);
    if (!pins || !d.followed.empty() || pins->entries.size() != relay.entries.size())
      save_app_pins(state_dir, pins_from(relay, source));
    d.config = relay;
    return d;
  }
  std::vector<endpoint_entry> held;
  for (auto e : relay.entries) {
    const auto* pin = pins->find(e.name);
    if (!pin) {
      d.waiting.push_back({e.name, endpoint_of(e), ""});
      continue;
    }
    if (pin->endpoint != endpoint_of(e)) {
      d.waiting.push_back({e.name, endpoint_of(e), pin->endpoint});
      auto pinned = proto::parse_endpoint(pin->endpoint);
      if (!pinned) continue;  // a pin edited by hand into nonsense: nothing to keep running
      e.endpoint_host = pinned->host;
      e.endpoint_port = pinned->port;
    }
    const auto* old = previous.find(e.name);
    e.loopback_address = old && old->endpoint_host == e.endpoint_host ? old->loopback_address : "";
    held.push_back(std::move(e));
  }
  // Kept addresses first, so that the ones picked afresh steer clear of them.
  std::stable_partition(held.begin(), held.end(), [](const auto& e) { return !e.loopback_address.empty(); });
  for (auto& e : held) d.config.upsert(std::move(e));
  return d;
}

}  // namespace hc::connector
