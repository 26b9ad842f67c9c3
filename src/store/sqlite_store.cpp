// store/sqlite_store: the SQLite implementation of store::store — file creation (mode 0600), WAL
// pragmas, the versioned schema and its migrations, one prepared statement per operation, the
// catalog revision every catalog write raises, and the usage rows (which never raise it). Owns one
// sqlite3 connection for its whole life. Not the in-memory model (that is the relay's cache) nor
// timestamps (callers fill created_at/updated_at). Calls are serialised by a mutex; callers still
// run it off the I/O threads (store.hpp).
#include "store/record_rows.hpp"
#include "store/store.hpp"
#include "store/store_support.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <iterator>
#include <mutex>
#include <string_view>

namespace hc::store {
namespace {

// Each entry moves the schema from version i to i + 1 in one transaction. Append, never edit:
// databases in the field are at some earlier index.
constexpr std::string_view migrations[] = {
    // 0 -> 1: namespaces, hybrid connections and their authorization rules.
    R"sql(
      CREATE TABLE namespaces (
        name TEXT PRIMARY KEY NOT NULL,
        host TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE hybrid_connections (
        namespace_name TEXT NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
        name TEXT NOT NULL COLLATE NOCASE,
        requires_client_authorization INTEGER NOT NULL,
        user_metadata TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (namespace_name, name)
      );
      CREATE TABLE rules (
        namespace_name TEXT NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
        entity TEXT NOT NULL COLLATE NOCASE,  -- '' for a namespace rule, so not a foreign key
        name TEXT NOT NULL,
        rights INTEGER NOT NULL,
        primary_key TEXT NOT NULL,
        secondary_key TEXT NOT NULL,
        PRIMARY KEY (namespace_name, entity, name)
      );
    )sql",
    // 1 -> 2: App Service plans, apps (with their Send credential) and the hybrid connections
    // each app uses. A link goes with its app and with its hybrid connection.
    R"sql(
      CREATE TABLE plans (
        name TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,
        sku TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE apps (
        name TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,
        plan_name TEXT NOT NULL REFERENCES plans(name),
        send_key TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE app_links (
        app_name TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
        namespace_name TEXT NOT NULL,
        hc_name TEXT NOT NULL COLLATE NOCASE,
        created_at TEXT NOT NULL,
        PRIMARY KEY (app_name, namespace_name, hc_name),
        FOREIGN KEY (namespace_name, hc_name) REFERENCES hybrid_connections(namespace_name, name)
          ON DELETE CASCADE
      );
      CREATE INDEX app_links_by_hc ON app_links(namespace_name, hc_name);
    )sql",
    // 2 -> 3: the catalog revision (store::revision), one row that every write raises.
    R"sql(
      CREATE TABLE catalog_revision (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        value INTEGER NOT NULL
      );
      INSERT INTO catalog_revision(id, value) VALUES(1, 0);
    )sql",
    // 3 -> 4: usage per hybrid connection and clock hour (store::add_usage). No foreign keys: the
    // rows are billing history and outlive their hybrid connection and namespace. Ranges of hours
    // (usage, prune_usage) use the index.
    R"sql(
      CREATE TABLE usage_hourly (
        namespace_name TEXT NOT NULL,
        hc_name TEXT NOT NULL,
        hour INTEGER NOT NULL,
        listener_seconds REAL NOT NULL,
        tunnels INTEGER NOT NULL,
        tunnel_seconds REAL NOT NULL,
        bytes_app_to_agent INTEGER NOT NULL,
        bytes_agent_to_app INTEGER NOT NULL,
        PRIMARY KEY (namespace_name, hc_name, hour)
      );
      CREATE INDEX usage_hourly_by_hour ON usage_hourly(hour);
    )sql",
    // 4 -> 5: the usage batches applied (store::add_usage), so that a retried batch counts once.
    R"sql(
      CREATE TABLE usage_batches (
        id TEXT PRIMARY KEY,
        applied INTEGER NOT NULL
      );
      CREATE INDEX usage_batches_by_time ON usage_batches(applied);
    )sql",
};
constexpr int current_schema_version = static_cast<int>(std::size(migrations));

