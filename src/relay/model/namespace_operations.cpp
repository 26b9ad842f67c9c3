// relay/model/namespace_operations: namespaces and authorization rules (see the header).
#include "relay/model/namespace_operations.hpp"

#include "proto/encoding.hpp"
#include "relay/model/hc_operations.hpp"

#include <spdlog/spdlog.h>

namespace hc::relay {
namespace {

std::string scope_text(const rule_scope& s) {
  return s.entity.empty() ? "namespace '" + s.namespace_name + "'"
                          : "hybrid connection '" + s.namespace_name + "/" + s.entity + "'";
}

// The rules of `scope` in `ns`, and the entity's own spelling; 404 for an unknown entity.
proto::result<std::pair<std::vector<auth_rule>, std::string>> rules_of(const namespace_entry& ns,
                                                                       const rule_scope& scope) {
  if (scope.entity.empty()) return std::pair{ns.rules, std::string()};
  auto it = ns.hybrid_connections.find(proto::to_lower(scope.entity));
  if (it == ns.hybrid_connections.end())
    return proto::error::not_found("hybrid connection '" + scope.entity + "' does not exist in namespace '" +
                                   ns.record.name + "'");
  return std::pair{it->second->rules, it->second->name()};
}

proto::result<std::shared_ptr<const namespace_entry>> find_namespace(relay_context& ctx,
                                                                     std::string_view name) {
  auto ns = ctx.entities.by_name(name);
  if (!ns)
    return proto::error::not_found("namespace '" + std::string(name) +
                                   "' does not exist (see GET /api/v1/namespaces)");
  return ns;
}

const store::rule_record* find(const std::vector<auth_rule>& rules, std::string_view name) {
  for (const auto& r : rules)
    if (r.record.name == name) return &r.record;
  return nullptr;
}

// The rules of one scope: its namespace, its rules and the entity's own spelling ("" for the
// namespace); 404 for an unknown namespace or entity.
struct scoped_rules {
  std::shared_ptr<const namespace_entry> ns;
  std::vector<auth_rule> rules;
  std::string entity;
  const std::string& namespace_name() const { return ns->record.name; }
};

proto::result<scoped_rules> load_rules(relay_context& ctx, const rule_scope& scope) {
  auto ns = find_namespace(ctx, scope.namespace_name);
  if (!ns) return ns.error();
  auto rules = rules_of(**ns, scope);
  if (!rules) return rules.error();
  return scoped_rules{*ns, std::move(rules->first), std::move(rules->second)};
}

// The rule called `name` in the scope, or 404.
proto::result<store::rule_record> existing_rule(const scoped_rules& in, const rule_scope& scope,
                                                const std::string& name) {
  const auto* existing = find(in.rules, name);
  if (!existing)
    return proto::error::not_found(scope_text(scope) + " has no authorization rule '" + name + "'");
  return *existing;
}

}  // namespace

proto::result<std::string> validate_host_name(std::string_view host) {
  auto bad = [&](std::string why) {
    return proto::error::bad_request("host: " + proto::quote_for_message(host) + " " + why);
  };
  if (host.empty() || host.size() > 253) return bad("must be a DNS name of 1 to 253 characters");
  if (host.front() == '.' || host.back() == '.' || host.find("..") != std::string_view::npos)
    return bad("must not start or end with '.' or contain '..'");
  for (char c : host) {
    if (c == ':') return bad("must not carry a port (the relay ignores the port when it routes by Host)");
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.')
      return bad("may contain only letters, digits, '-' and '.'");
  }
  return proto::to_lower(host);
}

net::task<proto::result<outcome>> put_namespace(relay_context& ctx, std::string name, std::string host) {
  co_return co_await ctx.on_store([&]() -> proto::result<outcome> {
    auto existing = ctx.entities.by_name(name);
    if (auto other = ctx.entities.by_host(host); other && other->record.name != name)
      return proto::error::conflict("host: '" + host + "' is already served by namespace '" +
                                    other->record.name + "'");
    auto now = utc_now_iso();
    store::namespace_record r{name, host, now, now};
    if (existing) {
      if (existing->host() == host) return outcome::unchanged;
      r.created_at = existing->record.created_at;
    }
    ctx.db->put_namespace(r);
    ctx.entities.put_namespace(r);
    if (!existing) {
      unsigned all = unsigned(proto::rights::manage | proto::rights::listen | proto::rights::send);
      store::rule_record root{name, "", "RootManageSharedAccessKey", all, new_sas_key(), new_sas_key()};
      ctx.db->put_rule(root);
      ctx.entities.put_rule(root);
    }
    spdlog::info("namespace {} {} at host {}", existing ? "updated" : "created", name, host);
    return existing ? outcome::updated : outcome::created;
  });
}

proto::result<std::vector<store::rule_record>> list_rules(relay_context& ctx, const rule_scope& scope) {
  auto in = load_rules(ctx, scope);
  if (!in) return in.error();
  std::vector<store::rule_record> out;
  for (const auto& r : in->rules) out.push_back(r.record);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

net::task<proto::result<outcome>> put_rule(relay_context& ctx, rule_scope scope, std::string name,
                                           proto::rights rights) {
  co_return co_await ctx.on_store([&]() -> proto::result<outcome> {
    auto in = load_rules(ctx, scope);
    if (!in) return in.error();
    const auto* existing = find(in->rules, name);
    store::rule_record r;
    if (existing) {
      if (existing->rights == unsigned(rights)) return outcome::unchanged;
      r = *existing;
    } else {
      if (in->rules.size() >= max_rules_per_scope)
        return proto::error::conflict(scope_text(scope) + " already has " + std::to_string(in->rules.size()) +
                                      " authorization rules, the limit is " +
                                      std::to_string(max_rules_per_scope) + ": delete one first");
      r = {in->namespace_name(), in->entity, name, 0, new_sas_key(), new_sas_key()};
    }
    r.rights = unsigned(rights);
    ctx.db->put_rule(r);
    ctx.entities.put_rule(r);
    spdlog::info("rule {} {} on {} ({})", existing ? "updated" : "created", name, scope_text(scope),
                 proto::to_string(rights));
    return existing ? outcome::updated : outcome::created;
  });
}

net::task<proto::result<void>> delete_rule(relay_context& ctx, rule_scope scope, std::string name) {
  co_return co_await ctx.on_store([&]() -> proto::result<void> {
    auto in = load_rules(ctx, scope);
    if (!in) return in.error();
    auto existing = existing_rule(*in, scope, name);
    if (!existing) return existing.error();
    if (scope.entity.empty() && proto::grants(proto::rights(existing->rights), proto::rights::manage)) {
      auto managers = std::count_if(in->rules.begin(), in->rules.end(), [](const auth_rule& r) {
        return proto::grants(r.rights(), proto::rights::manage);
      });
      if (managers == 1)
        return proto::error::conflict("rule '" + name + "' is the last Manage rule of " + scope_text(scope) +
                                      ": create another Manage rule before deleting it");
    }
    ctx.db->delete_rule(in->namespace_name(), in->entity, name);
    ctx.entities.remove_rule(in->namespace_name(), in->entity, name);
    spdlog::info("rule deleted {} on {}", name, scope_text(scope));
    return {};
  });
}

net::task<proto::result<store::rule_record>> regenerate_rule_key(relay_context& ctx, rule_scope scope,
                                                                 std::string name, key_slot slot) {
  co_return co_await ctx.on_store([&]() -> proto::result<store::rule_record> {
    auto in = load_rules(ctx, scope);
    if (!in) return in.error();
    auto existing = existing_rule(*in, scope, name);
    if (!existing) return existing.error();
    auto r = *existing;
    (slot == key_slot::primary ? r.primary_key : r.secondary_key) = new_sas_key();
    ctx.db->put_rule(r);
    ctx.entities.put_rule(r);
    spdlog::info("rule {} on {}: {} key regenerated", name, scope_text(scope),
                 slot == key_slot::primary ? "primary" : "secondary");
    return r;
  });
}

}  // namespace hc::relay
