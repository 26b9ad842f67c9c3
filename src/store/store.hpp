// store/store: persistence of the management model behind a small interface (SQLite is the
// embedded default: sqlite_store.cpp; PostgreSQL is shared by the nodes of a cluster:
// postgres_store.cpp). Synchronous: callers run it off the I/O threads (the relay uses one store
// worker thread). The relay caches everything in memory; the store is read in full at start-up
// and written on every management change, never on the connection path.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hc::store {

struct namespace_record {
  std::string name;        // unique, e.g. "localhost" or "contoso"
  std::string host;        // host name clients use (the relay routes by Host header), lower-case, unique
  std::string created_at;  // ISO 8601 UTC, e.g. 2026-11-29T09:00:00Z
  std::string updated_at;
  bool operator==(const namespace_record&) const = default;
};

struct hybrid_connection_record {
  std::string namespace_name;
  std::string name;  // entity path, case kept; unique per namespace case-insensitively
  bool requires_client_authorization = true;
  std::string user_metadata;  // raw string, e.g. [{"key":"endpoint","value":"db:5432"}]
  std::string created_at;
  std::string updated_at;
  bool operator==(const hybrid_connection_record&) const = default;
};

// An authorization rule on a namespace (entity empty) or on one hybrid connection.
struct rule_record {
  std::string namespace_name;
  std::string entity;   // hybrid connection name, or "" for a namespace rule
  std::string name;     // e.g. RootManageSharedAccessKey, defaultListener
  unsigned rights = 0;  // bit set of proto::rights (listen=1, send=2, manage=4)
  std::string primary_key;
  std::string secondary_key;
  bool operator==(const rule_record&) const = default;
};

// An App Service plan: its SKU bounds how many distinct hybrid connections its apps may use.
struct plan_record {
  std::string name;  // unique case-insensitively
  std::string sku;   // Free, Basic, Standard, Premium or Isolated
  std::string created_at;
  std::string updated_at;
};

// An app in a plan, with its own Send credential (SAS key name "app:{name}").
struct app_record {
  std::string name;  // unique case-insensitively
  std::string plan;
  std::string send_key;  // a secret, never logged
  std::string created_at;
  std::string updated_at;
};

// An app's use of a hybrid connection ("Add hybrid connection"; deleting it is "Disconnect").
// Deleting the hybrid connection or the app deletes the link.
struct app_link_record {
  std::string app;
  std::string namespace_name;
  std::string hc_name;
  std::string created_at;
};

// What one hybrid connection used in one clock hour (UTC), as the relay counts it
// (relay/usage_recorder). Kept apart from the catalog: never in a snapshot, never a revision.
struct usage_record {
  std::string namespace_name;
  std::string hc_name;
  std::int64_t hour = 0;        // Unix seconds of the hour's start (a multiple of 3600)
  double listener_seconds = 0;  // connected listeners' time in the hour, summed (connection-hours x 3600)
  std::int64_t tunnels = 0;     // tunnels opened in the hour
  double tunnel_seconds = 0;    // time tunnels were open in the hour, summed
  std::int64_t bytes_app_to_agent = 0;
  std::int64_t bytes_agent_to_app = 0;
  bool operator==(const usage_record&) const = default;
};

struct snapshot {
  std::int64_t revision = 0;  // store::revision() as of the transaction that read these rows
  std::vector<namespace_record> namespaces;
  std::vector<hybrid_connection_record> hybrid_connections;
  std::vector<rule_record> rules;
  std::vector<plan_record> plans;
  std::vector<app_record> apps;
  std::vector<app_link_record> app_links;
};

// Errors throw store_error with a message naming the operation and the object.
struct store_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class store {
 public:
  virtual ~store() = default;
  // Every row, read in one transaction (a consistent snapshot) together with its revision.
  virtual snapshot load() = 0;
  // Change detection. A counter kept in the database: every write below (put_*, delete_*,
  // put_setting) raises it in the same transaction as its change, whichever store object, process
  // or relay node made the write; reads never raise it. It only grows (by at least one per write;
  // a write that changed nothing, such as deleting an absent rule, may raise it too) and is
  // comparable only within one database. A node that polls revision() and finds it above its
  // snapshot's revision calls load() and then knows the revision its new snapshot reflects.
  // A fresh database is at revision 0.
  virtual std::int64_t revision() = 0;
  // Insert or replace by key (namespace name / (namespace, name) / (namespace, entity, name)).
  virtual void put_namespace(const namespace_record& r) = 0;
  virtual void put_hybrid_connection(const hybrid_connection_record& r) = 0;
  virtual void put_rule(const rule_record& r) = 0;
  // Deleting a hybrid connection deletes its rules; deleting a namespace deletes everything in it.
  virtual void delete_namespace(const std::string& name) = 0;
  virtual void delete_hybrid_connection(const std::string& namespace_name, const std::string& name) = 0;
  virtual void delete_rule(const std::string& namespace_name, const std::string& entity,
                           const std::string& name) = 0;
  // Plans, apps and links. A plan with apps cannot be deleted (store_error); deleting an app
  // deletes its links.
  virtual void put_plan(const plan_record& r) = 0;
  virtual void delete_plan(const std::string& name) = 0;
  virtual void put_app(const app_record& r) = 0;
  virtual void delete_app(const std::string& name) = 0;
  virtual void put_app_link(const app_link_record& r) = 0;
  virtual void delete_app_link(const std::string& app, const std::string& namespace_name,
                               const std::string& hc_name) = 0;
  // Schema-free key/value settings (e.g. the relay's generated data version).
  virtual std::optional<std::string> get_setting(const std::string& key) = 0;
  virtual void put_setting(const std::string& key, const std::string& value) = 0;
  // Usage: adds each record's amounts to its (namespace, hybrid connection, hour) row, creating
  // it, all in one transaction (several relay nodes add to the same rows). Not a catalog change:
  // the revision stays where it is. `batch` names this write (unique per node and write): a batch
  // already applied is not added again, so a write retried after its COMMIT's answer was lost
  // counts once. Batch names are kept until prune_usage passes their time.
  virtual void add_usage(const std::string& batch, const std::vector<usage_record>& amounts) = 0;
  // The rows with from <= hour < to (Unix seconds), ordered by hour, namespace, hybrid connection.
  virtual std::vector<usage_record> usage(std::int64_t from, std::int64_t to) = 0;
  // Deletes the rows whose hour is before `before` (and the batch names applied before it); how
  // many rows went.
  virtual std::size_t prune_usage(std::int64_t before) = 0;
};

// Opens (creating when absent) an SQLite database in WAL mode with the schema migrated to the
// current version; the file is created with mode 0600 (it holds keys).
std::unique_ptr<store> open_sqlite_store(const std::string& path);

// Connects to PostgreSQL at `url`, a libpq URI (postgres://user[:password]@host:port/db?...,
// or postgresql://...), and migrates the schema to the current version; several nodes may do so
// at the same moment. A lost session is re-established once per call; when PostgreSQL cannot be
// reached the call (or this function) throws store_error naming host:port/db, never the password.
// Each write also sends NOTIFY hcrelay_catalog (payload: the new revision) for nodes that LISTEN;
// polling revision() is enough without it.
std::unique_ptr<store> open_postgres_store(const std::string& url);

}  // namespace hc::store
