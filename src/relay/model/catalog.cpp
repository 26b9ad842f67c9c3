// relay/model/catalog: copy-on-write namespace snapshots (see catalog.hpp).
#include "relay/model/catalog.hpp"

#include "proto/encoding.hpp"
#include "proto/hc_address.hpp"
#include "relay/listener_set.hpp"

#include <mutex>

namespace hc::relay {

auth_rule make_auth_rule(store::rule_record r) {
  auth_rule rule;
  rule.primary = std::make_shared<proto::sas_key>(r.primary_key);
  rule.secondary = std::make_shared<proto::sas_key>(r.secondary_key);
  rule.record = std::move(r);
  return rule;
}

namespace {

void replace_rule(std::vector<auth_rule>& rules, const store::rule_record& r) {
  std::erase_if(rules, [&](const auth_rule& x) { return x.record.name == r.name; });
  rules.push_back(make_auth_rule(r));
}

bool same_rules(const std::vector<auth_rule>& a, const std::vector<auth_rule>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auth_rule& x, const auth_rule& y) { return x.record == y.record; });
}

bool same_entity(const hybrid_connection& a, const hybrid_connection& b) {
  return a.record == b.record && same_rules(a.rules, b.rules) && same_rules(a.app_rules, b.app_rules);
}

bool same_namespace(const namespace_entry& a, const namespace_entry& b) {
  return a.record == b.record && same_rules(a.rules, b.rules) &&
         std::equal(a.hybrid_connections.begin(), a.hybrid_connections.end(), b.hybrid_connections.begin(),
                    b.hybrid_connections.end(),
                    [](const auto& x, const auto& y) { return x.first == y.first && x.second == y.second; });
}

// One namespace as `s` has it. An entity that existed keeps its listener set and app credentials
// (app_directory re-derives those) and, when nothing of it changed, its very object.
std::shared_ptr<namespace_entry> build_namespace(const store::snapshot& s, const store::namespace_record& n,
                                                 const namespace_entry* before) {
  auto ns = std::make_shared<namespace_entry>();
  ns->record = n;
  std::map<std::string, std::shared_ptr<hybrid_connection>> entities;
  for (const auto& h : s.hybrid_connections) {
    if (h.namespace_name != n.name) continue;
    auto e = std::make_shared<hybrid_connection>();
    e->record = h;
    entities[proto::to_lower(h.name)] = e;
  }
  for (const auto& r : s.rules) {
    if (r.namespace_name != n.name) continue;
    if (r.entity.empty()) {
      ns->rules.push_back(make_auth_rule(r));
    } else if (auto it = entities.find(proto::to_lower(r.entity)); it != entities.end()) {
      it->second->rules.push_back(make_auth_rule(r));
    }
  }
  for (auto& [key, e] : entities) {
    std::shared_ptr<const hybrid_connection> old;
    if (before)
      if (auto it = before->hybrid_connections.find(key); it != before->hybrid_connections.end())
        old = it->second;
    if (!old) {
      e->live = std::make_shared<listener_set>();
      ns->hybrid_connections[key] = e;
      continue;
    }
    e->live = old->live;
    e->app_rules = old->app_rules;
    ns->hybrid_connections[key] = same_entity(*e, *old) ? old : e;
  }
  return ns;
}

}  // namespace

void catalog::reconcile(const store::snapshot& s) {
  std::vector<std::pair<std::shared_ptr<const namespace_entry>, std::shared_ptr<const namespace_entry>>>
      changed;
  {
    // Under the lock throughout: a change made meanwhile through this relay (already in the
    // store, so in `s` too) cannot be lost between reading and replacing.
    std::unique_lock lock(mutex_);
    std::map<std::string, std::shared_ptr<const namespace_entry>> fresh;
    std::map<std::string, std::string> hosts;
    for (const auto& n : s.namespaces) {
      auto old = by_name_.find(n.name);
      const namespace_entry* before = old == by_name_.end() ? nullptr : old->second.get();
      auto ns = build_namespace(s, n, before);
      hosts[proto::to_lower(n.host)] = n.name;
      if (before && same_namespace(*before, *ns)) {
        fresh[n.name] = old->second;
        continue;
      }
      fresh[n.name] = ns;
      changed.emplace_back(before ? old->second : nullptr, ns);
    }
    for (const auto& [name, old] : by_name_) {
      if (fresh.contains(name)) continue;
      auto emptied = std::make_shared<namespace_entry>();  // its listeners hear the entities are gone
      emptied->record = old->record;
      changed.emplace_back(old, emptied);
    }
    by_name_ = std::move(fresh);
    name_by_host_ = std::move(hosts);
  }
  for (const auto& [before, after] : changed) notify(before, *after);
}

std::shared_ptr<const namespace_entry> catalog::by_host(std::string_view host) const {
  std::shared_lock lock(mutex_);
  auto it = name_by_host_.find(proto::to_lower(host));
  if (it == name_by_host_.end()) return nullptr;
  auto ns = by_name_.find(it->second);
  return ns == by_name_.end() ? nullptr : ns->second;
}

