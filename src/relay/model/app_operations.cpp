// relay/model/app_operations: plan, app and link operations with the plan limits (see the header).
#include "relay/model/app_operations.hpp"

#include "proto/encoding.hpp"
#include "proto/endpoint.hpp"
#include "relay/model/hc_operations.hpp"

#include <spdlog/spdlog.h>

namespace hc::relay {
namespace {

std::string plan_text(const store::plan_record& p) {
  return "App Service plan '" + p.name + "' (" + p.sku + ")";
}

std::string names(const std::vector<std::string>& items, std::size_t max = 8) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < max; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > max) out += ", ...";
  return out;
}

proto::error no_app(std::string_view name) {
  return proto::error::not_found("app '" + std::string(name) + "' does not exist (see GET /api/v1/apps)");
}

proto::error no_plan(std::string_view name) {
  return proto::error::not_found("App Service plan '" + std::string(name) +
                                 "' does not exist (see GET /api/v1/plans)");
}

// The SKU a plan record holds (written by put_plan, so it parses).
sku sku_of(const store::plan_record& p) {
  auto s = parse_sku(p.sku);
  return s ? *s : sku::free;
}

}  // namespace

proto::result<std::string> validate_resource_name(std::string_view field, std::string_view name) {
  auto bad = [&](std::string why) {
    return proto::error::bad_request(std::string(field) + ": " + proto::quote_for_message(name) + " " + why);
  };
  if (name.empty() || name.size() > 60) return bad("must be 1 to 60 characters long");
  if (!std::isalnum(static_cast<unsigned char>(name.front())))
    return bad("must start with a letter or digit");
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return bad("may contain only letters, digits, '.', '_' and '-'");
  return std::string(name);
}

net::task<proto::result<outcome>> put_plan(relay_context& ctx, std::string name, std::optional<sku> new_sku) {
  co_return co_await ctx.on_store([&]() -> proto::result<outcome> {
    auto state = ctx.apps.current();
    const auto* existing = state->plan(name);
    if (!existing && !new_sku)
      return proto::error::bad_request(
          "sku: required to create a plan (Free, Basic, Standard, Premium or Isolated)");
    auto now = utc_now_iso();
    store::plan_record r;
    if (existing) {
      r = *existing;
      if (!new_sku || to_string(*new_sku) == existing->sku) return outcome::unchanged;
      if (auto fits = check_plan_sku(*state, *existing, *new_sku); !fits) return fits.error();
    } else {
      r.name = name;
      r.created_at = now;
    }
    r.sku = std::string(to_string(*new_sku));
    r.updated_at = now;
    ctx.db->put_plan(r);
    ctx.apps.put_plan(r);
    spdlog::info("plan {} {} ({})", existing ? "updated" : "created", r.name, r.sku);
    return existing ? outcome::updated : outcome::created;
  });
}

net::task<proto::result<void>> delete_plan(relay_context& ctx, std::string name) {
  co_return co_await ctx.on_store([&]() -> proto::result<void> {
    auto state = ctx.apps.current();
    const auto* p = state->plan(name);
    if (!p) return no_plan(name);
    auto apps = state->apps_in_plan(p->name);
    if (!apps.empty()) {
      std::vector<std::string> app_names;
      for (const auto* a : apps) app_names.push_back(a->record.name);
      return proto::error::conflict(plan_text(*p) + " still has " + std::to_string(apps.size()) +
                                    " app(s): " + names(app_names) + "; delete or move them first");
    }
    ctx.db->delete_plan(p->name);
    ctx.apps.remove_plan(p->name);
    spdlog::info("plan deleted {}", name);
    return {};
  });
}

proto::result<void> check_plan_room(const app_state& state, const app_entry& app, const hc_ref& h) {
  const auto* p = state.plan(app.record.plan);
  if (!p) return no_plan(app.record.plan);
  auto usage = state.plan_usage(p->name);
  if (usage.contains(h.key())) return {};  // already counted: a hybrid connection counts once per plan
  auto limit = hybrid_connection_limit(sku_of(*p));
  if (usage.size() < limit) return {};
  if (limit == 0)
    return proto::error::conflict(plan_text(*p) +
                                  " cannot use hybrid connections (limit 0, in use 0): scale it to "
                                  "Basic, Standard, Premium or Isolated");
  std::vector<std::string> used;
  for (const auto& [k, u] : usage) used.push_back(u.first.to_string());
  return proto::error::conflict(plan_text(*p) + " allows " + std::to_string(limit) +
                                " distinct hybrid connections and already uses " +
                                std::to_string(usage.size()) + " (" + names(used) +
                                "): disconnect one, reuse one of these, or scale the plan up");
}

proto::result<void> check_plan_move(const app_state& state, const app_entry& app,
                                    const store::plan_record& to) {
  // The target plan must hold the union of its use and this app's hybrid connections.
  auto usage = state.plan_usage(to.name);
  std::size_t total = usage.size();
  for (const auto& l : app.links) total += usage.contains(l.key()) ? 0 : 1;
  auto limit = hybrid_connection_limit(sku_of(to));
  if (total <= limit) return {};
  return proto::error::conflict("moving app '" + app.record.name + "' would make " + plan_text(to) + " use " +
                                std::to_string(total) + " distinct hybrid connections; it allows " +
                                std::to_string(limit) + " and uses " + std::to_string(usage.size()));
}

