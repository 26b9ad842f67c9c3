// relay/model/app_operations: the operations on App Service plans, apps and their hybrid connections:
// validation, the plan limits (distinct hybrid connections per SKU, checked when an app adds one,
// when an app moves plans and when a plan changes SKU), then the store, then memory
// (app_directory and the catalog's app credentials). Every check-and-write runs on the store
// worker, which serialises them, so two concurrent adds cannot both take a plan's last slot.
// JSON views live in the API files (api/plans.cpp, api/apps.cpp).
#pragma once
#include "proto/error.hpp"
#include "relay/context.hpp"
#include "relay/model/app_directory.hpp"

#include <optional>
#include <string>

namespace hc::relay {

// 400 naming `field` unless `name` is 1..60 letters, digits, '.', '_' or '-' starting with a
// letter or digit (plans, apps, namespaces and rules).
proto::result<std::string> validate_resource_name(std::string_view field, std::string_view name);

enum class outcome { created, updated, unchanged };

// Creates the plan (sku required) or changes its SKU; a SKU below current use is a 409 naming
// the numbers.
net::task<proto::result<outcome>> put_plan(relay_context& ctx, std::string name, std::optional<sku> new_sku);
// 404 when unknown; 409 while apps are in it.
net::task<proto::result<void>> delete_plan(relay_context& ctx, std::string name);

// Creates the app in `plan` (with a fresh Send key) or moves it to `plan` (checking the target
// plan's limit against the union of its use and the app's hybrid connections).
net::task<proto::result<outcome>> put_app(relay_context& ctx, std::string name, std::string plan);
net::task<proto::result<void>> delete_app(relay_context& ctx, std::string name);
// A fresh Send key; tokens signed with the old one are refused from now on.
net::task<proto::result<void>> regenerate_app_key(relay_context& ctx, std::string name);

// The hybrid connection named, if an app can use it: it exists (404), requires client
// authorization and names an endpoint (400, as App Service requires).
proto::result<hc_ref> usable_hybrid_connection(relay_context& ctx, std::string_view ns,
                                               std::string_view name);
// The plan-limit check alone (409 naming plan, SKU, limit and current use), for callers that
// must know before they create something.
proto::result<void> check_plan_room(const app_state& state, const app_entry& app, const hc_ref& h);
// Moving `app` into plan `to`: 409 unless `to` holds the union of its use and the app's links.
proto::result<void> check_plan_move(const app_state& state, const app_entry& app,
                                    const store::plan_record& to);
// Changing `plan` to `new_sku`: 409 naming the numbers when it uses more than that SKU allows.
proto::result<void> check_plan_sku(const app_state& state, const store::plan_record& plan, sku new_sku);
// "Add hybrid connection": links it (created) or finds it linked already (unchanged).
net::task<proto::result<outcome>> link_hybrid_connection(relay_context& ctx, std::string app, hc_ref h);
// "Disconnect": 404 when the app does not use it.
net::task<proto::result<void>> unlink_hybrid_connection(relay_context& ctx, std::string app, hc_ref h);

}  // namespace hc::relay
