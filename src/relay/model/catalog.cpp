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

}  // namespace

void catalog::load(const store::snapshot& s) {
  std::map<std::string, std::shared_ptr<namespace_entry>> fresh;
  std::map<std::string, std::string> hosts;
  for (const auto& n : s.namespaces) {
    auto e = std::make_shared<namespace_entry>();
    e->record = n;
    hosts[proto::to_lower(n.host)] = n.name;
    fresh[n.name] = e;
  }
  for (const auto& h : s.hybrid_connections) {
    auto it = fresh.find(h.namespace_name);
    if (it == fresh.end()) continue;
    auto entity = std::make_shared<hybrid_connection>();
    entity->record = h;
    entity->live = std::make_shared<listener_set>();
    it->second->hybrid_connections[proto::to_lower(h.name)] = entity;
  }
  for (const auto& r : s.rules) {
    auto it = fresh.find(r.namespace_name);
    if (it == fresh.end()) continue;
    if (r.entity.empty()) {
      it->second->rules.push_back(make_auth_rule(r));
      continue;
    }
    auto hc_it = it->second->hybrid_connections.find(proto::to_lower(r.entity));
    if (hc_it == it->second->hybrid_connections.end()) continue;
    auto copy = std::make_shared<hybrid_connection>(*hc_it->second);
    copy->rules.push_back(make_auth_rule(r));
    hc_it->second = copy;
  }
  std::unique_lock lock(mutex_);
  by_name_.clear();
  for (auto& [k, v] : fresh) by_name_[k] = v;
  name_by_host_ = std::move(hosts);
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
    if (it == ns.hybrid_connections.end()) return;
    auto e = std::make_shared<hybrid_connection>(*it->second);
    e->app_rules = std::move(rules);
    it->second = e;
  });
}

}  // namespace hc::relay
