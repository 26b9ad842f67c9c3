// store/postgres_store: the PostgreSQL implementation of store::store, for relay nodes that share
// one catalog: the versioned schema and its migrations (serialised between nodes by an advisory
// lock), one parameterised statement per operation, the catalog revision every catalog write raises
// (and announces with NOTIFY hcrelay_catalog, payload the new revision, for nodes that LISTEN), and
// the usage rows that nodes add to concurrently (never raising or announcing the revision).
// Keys are stored as they are, as in SQLite: the database is the secret store, and what protects
// them is who may log in as, or read the tables of, its PostgreSQL role (the 0600 file is that
// protection for SQLite). Owns one session (postgres_session.hpp); calls are serialised by a mutex.
#include "store/postgres_session.hpp"
#include "store/record_rows.hpp"
#include "store/store.hpp"
#include "store/store_support.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <iterator>
#include <mutex>
#include <string_view>
#include <tuple>

namespace hc::store {
namespace {

using postgres::session;
using postgres::transaction;

// Each entry moves the schema from version i to i + 1 in one transaction. Append, never edit:
// databases in the field are at some earlier index. The semantics are SQLite's (sqlite_store.cpp):
// COLLATE "C" compares and orders like SQLite's BINARY, and a name that SQLite compares with
// NOCASE is keyed here by a generated lower(name) column (ASCII-only in "C", like NOCASE), which
// can carry a primary key and a foreign key where an expression index could not.
constexpr std::string_view migrations[] = {
    // 0 -> 1: the catalog as SQLite's schema version 3 has it.
    R"sql(
      CREATE TABLE catalog_revision (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        value bigint NOT NULL
      );
      INSERT INTO catalog_revision(value) VALUES (0);
      CREATE TABLE namespaces (
        name text COLLATE "C" PRIMARY KEY,
        host text COLLATE "C" NOT NULL,
        created_at text NOT NULL,
        updated_at text NOT NULL
      );
      CREATE UNIQUE INDEX namespaces_host_key ON namespaces (lower(host));
      CREATE TABLE hybrid_connections (
        namespace_name text COLLATE "C" NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
        name text COLLATE "C" NOT NULL,
        name_key text COLLATE "C" GENERATED ALWAYS AS (lower(name)) STORED,
        requires_client_authorization boolean NOT NULL,
        user_metadata text NOT NULL,
        created_at text NOT NULL,
        updated_at text NOT NULL,
        PRIMARY KEY (namespace_name, name_key)
      );
      CREATE TABLE rules (
        namespace_name text COLLATE "C" NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
        entity text COLLATE "C" NOT NULL,  -- '' for a namespace rule, so not a foreign key
        entity_key text COLLATE "C" GENERATED ALWAYS AS (lower(entity)) STORED,
        name text COLLATE "C" NOT NULL,
        rights bigint NOT NULL,
        primary_key text NOT NULL,
        secondary_key text NOT NULL,
        PRIMARY KEY (namespace_name, entity_key, name)
      );
      CREATE TABLE plans (
        name text COLLATE "C" NOT NULL,
        name_key text COLLATE "C" GENERATED ALWAYS AS (lower(name)) STORED PRIMARY KEY,
        sku text NOT NULL,
        created_at text NOT NULL,
        updated_at text NOT NULL
      );
      CREATE TABLE apps (
        name text COLLATE "C" NOT NULL,
        name_key text COLLATE "C" GENERATED ALWAYS AS (lower(name)) STORED PRIMARY KEY,
        plan_name text COLLATE "C" NOT NULL,
        plan_key text COLLATE "C" GENERATED ALWAYS AS (lower(plan_name)) STORED REFERENCES plans(name_key),
        send_key text NOT NULL,
        created_at text NOT NULL,
        updated_at text NOT NULL
      );
      CREATE INDEX apps_by_plan ON apps(plan_key);
      CREATE TABLE app_links (
        app_name text COLLATE "C" NOT NULL,
        app_key text COLLATE "C" GENERATED ALWAYS AS (lower(app_name)) STORED
          REFERENCES apps(name_key) ON DELETE CASCADE,
        namespace_name text COLLATE "C" NOT NULL,
        hc_name text COLLATE "C" NOT NULL,
        hc_key text COLLATE "C" GENERATED ALWAYS AS (lower(hc_name)) STORED,
        created_at text NOT NULL,
        PRIMARY KEY (app_key, namespace_name, hc_key),
        FOREIGN KEY (namespace_name, hc_key) REFERENCES hybrid_connections(namespace_name, name_key)
          ON DELETE CASCADE
      );
      CREATE INDEX app_links_by_hc ON app_links(namespace_name, hc_key);
    )sql",
    // 1 -> 2: usage per hybrid connection and clock hour, as SQLite's schema version 4 has it
    // (no foreign keys: billing history outlives its hybrid connection and namespace).
    R"sql(
      CREATE TABLE usage_hourly (
        namespace_name text COLLATE "C" NOT NULL,
        hc_name text COLLATE "C" NOT NULL,
        hour bigint NOT NULL,
        listener_seconds double precision NOT NULL,
        tunnels bigint NOT NULL,
        tunnel_seconds double precision NOT NULL,
        bytes_app_to_agent bigint NOT NULL,
        bytes_agent_to_app bigint NOT NULL,
        PRIMARY KEY (namespace_name, hc_name, hour)
      );
      CREATE INDEX usage_hourly_by_hour ON usage_hourly(hour);
    )sql",
    // 2 -> 3: the usage batches applied (store::add_usage), so that a retried batch counts once.
    R"sql(
      CREATE TABLE usage_batches (
        id text COLLATE "C" PRIMARY KEY,
        applied bigint NOT NULL
      );
      CREATE INDEX usage_batches_by_time ON usage_batches(applied);
    )sql",
};
constexpr int current_schema_version = static_cast<int>(std::size(migrations));