struct db_closer {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using db_handle = std::unique_ptr<sqlite3, db_closer>;

struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using stmt_handle = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

[[noreturn]] void fail(sqlite3* db, std::string_view op, std::string_view object) {
  throw store_error("sqlite store: " + std::string(op) + " " + std::string(object) + ": " +
                    (db ? sqlite3_errmsg(db) : "out of memory"));
}

[[noreturn]] void fail_errno(std::string_view op, const std::string& path) {
  throw store_error("sqlite store: " + std::string(op) + " " + path + ": " + std::strerror(errno));
}

// Creates the file with mode 0600 before SQLite sees it (SQLite would use 0644 & ~umask), and
// tightens an existing file that is group- or world-accessible: it holds keys.
void create_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) fail_errno("create database file", path);
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && ((st.st_mode & 077) == 0 || ::fchmod(fd, 0600) == 0);
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (!ok) fail_errno("set mode 0600 on", path);
}

// SQLite creates -wal and -shm with the database file's mode; chmod them anyway in case they were
// left behind by an older process with a looser mode. Absent files are fine.
void tighten_sidecar_files(const std::string& path) {
  for (const char* suffix : {"-wal", "-shm"}) {
    std::string p = path + suffix;
    if (::chmod(p.c_str(), 0600) != 0 && errno != ENOENT) fail_errno("set mode 0600 on", p);
  }
}

// A prepared statement used once per call: binds, steps, and resets itself when the use ends.
class statement {
 public:
  statement(sqlite3* db, std::string_view sql) : db_(db) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s,
                           nullptr) != SQLITE_OK)
      fail(db, "prepare", sql);
    stmt_.reset(s);
  }

  // One use of the statement; the destructor resets it and clears its bindings.
  class use {
   public:
    explicit use(statement& s) : s_(s) {}
    use(const use&) = delete;
    use& operator=(const use&) = delete;
    ~use() {
      sqlite3_reset(s_.stmt_.get());
      sqlite3_clear_bindings(s_.stmt_.get());
    }
    use& bind(int i, const std::string& v) {
      check(sqlite3_bind_text(s_.stmt_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
      return *this;
    }
    use& bind(int i, std::int64_t v) {
      check(sqlite3_bind_int64(s_.stmt_.get(), i, v));
      return *this;
    }
    use& bind(int i, double v) {
      check(sqlite3_bind_double(s_.stmt_.get(), i, v));
      return *this;
    }
    // Returns true while a row is available; throws on error, naming op and object.
    bool step(std::string_view op, std::string_view object) {
      int rc = sqlite3_step(s_.stmt_.get());
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) return false;
      fail(s_.db_, op, object);
    }
    std::string text(int col) const {
      auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_.stmt_.get(), col));
      return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_.stmt_.get(), col))) : "";
    }
    std::int64_t integer(int col) const { return sqlite3_column_int64(s_.stmt_.get(), col); }
    double real(int col) const { return sqlite3_column_double(s_.stmt_.get(), col); }
    bool flag(int col) const { return integer(col) != 0; }

   private:
    void check(int rc) {
      if (rc != SQLITE_OK) fail(s_.db_, "bind", sqlite3_sql(s_.stmt_.get()));
    }
    statement& s_;
  };

 private:
  sqlite3* db_;  // owned by sqlite_store, which outlives its statements
  stmt_handle stmt_;
};

