// relay/model/app_directory: plans, apps and links in memory (see app_directory.hpp).
#include "relay/model/app_directory.hpp"

#include "proto/encoding.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace hc::relay {
namespace {

struct sku_info {
  sku value;
  std::string_view name;
  std::size_t limit;
};
// App Service's hybrid connections per plan, by pricing tier; Free has none.
constexpr sku_info skus[] = {{sku::free, "Free", 0},
                             {sku::basic, "Basic", 5},
                             {sku::standard, "Standard", 25},
                             {sku::premium, "Premium", 200},
                             {sku::isolated, "Isolated", 200}};

}  // namespace

proto::result<sku> parse_sku(std::string_view text) {
  for (const auto& s : skus)
    if (proto::iequals(s.name, text)) return s.value;
  return proto::error::bad_request("sku: expected Free, Basic, Standard, Premium or Isolated, got " +
                                   proto::quote_for_message(text));
}

std::string_view to_string(sku s) {
  return skus[int(s)].name;
}

std::size_t hybrid_connection_limit(sku s) {
  return skus[int(s)].limit;
}

std::string app_key_name(std::string_view app) {
  return "app:" + std::string(app);
}

std::string hc_ref::key() const {
  return namespace_name + "/" + proto::to_lower(name);
}

bool app_entry::uses(const hc_ref& h) const {
  auto k = h.key();
  return std::any_of(links.begin(), links.end(), [&](const hc_ref& l) { return l.key() == k; });
}

const store::plan_record* app_state::plan(std::string_view name) const {
  auto it = plans.find(proto::to_lower(name));
  return it == plans.end() ? nullptr : &it->second;
}

const app_entry* app_state::app(std::string_view name) const {
  auto it = apps.find(proto::to_lower(name));
  return it == apps.end() ? nullptr : &it->second;
}

std::vector<const app_entry*> app_state::apps_in_plan(std::string_view plan) const {
  std::vector<const app_entry*> out;
  for (const auto& [k, a] : apps)
    if (proto::iequals(a.record.plan, plan)) out.push_back(&a);
  return out;
}

std::map<std::string, std::pair<hc_ref, std::vector<std::string>>> app_state::plan_usage(
    std::string_view plan) const {
  std::map<std::string, std::pair<hc_ref, std::vector<std::string>>> out;
  for (const auto* a : apps_in_plan(plan))
    for (const auto& l : a->links) {
      auto [it, fresh] = out.try_emplace(l.key(), l, std::vector<std::string>{});
      it->second.second.push_back(a->record.name);
    }
  return out;
}

std::vector<const app_entry*> app_state::apps_using(const hc_ref& h) const {
  std::vector<const app_entry*> out;
  for (const auto& [k, a] : apps)
    if (a.uses(h)) out.push_back(&a);
  return out;
}

void app_directory::load(const store::snapshot& s, catalog& entities) {
  auto fresh = std::make_shared<app_state>();
  for (const auto& p : s.plans) fresh->plans[proto::to_lower(p.name)] = p;
  for (const auto& a : s.apps) fresh->apps[proto::to_lower(a.name)] = app_entry{a, {}};
  for (const auto& l : s.app_links) {
    auto it = fresh->apps.find(proto::to_lower(l.app));
    if (it != fresh->apps.end()) it->second.links.push_back({l.namespace_name, l.hc_name});
  }
  std::shared_ptr<const app_state> before;
  {
    std::lock_guard lock(mutex_);
    before = std::exchange(state_, fresh);
  }
  // Every hybrid connection linked before or now: one whose last link went loses those keys.
  std::map<std::string, hc_ref> linked;
  const std::array<const app_state*, 2> states{before.get(), fresh.get()};
  for (const auto* state : states) {
    if (!state) continue;
    for (const auto& [k, a] : state->apps)
      for (const auto& l : a.links) linked.emplace(l.key(), l);
  }
  for (const auto& [k, h] : linked) sync_app_rules(*fresh, h, entities);
}

std::shared_ptr<const app_state> app_directory::current() const {
  std::lock_guard lock(mutex_);
  return state_;
}

void app_directory::sync_app_rules(const app_state& state, const hc_ref& h, catalog& entities) const {
  std::vector<auth_rule> rules;
  for (const auto* a : state.apps_using(h))
    rules.push_back(make_auth_rule({h.namespace_name, h.name, app_key_name(a->record.name),
                                    unsigned(proto::rights::send), a->record.send_key, a->record.send_key}));
  entities.set_app_rules(h.namespace_name, h.name, std::move(rules));
}

void app_directory::put_plan(const store::plan_record& r) {
  std::lock_guard lock(mutex_);
  auto copy = std::make_shared<app_state>(*state_);
  copy->plans[proto::to_lower(r.name)] = r;
  state_ = copy;
}

void app_directory::remove_plan(std::string_view name) {
  std::lock_guard lock(mutex_);
  auto copy = std::make_shared<app_state>(*state_);
  copy->plans.erase(proto::to_lower(name));
  state_ = copy;
}

void app_directory::put_app(const store::app_record& r, catalog& entities) {
  std::shared_ptr<app_state> copy;
  std::vector<hc_ref> links;
  {
    std::lock_guard lock(mutex_);
    copy = std::make_shared<app_state>(*state_);
    auto& entry = copy->apps[proto::to_lower(r.name)];
    entry.record = r;
    links = entry.links;
    state_ = copy;
  }
  for (const auto& l : links) sync_app_rules(*copy, l, entities);  // the key may have changed
}

void app_directory::remove_app(std::string_view name, catalog& entities) {
  std::shared_ptr<app_state> copy;
  std::vector<hc_ref> links;
  {
    std::lock_guard lock(mutex_);
    copy = std::make_shared<app_state>(*state_);
    auto it = copy->apps.find(proto::to_lower(name));
    if (it == copy->apps.end()) return;
    links = it->second.links;
    copy->apps.erase(it);
    state_ = copy;
  }
  for (const auto& l : links) sync_app_rules(*copy, l, entities);
}

void app_directory::add_link(const store::app_link_record& r, catalog& entities) {
  std::shared_ptr<app_state> copy;
  hc_ref h{r.namespace_name, r.hc_name};
  {
    std::lock_guard lock(mutex_);
    copy = std::make_shared<app_state>(*state_);
    auto it = copy->apps.find(proto::to_lower(r.app));
    if (it == copy->apps.end() || it->second.uses(h)) return;
    it->second.links.push_back(h);
    state_ = copy;
  }
  sync_app_rules(*copy, h, entities);
}

void app_directory::remove_link(std::string_view app, const hc_ref& h, catalog& entities) {
  std::shared_ptr<app_state> copy;
  {
    std::lock_guard lock(mutex_);
    copy = std::make_shared<app_state>(*state_);
    auto it = copy->apps.find(proto::to_lower(app));
    if (it == copy->apps.end()) return;
    auto k = h.key();
    std::erase_if(it->second.links, [&](const hc_ref& l) { return l.key() == k; });
    state_ = copy;
  }
  sync_app_rules(*copy, h, entities);
}

void app_directory::forget_hybrid_connection(const hc_ref& h) {
  std::lock_guard lock(mutex_);
  auto copy = std::make_shared<app_state>(*state_);
  auto k = h.key();
  for (auto& [name, a] : copy->apps) std::erase_if(a.links, [&](const hc_ref& l) { return l.key() == k; });
  state_ = copy;
}

}  // namespace hc::relay