proto::result<void> check_plan_sku(const app_state& state, const store::plan_record& plan, sku new_sku) {
  auto used = state.plan_usage(plan.name).size();
  auto limit = hybrid_connection_limit(new_sku);
  if (used <= limit) return {};
  return proto::error::conflict(plan_text(plan) + " uses " + std::to_string(used) +
                                " distinct hybrid connections and " + std::string(to_string(new_sku)) +
                                " allows " + std::to_string(limit) + ": disconnect " +
                                std::to_string(used - limit) + " first, or choose a larger SKU");
}

net::task<proto::result<outcome>> put_app(relay_context& ctx, std::string name, std::string plan) {
  co_return co_await ctx.on_store([&]() -> proto::result<outcome> {
    auto state = ctx.apps.current();
    const auto* p = state->plan(plan);
    if (!p) return no_plan(plan);
    const auto* existing = state->app(name);
    auto now = utc_now_iso();
    store::app_record r;
    if (existing) {
      if (proto::iequals(existing->record.plan, p->name)) return outcome::unchanged;
      if (auto fits = check_plan_move(*state, *existing, *p); !fits) return fits.error();
      r = existing->record;
    } else {
      r.name = name;
      r.send_key = new_sas_key();
      r.created_at = now;
    }
    r.plan = p->name;
    r.updated_at = now;
    ctx.db->put_app(r);
    ctx.apps.put_app(r, ctx.entities);
    spdlog::info("app {} {} in plan {}", existing ? "moved" : "created", r.name, r.plan);
    return existing ? outcome::updated : outcome::created;
  });
}

net::task<proto::result<void>> delete_app(relay_context& ctx, std::string name) {
  co_return co_await ctx.on_store([&]() -> proto::result<void> {
    auto state = ctx.apps.current();
    const auto* a = state->app(name);
    if (!a) return no_app(name);
    std::string real = a->record.name;
    ctx.db->delete_app(real);
    ctx.apps.remove_app(real, ctx.entities);
    spdlog::info("app deleted {}", real);
    return {};
  });
}

net::task<proto::result<void>> regenerate_app_key(relay_context& ctx, std::string name) {
  co_return co_await ctx.on_store([&]() -> proto::result<void> {
    auto state = ctx.apps.current();
    const auto* a = state->app(name);
    if (!a) return no_app(name);
    auto r = a->record;
    r.send_key = new_sas_key();
    r.updated_at = utc_now_iso();
    ctx.db->put_app(r);
    ctx.apps.put_app(r, ctx.entities);
    spdlog::info("app {}: Send key regenerated", r.name);
    return {};
  });
}

proto::result<hc_ref> usable_hybrid_connection(relay_context& ctx, std::string_view ns_name,
                                               std::string_view name) {
  auto ns = ctx.entities.by_name(ns_name);
  if (!ns) return proto::error::not_found("namespace '" + std::string(ns_name) + "' does not exist");
  auto it = ns->hybrid_connections.find(proto::to_lower(name));
  if (it == ns->hybrid_connections.end())
    return proto::error::not_found("hybrid connection '" + std::string(name) +
                                   "' does not exist in namespace '" + std::string(ns_name) + "'");
  const auto& h = *it->second;
  if (!h.record.requires_client_authorization)
    return proto::error::bad_request(
        "hybrid connection '" + h.name() +
        "' does not require client authorization; apps can use only hybrid connections "
        "that do (recreate it, or set requiresClientAuthorization)");
  if (auto ep = proto::endpoint_from_user_metadata(h.record.user_metadata); !ep)
    return proto::error::bad_request("hybrid connection '" + h.name() + "' has no endpoint metadata (" +
                                     ep.error().message + "); set its endpoint HOST:PORT first");
  return hc_ref{ns->record.name, h.name()};
}

net::task<proto::result<outcome>> link_hybrid_connection(relay_context& ctx, std::string app, hc_ref h) {
  co_return co_await ctx.on_store([&]() -> proto::result<outcome> {
    auto state = ctx.apps.current();
    const auto* a = state->app(app);
    if (!a) return no_app(app);
    if (a->uses(h)) return outcome::unchanged;
    if (auto room = check_plan_room(*state, *a, h); !room) return room.error();
    store::app_link_record r{a->record.name, h.namespace_name, h.name, utc_now_iso()};
    ctx.db->put_app_link(r);
    ctx.apps.add_link(r, ctx.entities);
    spdlog::info("app {}: added hybrid connection {}", a->record.name, h.to_string());
    return outcome::created;
  });
}

net::task<proto::result<void>> unlink_hybrid_connection(relay_context& ctx, std::string app, hc_ref h) {
  co_return co_await ctx.on_store([&]() -> proto::result<void> {
    auto state = ctx.apps.current();
    const auto* a = state->app(app);
    if (!a) return no_app(app);
    auto it =
        std::find_if(a->links.begin(), a->links.end(), [&](const hc_ref& l) { return l.key() == h.key(); });
    if (it == a->links.end())
      return proto::error::not_found("app '" + a->record.name + "' does not use hybrid connection " +
                                     h.to_string());
    hc_ref real = *it;
    std::string app_name = a->record.name;
    ctx.db->delete_app_link(app_name, real.namespace_name, real.name);
    ctx.apps.remove_link(app_name, real, ctx.entities);
    spdlog::info("app {}: disconnected hybrid connection {}", app_name, real.to_string());
    return {};
  });
}

}  // namespace hc::relay