// pg_advisory_xact_lock key held while a node migrates ("hcrly" in ASCII).
constexpr const char* migration_lock_key = "448345042041";

// Writes run in READ COMMITTED whatever the server's default: upserts and the revision's row lock
// then wait for each other instead of failing with serialisation errors.
constexpr std::string_view begin_write = "BEGIN ISOLATION LEVEL READ COMMITTED";
constexpr std::string_view raise_revision =
    "WITH raised AS (UPDATE catalog_revision SET value = value + 1 RETURNING value) "
    "SELECT pg_notify('hcrelay_catalog', value::text) FROM raised";
constexpr std::string_view select_revision = "SELECT value FROM catalog_revision";
// One usage_record's amounts added to its row, which is created when absent, unless batch $9
// was applied already (then every row of the batch is left alone, and so is its name below).
constexpr std::string_view add_to_usage_row =
    "INSERT INTO usage_hourly(namespace_name, hc_name, hour, listener_seconds, tunnels, tunnel_seconds, "
    "bytes_app_to_agent, bytes_agent_to_app) SELECT $1::text, $2::text, $3::bigint, $4::double precision, "
    "$5::bigint, $6::double precision, $7::bigint, $8::bigint "
    "WHERE NOT EXISTS (SELECT 1 FROM usage_batches WHERE id = $9) "
    "ON CONFLICT(namespace_name, hc_name, hour) DO UPDATE SET "
    "listener_seconds = usage_hourly.listener_seconds + excluded.listener_seconds, "
    "tunnels = usage_hourly.tunnels + excluded.tunnels, "
    "tunnel_seconds = usage_hourly.tunnel_seconds + excluded.tunnel_seconds, "
    "bytes_app_to_agent = usage_hourly.bytes_app_to_agent + excluded.bytes_app_to_agent, "
    "bytes_agent_to_app = usage_hourly.bytes_agent_to_app + excluded.bytes_agent_to_app";
constexpr std::string_view record_usage_batch =
    "INSERT INTO usage_batches(id, applied) VALUES($1, $2) ON CONFLICT(id) DO NOTHING";

// One statement of a write and its parameters ($1, $2, ...).
struct step {
  std::string_view sql;
  std::vector<std::string> params;
};

std::string as_text(bool b) {
  return b ? "true" : "false";
}

// The shortest text that reads back as exactly `d` (std::to_string would round to 6 decimals).
std::string as_text(double d) {
  char text[32];  // the longest, e.g. -2.2250738585072014e-308, is 24
  return std::string(text, std::to_chars(std::begin(text), std::end(text), d).ptr);
}

// A double precision column: PostgreSQL (12 and later) writes the shortest exact text.
double real(const postgres::row& r, int column, std::string_view what) {
  std::string text = r.text(column);
  double d = 0;
  if (std::from_chars(text.data(), text.data() + text.size(), d).ec != std::errc{})
    throw store_error("postgres store: " + std::string(what) + ": not a number: " + text);
  return d;
}

class postgres_store final : public store {
 public:
  explicit postgres_store(const std::string& url) : session_(url) { migrate(); }

