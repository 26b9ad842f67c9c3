// relay/model/app_directory: the in-memory App Service side of the model: plans (SKU and its limit on
// distinct hybrid connections), apps (plan, Send credential) and the hybrid connections each app
// uses. Immutable snapshots swapped under a lock (copy on write), like the catalog. It also keeps
// the catalog's per-entity app credentials ("app:{APP}" Send rules) in step with links and keys.
// Pure bookkeeping: checks and store writes live in relay/model/app_operations. Thread-safe.
#pragma once
#include "proto/error.hpp"
#include "relay/model/catalog.hpp"
#include "store/store.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hc::relay {

enum class sku { free, basic, standard, premium, isolated };
// Case-insensitive; 400 naming the allowed values.
proto::result<sku> parse_sku(std::string_view text);
std::string_view to_string(sku s);
// Distinct hybrid connections a plan of this SKU may use (Free 0, Basic 5, Standard 25,
// Premium and Isolated 200).
std::size_t hybrid_connection_limit(sku s);

// The SAS key name of an app's credential: "app:{APP}".
std::string app_key_name(std::string_view app);

// A hybrid connection as an app refers to it. `name` keeps the entity's own spelling.
struct hc_ref {
  std::string namespace_name;
  std::string name;
  std::string key() const;  // "namespace/lower-case name": equal for the same entity
  std::string to_string() const { return namespace_name + "/" + name; }
};

struct app_entry {
  store::app_record record;
  std::vector<hc_ref> links;  // in the order they were added
  bool uses(const hc_ref& h) const;
};

// One consistent view of plans, apps and links.
struct app_state {
  std::map<std::string, store::plan_record> plans;  // key: lower-case name
  std::map<std::string, app_entry> apps;            // key: lower-case name

  const store::plan_record* plan(std::string_view name) const;
  const app_entry* app(std::string_view name) const;
  std::vector<const app_entry*> apps_in_plan(std::string_view plan) const;
  // The distinct hybrid connections a plan's apps use, each with the names of those apps.
  std::map<std::string, std::pair<hc_ref, std::vector<std::string>>> plan_usage(std::string_view plan) const;
  // Every app (any plan) that uses `h`.
  std::vector<const app_entry*> apps_using(const hc_ref& h) const;
};

class app_directory {
 public:
  // Replaces everything from the store (at start-up, and when another relay changed it) and sets
  // the app credentials in `entities` of every hybrid connection linked before or now.
  void load(const store::snapshot& s, catalog& entities);
  std::shared_ptr<const app_state> current() const;

  // Mutations (callers have written the store). Each swaps in a changed copy and re-derives the
  // app credentials of the hybrid connections whose users changed.
  void put_plan(const store::plan_record& r);
  void remove_plan(std::string_view name);
  void put_app(const store::app_record& r, catalog& entities);
  void remove_app(std::string_view name, catalog& entities);
  void add_link(const store::app_link_record& r, catalog& entities);
  void remove_link(std::string_view app, const hc_ref& h, catalog& entities);
  // The hybrid connection was deleted: the store dropped its links; drop them here too.
  void forget_hybrid_connection(const hc_ref& h);

 private:
  void sync_app_rules(const app_state& state, const hc_ref& h, catalog& entities) const;

  mutable std::mutex mutex_;
  std::shared_ptr<const app_state> state_ = std::make_shared<app_state>();
};

}  // namespace hc::relay