void exec(sqlite3* db, std::string_view sql, std::string_view op) {
  char* err = nullptr;
  if (sqlite3_exec(db, std::string(sql).c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    throw store_error("sqlite store: " + std::string(op) + ": " + msg);
  }
}

// `begin` on construction (BEGIN IMMEDIATE for writes: the write lock up front, so no deadlock
// upgrading a read; plain BEGIN for a read snapshot); rolls back unless commit() was reached.
class transaction {
 public:
  transaction(sqlite3* db, std::string_view op, std::string_view begin = "BEGIN IMMEDIATE")
      : db_(db), op_(op) {
    exec(db_, begin, op_);
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction() {
    if (!committed_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);  // already failing
  }
  void commit() {
    exec(db_, "COMMIT", op_);
    committed_ = true;
  }

 private:
  sqlite3* db_;
  std::string op_;
  bool committed_ = false;  // set only after COMMIT succeeded
};

class sqlite_store final : public store {
 public:
  explicit sqlite_store(const std::string& path) : path_(path), db_(open(path)) {
    migrate();
    tighten_sidecar_files(path_);
    prepare_statements();
  }

  snapshot load() override {
    std::lock_guard lock(mutex_);
    transaction tx(db_.get(), "load " + path_, "BEGIN");
    snapshot s;
    s.revision = read_revision();
    read_all(*select_namespaces_, "namespaces", s.namespaces, rows::read_namespace<statement::use>);
    read_all(*select_hybrid_connections_, "hybrid connections", s.hybrid_connections,
             rows::read_hybrid_connection<statement::use>);
    read_all(*select_rules_, "rules", s.rules, rows::read_rule<statement::use>);
    read_all(*select_plans_, "plans", s.plans, rows::read_plan<statement::use>);
    read_all(*select_apps_, "apps", s.apps, rows::read_app<statement::use>);
    read_all(*select_app_links_, "app links", s.app_links, rows::read_app_link<statement::use>);
    tx.commit();
    return s;
  }

  // Every row `select` returns, built by `read` (record_rows.hpp), appended to `out`.
  template <class Record, class Read>
  void read_all(statement& select, std::string_view what, std::vector<Record>& out, Read read) {
    statement::use q(select);
    while (q.step("load " + std::string(what) + " from", path_)) out.push_back(read(q));
  }

  std::int64_t revision() override {
    std::lock_guard lock(mutex_);
    return read_revision();
  }

  // One write statement: binds `args` to ?1, ?2, ... and runs it in a write transaction.
  template <class... Args>
  void write(statement& st, std::string_view op, std::string_view object, const Args&... args) {
    in_write_transaction(op, object, [&] { run(st, op, object, args...); });
  }

  // A catalog write: under the lock, in one transaction, `steps`, then the revision raised
  // (store::revision).
  template <class Steps>
  void in_write_transaction(std::string_view op, std::string_view object, Steps steps) {
    in_transaction(op, object, [&] {
      steps();
      run(*raise_revision_, op, object);
    });
  }

  // Under the lock, in one write transaction: `steps` and nothing else.
  template <class Steps>
  void in_transaction(std::string_view op, std::string_view object, Steps steps) {
    std::lock_guard lock(mutex_);
    transaction tx(db_.get(), std::string(op) + " " + std::string(object));
    steps();
    tx.commit();
  }

  // Binds `args` to ?1, ?2, ... and steps once; throws with `op` and `object` on failure.
  template <class... Args>
  static void run(statement& st, std::string_view op, std::string_view object, const Args&... args) {
    statement::use q(st);
    int index = 0;
    (q.bind(++index, args), ...);
    q.step(op, object);
  }

  void put_namespace(const namespace_record& r) override {
    write(*upsert_namespace_, "put namespace", r.name, r.name, r.host, r.created_at, r.updated_at);
  }

  void put_hybrid_connection(const hybrid_connection_record& r) override {
    write(*upsert_hybrid_connection_, "put hybrid connection", qualified(r.namespace_name, r.name),
          r.namespace_name, r.name, std::int64_t{r.requires_client_authorization}, r.user_metadata,
          r.created_at, r.updated_at);
  }

  void put_rule(const rule_record& r) override {
    write(*upsert_rule_, "put rule", qualified(qualified(r.namespace_name, r.entity), r.name),
          r.namespace_name, r.entity, r.name, std::int64_t{r.rights}, r.primary_key, r.secondary_key);
  }

  // Hybrid connections and rules go with it through ON DELETE CASCADE.
  void delete_namespace(const std::string& name) override {
    write(*delete_namespace_, "delete namespace", name, name);
  }

  // rules.entity cannot reference hybrid_connections (namespace rules use ''), so its rules are
  // deleted here, in the same transaction.
  void delete_hybrid_connection(const std::string& namespace_name, const std::string& name) override {
    const std::string object = qualified(namespace_name, name);
    if (name.empty()) throw store_error("sqlite store: delete hybrid connection " + object + ": empty name");
    in_write_transaction("delete hybrid connection", object, [&] {
      run(*delete_entity_rules_, "delete rules of hybrid connection", object, namespace_name, name);
      run(*delete_hybrid_connection_, "delete hybrid connection", object, namespace_name, name);
    });
  }

  void delete_rule(const std::string& namespace_name, const std::string& entity,
                   const std::string& name) override {
    write(*delete_rule_, "delete rule", qualified(qualified(namespace_name, entity), name), namespace_name,
          entity, name);
  }

  void put_plan(const plan_record& r) override {
    write(*upsert_plan_, "put plan", r.name, r.name, r.sku, r.created_at, r.updated_at);
  }

  // Fails (foreign key) while apps are in the plan: the caller checks first and says so.
  void delete_plan(const std::string& name) override { write(*delete_plan_, "delete plan", name, name); }

  void put_app(const app_record& r) override {
    write(*upsert_app_, "put app", r.name, r.name, r.plan, r.send_key, r.created_at, r.updated_at);
  }

  // Its links go with it through ON DELETE CASCADE.
  void delete_app(const std::string& name) override { write(*delete_app_, "delete app", name, name); }

  void put_app_link(const app_link_record& r) override {
    write(*upsert_app_link_, "put app link", r.app + " -> " + qualified(r.namespace_name, r.hc_name), r.app,
          r.namespace_name, r.hc_name, r.created_at);
  }

  void delete_app_link(const std::string& app, const std::string& namespace_name,
                       const std::string& hc_name) override {
    write(*delete_app_link_, "delete app link", app + " -> " + qualified(namespace_name, hc_name), app,
          namespace_name, hc_name);
  }

  std::optional<std::string> get_setting(const std::string& key) override {
    std::lock_guard lock(mutex_);
    statement::use q(*select_setting_);
    q.bind(1, key);
    if (!q.step("get setting", key)) return std::nullopt;
    return q.text(0);
  }

  void put_setting(const std::string& key, const std::string& value) override {
    write(*upsert_setting_, "put setting", key, key, value);
  }

  // Not a catalog write: the revision stays.
  void add_usage(const std::string& batch, const std::vector<usage_record>& amounts) override {
    if (amounts.empty()) return;
    in_transaction("add usage to", path_, [&] {
      run(*record_usage_batch_, "add usage to", path_, batch, std::int64_t(std::time(nullptr)));
      if (sqlite3_changes64(db_.get()) == 0) return;  // applied before: counted once
      for (const auto& r : amounts)
        run(*add_usage_, "add usage to",
            qualified(r.namespace_name, r.hc_name) + " hour " + std::to_string(r.hour), r.namespace_name,
            r.hc_name, r.hour, r.listener_seconds, r.tunnels, r.tunnel_seconds, r.bytes_app_to_agent,
            r.bytes_agent_to_app);
    });
  }

  std::vector<usage_record> usage(std::int64_t from, std::int64_t to) override {
    std::lock_guard lock(mutex_);
    std::vector<usage_record> out;
    statement::use q(*select_usage_);
    q.bind(1, from).bind(2, to);
    while (q.step("read usage from", path_))
      out.push_back({q.text(0), q.text(1), q.integer(2), q.real(3), q.integer(4), q.real(5), q.integer(6),
                     q.integer(7)});
    return out;
  }

  std::size_t prune_usage(std::int64_t before) override {
    std::lock_guard lock(mutex_);
    run(*prune_usage_batches_, "prune usage batches before", std::to_string(before), before);
    run(*prune_usage_, "prune usage before", std::to_string(before), before);
    return static_cast<std::size_t>(sqlite3_changes64(db_.get()));
  }

 private:
  static db_handle open(const std::string& path) {
    create_private_file(path);
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_handle db(raw);
    if (rc != SQLITE_OK) fail(raw, "open", path);
    sqlite3_extended_result_codes(raw, 1);
    if (sqlite3_busy_timeout(raw, 5000) != SQLITE_OK) fail(raw, "set busy timeout on", path);
    exec(raw, "PRAGMA journal_mode=WAL", "enable WAL on " + path);
    exec(raw, "PRAGMA synchronous=NORMAL", "set synchronous=NORMAL on " + path);
    exec(raw, "PRAGMA foreign_keys=ON", "enable foreign keys on " + path);
    return db;
  }

  // Reads settings.schema_version (0 for a new file) and applies the missing migrations, each in
  // its own transaction together with the version bump. Refuses a database from a newer release.
  void migrate() {
    sqlite3* db = db_.get();
    exec(db, "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)",
         "create settings table in " + path_);
    int version = checked_schema_version(read_stored_schema_version(), current_schema_version,
                                         "sqlite store: open " + path_);
    for (; version < current_schema_version; ++version) {
      std::string op = "migrate " + path_ + " to schema version " + std::to_string(version + 1);
      transaction tx(db, op);
      exec(db, migrations[version], op);
      statement set(db,
                    "INSERT INTO settings(key, value) VALUES('schema_version', ?1) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
      {
        statement::use q(set);
        q.bind(1, std::to_string(version + 1));
        q.step(op, "settings.schema_version");
      }
      tx.commit();
    }
  }

  std::int64_t read_revision() {
    statement::use q(*select_revision_);
    if (!q.step("read revision of", path_))
      throw store_error("sqlite store: read revision of " + path_ + ": the catalog_revision row is missing");
    return q.integer(0);
  }

  std::optional<std::string> read_stored_schema_version() {
    statement get(db_.get(), "SELECT value FROM settings WHERE key = 'schema_version'");
    statement::use q(get);
    if (!q.step("read schema version of", path_)) return std::nullopt;
    return q.text(0);
  }

  void prepare_statements() {
    auto prep = [this](std::string_view sql) { return std::make_unique<statement>(db_.get(), sql); };
    select_namespaces_ = prep(rows::select(rows::namespace_columns, "FROM namespaces ORDER BY name"));
    select_hybrid_connections_ = prep(rows::select(rows::hybrid_connection_columns,
                                                   "FROM hybrid_connections ORDER BY namespace_name, name"));
    select_rules_ =
        prep(rows::select(rows::rule_columns, "FROM rules ORDER BY namespace_name, entity, name"));
    // Upserts rather than INSERT OR REPLACE: REPLACE deletes the old row first, which would fire
    // ON DELETE CASCADE and take a namespace's children with it.
    upsert_namespace_ = prep(
        "INSERT INTO namespaces(name, host, created_at, updated_at) VALUES(?1, lower(?2), ?3, ?4) "
        "ON CONFLICT(name) DO UPDATE SET host = excluded.host, created_at = excluded.created_at, "
        "updated_at = excluded.updated_at");
    upsert_hybrid_connection_ = prep(
        "INSERT INTO hybrid_connections(namespace_name, name, requires_client_authorization, "
        "user_metadata, created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT(namespace_name, name) DO UPDATE SET name = excluded.name, "
        "requires_client_authorization = excluded.requires_client_authorization, "
        "user_metadata = excluded.user_metadata, created_at = excluded.created_at, "
        "updated_at = excluded.updated_at");
    upsert_rule_ = prep(
        "INSERT INTO rules(namespace_name, entity, name, rights, primary_key, secondary_key) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(namespace_name, entity, name) DO UPDATE SET "
        "entity = excluded.entity, rights = excluded.rights, primary_key = excluded.primary_key, "
        "secondary_key = excluded.secondary_key");
    delete_namespace_ = prep("DELETE FROM namespaces WHERE name = ?1");
    delete_hybrid_connection_ =
        prep("DELETE FROM hybrid_connections WHERE namespace_name = ?1 AND name = ?2");
    delete_entity_rules_ = prep("DELETE FROM rules WHERE namespace_name = ?1 AND entity = ?2");
    delete_rule_ = prep("DELETE FROM rules WHERE namespace_name = ?1 AND entity = ?2 AND name = ?3");
    select_plans_ = prep(rows::select(rows::plan_columns, "FROM plans ORDER BY name"));
    select_apps_ = prep(rows::select(rows::app_columns, "FROM apps ORDER BY name"));
    select_app_links_ = prep(
        rows::select(rows::app_link_columns, "FROM app_links ORDER BY app_name, namespace_name, hc_name"));
    upsert_plan_ = prep(
        "INSERT INTO plans(name, sku, created_at, updated_at) VALUES(?1, ?2, ?3, ?4) "
        "ON CONFLICT(name) DO UPDATE SET sku = excluded.sku, updated_at = excluded.updated_at");
    delete_plan_ = prep("DELETE FROM plans WHERE name = ?1");
    upsert_app_ = prep(
        "INSERT INTO apps(name, plan_name, send_key, created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT(name) DO UPDATE SET plan_name = excluded.plan_name, send_key = excluded.send_key, "
        "updated_at = excluded.updated_at");
    delete_app_ = prep("DELETE FROM apps WHERE name = ?1");
    upsert_app_link_ = prep(
        "INSERT INTO app_links(app_name, namespace_name, hc_name, created_at) VALUES(?1, ?2, ?3, ?4) "
        "ON CONFLICT(app_name, namespace_name, hc_name) DO NOTHING");
    delete_app_link_ =
        prep("DELETE FROM app_links WHERE app_name = ?1 AND namespace_name = ?2 AND hc_name = ?3");
    select_revision_ = prep("SELECT value FROM catalog_revision WHERE id = 1");
    raise_revision_ = prep("UPDATE catalog_revision SET value = value + 1 WHERE id = 1");
    select_setting_ = prep("SELECT value FROM settings WHERE key = ?1");
    upsert_setting_ = prep(
        "INSERT INTO settings(key, value) VALUES(?1, ?2) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    add_usage_ = prep(
        "INSERT INTO usage_hourly(namespace_name, hc_name, hour, listener_seconds, tunnels, tunnel_seconds, "
        "bytes_app_to_agent, bytes_agent_to_app) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
        "ON CONFLICT(namespace_name, hc_name, hour) DO UPDATE SET "
        "listener_seconds = listener_seconds + excluded.listener_seconds, "
        "tunnels = tunnels + excluded.tunnels, tunnel_seconds = tunnel_seconds + excluded.tunnel_seconds, "
        "bytes_app_to_agent = bytes_app_to_agent + excluded.bytes_app_to_agent, "
        "bytes_agent_to_app = bytes_agent_to_app + excluded.bytes_agent_to_app");
    select_usage_ = prep(
        "SELECT namespace_name, hc_name, hour, listener_seconds, tunnels, tunnel_seconds, "
        "bytes_app_to_agent, bytes_agent_to_app FROM usage_hourly WHERE hour >= ?1 AND hour < ?2 "
        "ORDER BY hour, namespace_name, hc_name");
    prune_usage_ = prep("DELETE FROM usage_hourly WHERE hour < ?1");
    prune_usage_batches_ = prep("DELETE FROM usage_batches WHERE applied < ?1");
    record_usage_batch_ =
        prep("INSERT INTO usage_batches(id, applied) VALUES(?1, ?2) ON CONFLICT(id) DO NOTHING");
  }

  std::mutex mutex_;  // one statement use at a time: prepared statements are shared state
  std::string path_;
  db_handle db_;  // declared before the statements so they are finalized first
  std::unique_ptr<statement> select_namespaces_, select_hybrid_connections_, select_rules_;
  std::unique_ptr<statement> upsert_namespace_, upsert_hybrid_connection_, upsert_rule_;
  std::unique_ptr<statement> delete_namespace_, delete_hybrid_connection_, delete_entity_rules_, delete_rule_;
  std::unique_ptr<statement> select_plans_, select_apps_, select_app_links_;
  std::unique_ptr<statement> upsert_plan_, delete_plan_, upsert_app_, delete_app_, upsert_app_link_,
      delete_app_link_;
  std::unique_ptr<statement> select_setting_, upsert_setting_;
  std::unique_ptr<statement> select_revision_, raise_revision_;
  std::unique_ptr<statement> add_usage_, select_usage_, prune_usage_, prune_usage_batches_,
      record_usage_batch_;
};

}  // namespace

std::unique_ptr<store> open_sqlite_store(const std::string& path) {
  return std::make_unique<sqlite_store>(path);
}

}  // namespace hc::store