  snapshot load() override {
    std::lock_guard lock(mutex_);
    return session_.run("load the catalog", [&] {
      const std::string what = "load the catalog from " + session_.server();
      transaction tx(session_, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", what);
      snapshot s;
      s.revision = read_revision(what);
      read_all(rows::select(rows::namespace_columns, "FROM namespaces ORDER BY name"), what, s.namespaces,
               rows::read_namespace<postgres::row>);
      read_all(rows::select(rows::hybrid_connection_columns,
                            "FROM hybrid_connections ORDER BY namespace_name, name_key"),
               what, s.hybrid_connections, rows::read_hybrid_connection<postgres::row>);
      read_all(rows::select(rows::rule_columns, "FROM rules ORDER BY namespace_name, entity_key, name"), what,
               s.rules, rows::read_rule<postgres::row>);
      read_all(rows::select(rows::plan_columns, "FROM plans ORDER BY name_key"), what, s.plans,
               rows::read_plan<postgres::row>);
      read_all(rows::select(rows::app_columns, "FROM apps ORDER BY name_key"), what, s.apps,
               rows::read_app<postgres::row>);
      read_all(
          rows::select(rows::app_link_columns, "FROM app_links ORDER BY app_name, namespace_name, hc_key"),
          what, s.app_links, rows::read_app_link<postgres::row>);
      tx.commit();
      return s;
    });
  }

  std::int64_t revision() override {
    std::lock_guard lock(mutex_);
    return session_.run("read the catalog revision",
                        [&] { return read_revision("read the catalog revision"); });
  }

  void put_namespace(const namespace_record& r) override {
    write("put namespace " + r.name,
          {{"INSERT INTO namespaces(name, host, created_at, updated_at) VALUES($1, lower($2::text COLLATE "
            "\"C\"), $3, $4) "
            "ON CONFLICT(name) DO UPDATE SET host = excluded.host, created_at = excluded.created_at, "
            "updated_at = excluded.updated_at",
            {r.name, r.host, r.created_at, r.updated_at}}});
  }

  void put_hybrid_connection(const hybrid_connection_record& r) override {
    write("put hybrid connection " + qualified(r.namespace_name, r.name),
          {{"INSERT INTO hybrid_connections(namespace_name, name, requires_client_authorization, "
            "user_metadata, created_at, updated_at) VALUES($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT(namespace_name, name_key) DO UPDATE SET name = excluded.name, "
            "requires_client_authorization = excluded.requires_client_authorization, "
            "user_metadata = excluded.user_metadata, created_at = excluded.created_at, "
            "updated_at = excluded.updated_at",
            {r.namespace_name, r.name, as_text(r.requires_client_authorization), r.user_metadata,
             r.created_at, r.updated_at}}});
  }

  void put_rule(const rule_record& r) override {
    write("put rule " + qualified(qualified(r.namespace_name, r.entity), r.name),
          {{"INSERT INTO rules(namespace_name, entity, name, rights, primary_key, secondary_key) "
            "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT(namespace_name, entity_key, name) DO UPDATE SET "
            "entity = excluded.entity, rights = excluded.rights, primary_key = excluded.primary_key, "
            "secondary_key = excluded.secondary_key",
            {r.namespace_name, r.entity, r.name, std::to_string(r.rights), r.primary_key, r.secondary_key}}});
  }

  // Hybrid connections, rules and app links go with it through ON DELETE CASCADE.
  void delete_namespace(const std::string& name) override {
    write("delete namespace " + name, {{"DELETE FROM namespaces WHERE name = $1", {name}}});
  }

  // rules.entity cannot reference hybrid_connections (namespace rules use ''), so its rules are
  // deleted here, in the same transaction; its app links go through ON DELETE CASCADE.
  void delete_hybrid_connection(const std::string& namespace_name, const std::string& name) override {
    const std::string object = qualified(namespace_name, name);
    if (name.empty())
      throw store_error("postgres store: delete hybrid connection " + object + ": empty name");
    write("delete hybrid connection " + object,
          {{"DELETE FROM rules WHERE namespace_name = $1 AND entity_key = lower($2::text COLLATE \"C\")",
            {namespace_name, name}},
           {"DELETE FROM hybrid_connections WHERE namespace_name = $1 AND name_key = lower($2::text COLLATE "
            "\"C\")",
            {namespace_name, name}}});
  }

  void delete_rule(const std::string& namespace_name, const std::string& entity,
                   const std::string& name) override {
    write("delete rule " + qualified(qualified(namespace_name, entity), name),
          {{"DELETE FROM rules WHERE namespace_name = $1 AND entity_key = lower($2::text COLLATE \"C\") "
            "AND name = $3",
            {namespace_name, entity, name}}});
  }

  void put_plan(const plan_record& r) override {
    write("put plan " + r.name,
          {{"INSERT INTO plans(name, sku, created_at, updated_at) VALUES($1, $2, $3, $4) "
            "ON CONFLICT(name_key) DO UPDATE SET sku = excluded.sku, updated_at = excluded.updated_at",
            {r.name, r.sku, r.created_at, r.updated_at}}});
  }

  // Fails (foreign key) while apps are in the plan: the caller checks first and says so.
  void delete_plan(const std::string& name) override {
    write("delete plan " + name,
          {{"DELETE FROM plans WHERE name_key = lower($1::text COLLATE \"C\")", {name}}});
  }

  void put_app(const app_record& r) override {
    write(
        "put app " + r.name,
        {{"INSERT INTO apps(name, plan_name, send_key, created_at, updated_at) VALUES($1, $2, $3, $4, $5) "
          "ON CONFLICT(name_key) DO UPDATE SET plan_name = excluded.plan_name, send_key = excluded.send_key, "
          "updated_at = excluded.updated_at",
          {r.name, r.plan, r.send_key, r.created_at, r.updated_at}}});
  }

  // Its links go with it through ON DELETE CASCADE.
  void delete_app(const std::string& name) override {
    write("delete app " + name,
          {{"DELETE FROM apps WHERE name_key = lower($1::text COLLATE \"C\")", {name}}});
  }

  void put_app_link(const app_link_record& r) override {
    write("put app link " + r.app + " -> " + qualified(r.namespace_name, r.hc_name),
          {{"INSERT INTO app_links(app_name, namespace_name, hc_name, created_at) VALUES($1, $2, $3, $4) "
            "ON CONFLICT(app_key, namespace_name, hc_key) DO NOTHING",
            {r.app, r.namespace_name, r.hc_name, r.created_at}}});
  }

  void delete_app_link(const std::string& app, const std::string& namespace_name,
                       const std::string& hc_name) override {
    write("delete app link " + app + " -> " + qualified(namespace_name, hc_name),
          {{"DELETE FROM app_links WHERE app_key = lower($1::text COLLATE \"C\") AND namespace_name = $2 "
            "AND hc_key = lower($3::text COLLATE \"C\")",
            {app, namespace_name, hc_name}}});
  }

  std::optional<std::string> get_setting(const std::string& key) override {
    std::lock_guard lock(mutex_);
    const std::string what = "get setting " + key;
    return session_.run(what, [&]() -> std::optional<std::string> {
      auto r = session_.exec("SELECT value FROM settings WHERE key = $1", {key}, what);
      if (PQntuples(r.get()) == 0) return std::nullopt;
      return postgres::row{r.get(), 0}.text(0);
    });
  }

  void put_setting(const std::string& key, const std::string& value) override {
    write("put setting " + key, {{"INSERT INTO settings(key, value) VALUES($1, $2) "
                                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                  {key, value}}});
  }

  // Not a catalog write: no revision, no NOTIFY. Nodes add to the same rows at the same moment:
  // each upsert adds under the row's lock, and the rows are taken in key order so that two
  // nodes' transactions cannot deadlock. The batch's name goes in with the rows: a COMMIT whose
  // answer was lost and is retried by the session (postgres_session.hpp) or by the writer finds
  // the name and adds nothing.
  void add_usage(const std::string& batch, const std::vector<usage_record>& amounts) override {
    if (amounts.empty()) return;
    std::vector<const usage_record*> in_key_order;
    for (const auto& r : amounts) in_key_order.push_back(&r);
    std::sort(in_key_order.begin(), in_key_order.end(), [](const usage_record* a, const usage_record* b) {
      return std::tie(a->namespace_name, a->hc_name, a->hour) <
             std::tie(b->namespace_name, b->hc_name, b->hour);
    });
    std::vector<step> steps;
    for (const usage_record* r : in_key_order)
      steps.push_back(
          {add_to_usage_row,
           {r->namespace_name, r->hc_name, std::to_string(r->hour), as_text(r->listener_seconds),
            std::to_string(r->tunnels), as_text(r->tunnel_seconds), std::to_string(r->bytes_app_to_agent),
            std::to_string(r->bytes_agent_to_app), batch}});
    steps.push_back({record_usage_batch, {batch, std::to_string(std::time(nullptr))}});
    in_transaction("add usage to " + session_.server(), steps);
  }

  std::vector<usage_record> usage(std::int64_t from, std::int64_t to) override {
    std::lock_guard lock(mutex_);
    const std::string what = "read usage from " + session_.server();
    return session_.run(what, [&] {
      auto r = session_.exec(
          "SELECT namespace_name, hc_name, hour, listener_seconds, tunnels, tunnel_seconds, "
          "bytes_app_to_agent, bytes_agent_to_app FROM usage_hourly WHERE hour >= $1 AND hour < $2 "
          "ORDER BY hour, namespace_name, hc_name",
          {std::to_string(from), std::to_string(to)}, what);
      std::vector<usage_record> out;
      for (int i = 0, n = PQntuples(r.get()); i < n; ++i) {
        postgres::row q{r.get(), i};
        out.push_back({q.text(0), q.text(1), q.integer(2), real(q, 3, what), q.integer(4), real(q, 5, what),
                       q.integer(6), q.integer(7)});
      }
      return out;
    });
  }

  std::size_t prune_usage(std::int64_t before) override {
    std::lock_guard lock(mutex_);
    const std::string what = "prune usage before " + std::to_string(before);
    return session_.run(what, [&] {
      session_.exec("DELETE FROM usage_batches WHERE applied < $1", {std::to_string(before)}, what);
      auto r = session_.exec("DELETE FROM usage_hourly WHERE hour < $1", {std::to_string(before)}, what);
      return static_cast<std::size_t>(std::stoull(PQcmdTuples(r.get())));
    });
  }

 private:
  // A catalog write: under the lock, in one transaction, `steps`, then the revision raised
  // (store::revision) and announced.
  void write(const std::string& what, std::vector<step> steps) {
    steps.push_back({raise_revision, {}});
    in_transaction(what, steps);
  }

  // Under the lock, in one write transaction: `steps` and nothing else.
  void in_transaction(const std::string& what, const std::vector<step>& steps) {
    std::lock_guard lock(mutex_);
    session_.run(what, [&] {
      transaction tx(session_, begin_write, what);
      for (const auto& s : steps) session_.exec(s.sql, s.params, what);
      tx.commit();
    });
  }

  std::int64_t read_revision(std::string_view what) {
    auto r = session_.exec(select_revision, {}, what);
    if (PQntuples(r.get()) != 1)
      throw store_error("postgres store: " + std::string(what) + ": the catalog_revision row is missing");
    return postgres::row{r.get(), 0}.integer(0);
  }

  // Every row `select` returns, built by `read` (record_rows.hpp), appended to `out`.
  template <class Record, class Read>
  void read_all(const std::string& select, std::string_view what, std::vector<Record>& out, Read read) {
    auto r = session_.exec(select, {}, what);
    for (int i = 0, n = PQntuples(r.get()); i < n; ++i) out.push_back(read(postgres::row{r.get(), i}));
  }

  // Applies the missing migrations, each in its own transaction with the version bump, under an
  // advisory lock so that nodes starting together migrate one after the other (the later one
  // finds the work done). READ COMMITTED: each statement after the lock sees what the previous
  // holder committed. Refuses a database from a newer release.
  void migrate() {
    const std::string what = "migrate the schema of " + session_.server();
    session_.run(what, [&] {
      for (;;) {
        transaction tx(session_, begin_write, what);
        session_.exec("SELECT pg_advisory_xact_lock($1)", {migration_lock_key}, what);
        session_.exec_script(
            "CREATE TABLE IF NOT EXISTS settings (key text COLLATE \"C\" PRIMARY KEY, value text NOT NULL)",
            what);
        int version = checked_schema_version(read_stored_schema_version(what), current_schema_version,
                                             "postgres store: open " + session_.server());
        if (version == current_schema_version) {
          tx.commit();
          return;
        }
        session_.exec_script(migrations[version], what + " to version " + std::to_string(version + 1));
        session_.exec(
            "INSERT INTO settings(key, value) VALUES('schema_version', $1) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            {std::to_string(version + 1)}, what);
        tx.commit();
      }
    });
  }

  std::optional<std::string> read_stored_schema_version(std::string_view what) {
    auto r = session_.exec("SELECT value FROM settings WHERE key = 'schema_version'", {}, what);
    if (PQntuples(r.get()) == 0) return std::nullopt;
    return postgres::row{r.get(), 0}.text(0);
  }

  std::mutex mutex_;  // one call at a time on the session
  session session_;
};

}  // namespace

std::unique_ptr<store> open_postgres_store(const std::string& url) {
  return std::make_unique<postgres_store>(url);
}

}  // namespace hc::store
