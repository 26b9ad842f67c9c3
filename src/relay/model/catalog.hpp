// relay/model/catalog: the in-memory model the connection path reads: namespaces by host, hybrid
// connections by path, authorization rules with prepared HMAC keys. Entries are immutable
// snapshots swapped under a lock (copy on write), so a lookup is one shared lock and a map
// find; no SQL on the connection path. Changes come from relay/model/hc_operations, which writes the
// store first. Live listener state hangs off each hybrid connection (listener_registry).
#pragma once
#include "proto/sas.hpp"
#include "store/store.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace hc::relay {

class listener_set;  // listener_set.hpp

struct auth_rule {
  store::rule_record record;
  std::shared_ptr<const proto::sas_key> primary;
  std::shared_ptr<const proto::sas_key> secondary;
  proto::rights rights() const { return proto::rights(record.rights); }
};

struct hybrid_connection {
  store::hybrid_connection_record record;
  std::vector<auth_rule> rules;
  // Send rules "app:{APP}" of the apps that use this hybrid connection (relay/model/app_directory
  // keeps them in step with the links and app keys). Not management rules: never listed.
  std::vector<auth_rule> app_rules;
  std::shared_ptr<listener_set> live;  // same object for the entity's whole life (survives updates)
  const std::string& name() const { return record.name; }
};

struct namespace_entry {
  store::namespace_record record;
  std::vector<auth_rule> rules;
  // key: lower-case hybrid connection name
  std::map<std::string, std::shared_ptr<const hybrid_connection>> hybrid_connections;
  const std::string& host() const { return record.host; }
};

// What a request path names: the hybrid connection (longest registered segment prefix) and the
// rest of the path (the sender's suffix).
struct resolved_path {
  std::shared_ptr<const hybrid_connection> entity;
  std::string suffix;
};

auth_rule make_auth_rule(store::rule_record r);

class catalog {
 public:
  // Makes the catalog what the store says (at start-up, and when another relay changed it). An
  // entity that still exists keeps its listener set and app credentials (app_directory::load
  // re-derives those), and its very object when nothing of it changed; the observer hears of
  // every namespace that changed (one that is gone: as emptied, before it is dropped).
  void reconcile(const store::snapshot& s);

  std::shared_ptr<const namespace_entry> by_host(std::string_view host) const;
  std::shared_ptr<const namespace_entry> by_name(std::string_view name) const;
  std::vector<std::shared_ptr<const namespace_entry>> namespaces() const;
  static std::optional<resolved_path> resolve(const namespace_entry& ns, std::string_view path);

  // Mutations (callers have written the store). Each replaces the namespace snapshot.
  void put_namespace(const store::namespace_record& r);
  void put_hybrid_connection(const store::hybrid_connection_record& r);
  // Its listeners are closed by the observer (the entity is gone from `after`).
  void remove_hybrid_connection(std::string_view ns, std::string_view name);
  void put_rule(const store::rule_record& r);
  void remove_rule(std::string_view ns, std::string_view entity, std::string_view name);
  // Replaces the app credentials that may send to one hybrid connection.
  void set_app_rules(std::string_view ns, std::string_view entity, std::vector<auth_rule> rules);

  // Called after every mutation of a namespace, outside the lock, with the entry before (null
  // for a new namespace) and after; the relay re-checks its listeners there. Set once at
  // start-up, before any session runs.
  using observer = std::function<void(const namespace_entry* before, const namespace_entry& after)>;
  void on_change(observer o) { observer_ = std::move(o); }

 private:
  template <class F>
  void modify(std::string_view ns_name, F&& change);
  void notify(const std::shared_ptr<const namespace_entry>& before, const namespace_entry& after) const;

  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<const namespace_entry>> by_name_;  // key: name
  std::map<std::string, std::string> name_by_host_;                        // lower-case host -> name
  observer observer_;
};

}  // namespace hc::relay
