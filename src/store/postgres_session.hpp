// store/postgres_session: one libpq session with the catalog's PostgreSQL database: connecting
// with timeouts that keep a dead or silent server from holding the store worker for long, naming
// the server as host:port/db (never the URL, which may carry a password), parameterised
// statements, transactions, and re-establishing a lost session once per call. Not the schema or
// the operations (postgres_store.cpp). Not thread-safe: its store serialises the calls.
#pragma once
#include "store/store.hpp"

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hc::store::postgres {

struct result_clearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using result = std::unique_ptr<PGresult, result_clearer>;

// One row of a result, its columns read from libpq's text format (the Row of record_rows.hpp).
struct row {
  const PGresult* rows;
  int index;
  std::string text(int column) const;
  std::int64_t integer(int column) const;
  bool flag(int column) const;  // a boolean column
};

// The session broke (server restart, network): thrown by exec while running under run(), which
// reconnects; never escapes run().
struct session_lost : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class session {
 public:
  // Connects, or throws store_error naming the server and saying why.
  explicit session(const std::string& url);
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // "host:port/db", for messages.
  const std::string& server() const { return server_; }

  // Runs `work` (statements through exec) and returns what it returns. If the session is found
  // broken, before or during `work`, it is re-established once and `work` runs again from the
  // start: `work` must be one transaction or idempotent statements (a write whose COMMIT was
  // lost in flight is then applied twice; every write here is an upsert or a delete). When the
  // server cannot be reached, throws store_error: "{what}: cannot reach PostgreSQL at {server}: ...".
  template <class Work>
  auto run(std::string_view what, Work work) -> decltype(work()) {
    bool reconnected = false;
    for (;;) {
      try {
        if (PQstatus(conn_.get()) != CONNECTION_OK) {
          reconnected = true;
          reconnect();
        }
        return work();
      } catch (const session_lost& e) {
        if (reconnected) throw store_error(unreachable(what, e.what()));
      }
    }
  }

  // One statement, $1, $2, ... bound to `params` as text. Throws store_error naming `what`, or
  // session_lost.
  result exec(std::string_view sql, const std::vector<std::string>& params, std::string_view what);
  // Several statements without parameters (a migration).
  void exec_script(std::string_view sql, std::string_view what);
  // Ends a failed transaction; quiet, for destructors.
  void rollback() noexcept;

 private:
  struct conn_closer {
    void operator()(PGconn* c) const { PQfinish(c); }
  };

  void reconnect();
  result checked(PGresult* r, std::string_view what);
  std::string unreachable(std::string_view what, std::string_view why) const;

  std::unique_ptr<PGconn, conn_closer> conn_;  // kept across reconnects: PQreset reuses its settings
  std::string server_;
};

// `begin` (e.g. "BEGIN ISOLATION LEVEL READ COMMITTED") on construction; rolled back by the
// destructor unless commit() was reached.
class transaction {
 public:
  transaction(session& s, std::string_view begin, std::string_view what);
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction();
  void commit();

 private:
  session& session_;
  std::string what_;
  bool committed_ = false;  // set only after COMMIT succeeded
};

}  // namespace hc::store::postgres
