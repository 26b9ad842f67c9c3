// store/postgres_session: connecting (with the timeouts below), naming the server, statements,
// errors, reconnecting and transactions for the PostgreSQL store (postgres_session.hpp).
#include "store/postgres_session.hpp"

#include <string>

namespace hc::store::postgres {
namespace {

// Connection settings, each overridable from the URL (they come before it: libpq keeps the last).
// Connect: a black-holed server costs the store worker at most this long per attempt.
constexpr const char* connect_timeout_seconds = "3";
// A statement (a lock wait included) that runs longer is cancelled by the server.
constexpr const char* session_options = "-c statement_timeout=10s";
// A server that vanishes mid-call (no RST) is given up after about 10 s instead of the kernel's
// 15 minutes: unacknowledged data (tcp_user_timeout) or a silent peer (keepalives).
constexpr const char* tcp_user_timeout_ms = "10000";
constexpr const char* keepalives_idle_seconds = "5";
constexpr const char* keepalives_interval_seconds = "2";
constexpr const char* keepalives_count = "3";

// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running...").
std::string one_line(const char* message) {
  std::string out;
  for (const char* p = message ? message : ""; *p; ++p) {
    bool space = *p == '\n' || *p == '\t' || *p == ' ';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : *p;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Refuses a URL libpq cannot parse with a sentence of our own: libpq's parse errors quote the
// URL, and with it the password.
void require_valid_url(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  PQfreemem(error);
  if (!options)
    throw store_error(
        "postgres store: the catalog URL is not a libpq connection URI; expected "
        "postgres://user[:password]@host:port/db (the URL is not repeated here: it may hold a password)");
  PQconninfoFree(options);
}

PGconn* connect(const std::string& url) {
  const char* keywords[] = {
      "connect_timeout",     "options",          "tcp_user_timeout",          "keepalives", "keepalives_idle",
      "keepalives_interval", "keepalives_count", "fallback_application_name", "dbname",     nullptr};
  const char* values[] = {connect_timeout_seconds,
                          session_options,
                          tcp_user_timeout_ms,
                          "1",
                          keepalives_idle_seconds,
                          keepalives_interval_seconds,
                          keepalives_count,
                          "hcrelay",
                          url.c_str(),
                          nullptr};
  return PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
}

// host:port/db as libpq resolved them (defaults and environment included).
std::string describe_server(PGconn* c) {
  auto value = [](const char* v) { return std::string(v ? v : ""); };
  return value(PQhost(c)) + ":" + value(PQport(c)) + "/" + value(PQdb(c));
}

}  // namespace

std::string row::text(int column) const {
  return std::string(PQgetvalue(rows, index, column),
                     static_cast<std::size_t>(PQgetlength(rows, index, column)));
}

std::int64_t row::integer(int column) const {
  return std::stoll(PQgetvalue(rows, index, column));
}

bool row::flag(int column) const {
  return PQgetvalue(rows, index, column)[0] == 't';
}

session::session(const std::string& url) {
  require_valid_url(url);
  conn_.reset(connect(url));
  if (!conn_) throw store_error("postgres store: connect: out of memory");
  server_ = describe_server(conn_.get());
  // Notices ("relation ... already exists, skipping", "no transaction in progress") would go to
  // stderr; failures reach callers as store_error, so they are dropped. PQreset keeps this.
  PQsetNoticeProcessor(
      conn_.get(), [](void*, const char*) {}, nullptr);
  if (PQstatus(conn_.get()) != CONNECTION_OK)
    throw store_error(unreachable("connect", one_line(PQerrorMessage(conn_.get()))));
}

void session::reconnect() {
  PQreset(conn_.get());
  if (PQstatus(conn_.get()) != CONNECTION_OK) throw session_lost(one_line(PQerrorMessage(conn_.get())));
}

std::string session::unreachable(std::string_view what, std::string_view why) const {
  return "postgres store: " + std::string(what) + ": cannot reach PostgreSQL at " + server_ + ": " +
         std::string(why);
}

result session::exec(std::string_view sql, const std::vector<std::string>& params, std::string_view what) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  return checked(PQexecParams(conn_.get(), std::string(sql).c_str(), static_cast<int>(values.size()), nullptr,
                              values.data(), nullptr, nullptr, /*text results*/ 0),
                 what);
}

void session::exec_script(std::string_view sql, std::string_view what) {
  checked(PQexec(conn_.get(), std::string(sql).c_str()), what);
}

// Only the primary message of a failure: its detail can quote a whole row, keys included.
result session::checked(PGresult* raw, std::string_view what) {
  result r(raw);
  auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
  if (PQstatus(conn_.get()) != CONNECTION_OK) throw session_lost(one_line(PQerrorMessage(conn_.get())));
  const char* primary = r ? PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  throw store_error("postgres store: " + std::string(what) + ": " +
                    (primary ? std::string(primary) : one_line(PQerrorMessage(conn_.get()))));
}

void session::rollback() noexcept {
  if (PQstatus(conn_.get()) == CONNECTION_OK) PQclear(PQexec(conn_.get(), "ROLLBACK"));
}

transaction::transaction(session& s, std::string_view begin, std::string_view what)
    : session_(s), what_(what) {
  session_.exec(begin, {}, what_);
}

transaction::~transaction() {
  if (!committed_) session_.rollback();
}

void transaction::commit() {
  session_.exec("COMMIT", {}, what_);
  committed_ = true;
}

}  // namespace hc::store::postgres