std::shared_ptr<const namespace_entry> catalog::by_name(std::string_view name) const {
  std::shared_lock lock(mutex_);
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const namespace_entry>> catalog::namespaces() const {
  std::shared_lock lock(mutex_);
  std::vector<std::shared_ptr<const namespace_entry>> out;
  for (const auto& [k, v] : by_name_) out.push_back(v);
  return out;
}

std::optional<resolved_path> catalog::resolve(const namespace_entry& ns, std::string_view path) {
  // Longest registered prefix that ends on a segment boundary: try the whole path, then drop
  // one trailing segment at a time.
  std::string lower = proto::to_lower(path);
  std::size_t end = lower.size();
  for (;;) {
    auto it = ns.hybrid_connections.find(lower.substr(0, end));
    if (it != ns.hybrid_connections.end()) {
      std::string suffix(path.substr(end));
      if (!suffix.empty() && suffix.front() == '/') suffix.erase(0, 1);
      return resolved_path{it->second, suffix};
    }
    auto slash = lower.rfind('/', end == 0 ? 0 : end - 1);
    if (slash == std::string::npos || end == 0) return std::nullopt;
    end = slash;
  }
}

void catalog::notify(const std::shared_ptr<const namespace_entry>& before,
                     const namespace_entry& after) const {
  if (observer_) observer_(before.get(), after);
}

template <class F>
void catalog::modify(std::string_view ns_name, F&& change) {
  std::shared_ptr<const namespace_entry> before;
  std::shared_ptr<namespace_entry> after;
  {
    std::unique_lock lock(mutex_);
    auto it = by_name_.find(std::string(ns_name));
    if (it == by_name_.end()) return;
    before = it->second;
    after = std::make_shared<namespace_entry>(*before);
    change(*after);
    it->second = after;
  }
  notify(before, *after);
}

void catalog::put_namespace(const store::namespace_record& r) {
  std::shared_ptr<const namespace_entry> before;
  auto after = std::make_shared<namespace_entry>();
  {
    std::unique_lock lock(mutex_);
    auto it = by_name_.find(r.name);
    if (it != by_name_.end()) {
      before = it->second;
      *after = *before;
      std::erase_if(name_by_host_, [&](const auto& kv) { return kv.second == r.name; });
    }
    after->record = r;
    by_name_[r.name] = after;
    name_by_host_[proto::to_lower(r.host)] = r.name;
  }
  notify(before, *after);
}

void catalog::put_hybrid_connection(const store::hybrid_connection_record& r) {
  modify(r.namespace_name, [&](namespace_entry& ns) {
    auto key = proto::to_lower(r.name);
    auto it = ns.hybrid_connections.find(key);
    auto e = std::make_shared<hybrid_connection>();
    if (it != ns.hybrid_connections.end()) {
      *e = *it->second;
    } else {
      e->live = std::make_shared<listener_set>();
    }
    e->record = r;
    ns.hybrid_connections[key] = e;
  });
}

void catalog::remove_hybrid_connection(std::string_view ns, std::string_view name) {
  modify(ns, [&](namespace_entry& n) { n.hybrid_connections.erase(proto::to_lower(name)); });
}

void catalog::put_rule(const store::rule_record& r) {
  modify(r.namespace_name, [&](namespace_entry& ns) {
    if (r.entity.empty()) {
      replace_rule(ns.rules, r);
      return;
    }
    auto it = ns.hybrid_connections.find(proto::to_lower(r.entity));
    if (it == ns.hybrid_connections.end()) return;
    auto e = std::make_shared<hybrid_connection>(*it->second);
    replace_rule(e->rules, r);
    it->second = e;
  });
}

void catalog::remove_rule(std::string_view ns_name, std::string_view entity, std::string_view name) {
  modify(ns_name, [&](namespace_entry& ns) {
    auto by = [&](const auth_rule& x) { return x.record.name == name; };
    if (entity.empty()) {
      std::erase_if(ns.rules, by);
      return;
    }
    auto it = ns.hybrid_connections.find(proto::to_lower(entity));
    if (it == ns.hybrid_connections.end()) return;
    auto e = std::make_shared<hybrid_connection>(*it->second);
    std::erase_if(e->rules, by);
    it->second = e;
  });
}

void catalog::set_app_rules(std::string_view ns_name, std::string_view entity, std::vector<auth_rule> rules) {
  modify(ns_name, [&](namespace_entry& ns) {
    auto it = ns.hybrid_connections.find(proto::to_lower(entity));
    if (it == ns.hybrid_connections.end() || same_rules(it->second->app_rules, rules)) return;
    auto e = std::make_shared<hybrid_connection>(*it->second);
    e->app_rules = std::move(rules);
    it->second = e;
  });
}

}  // namespace hc::relay
