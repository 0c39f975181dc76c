#include "store/postgres/pg_conn.h"

#include <poll.h>

namespace varg::pg {

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(v_.size());
  for (auto& v : v_) out.push_back(v ? v->c_str() : nullptr);
  return out;
}

int64_t Rows::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return n && *n ? std::stoll(n) : 0;
}

std::string Rows::text(int row, int col) const {
  return std::string(PQgetvalue(r_.get(), row, col), size_t(PQgetlength(r_.get(), row, col)));
}

int64_t Rows::i64(int row, int col) const {
  if (null(row, col)) return 0;
  return std::stoll(PQgetvalue(r_.get(), row, col));
}

std::optional<int64_t> Rows::opt_i64(int row, int col) const {
  if (null(row, col)) return std::nullopt;
  return i64(row, col);
}

std::optional<std::string> Rows::opt_text(int row, int col) const {
  if (null(row, col)) return std::nullopt;
  return text(row, col);
}

Result<std::unique_ptr<Conn>> Conn::open(const std::string& url, int statement_timeout_ms) {
  // Later keywords override earlier ones, so the URL's own settings win over these defaults.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* vals[] = {"5", "vargd", url.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, vals, 1);
  if (!c) return error(Code::unavailable, "cannot allocate a PostgreSQL connection");
  std::unique_ptr<Conn> conn(new Conn(c, statement_timeout_ms));
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return error(Code::unavailable, "cannot connect to PostgreSQL: " + msg);
  }
  VARG_TRY(conn->setup());
  return conn;
}

Conn::~Conn() {
  if (pg_) PQfinish(pg_);
}

Status Conn::setup() {
  prepared_.clear();
  // Every statement has a deadline; a lock wait counts against it too.
  return exec("SET statement_timeout = " + std::to_string(timeout_ms_) + "; SET TIME ZONE 'UTC'");
}

bool Conn::broken() {
  if (PQstatus(pg_) != CONNECTION_OK) return true;
  // A server that shut down has sent its goodbye or closed the socket: notice it before sending.
  pollfd p{PQsocket(pg_), POLLIN, 0};
  if (p.fd < 0) return true;
  if (::poll(&p, 1, 0) > 0) {
    if (!PQconsumeInput(pg_)) return true;
    while (PGnotify* n = PQnotifies(pg_)) PQfreemem(n);
  }
  return PQstatus(pg_) != CONNECTION_OK;
}

Status Conn::reset() {
  PQreset(pg_);
  if (PQstatus(pg_) != CONNECTION_OK) {
    prepared_.clear();
    return error(Code::unavailable, "The database is unavailable; retry shortly");
  }
  return setup();
}

Status Conn::failure(PGresult* r, const std::string& what) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  sqlstate_ = state ? state : "";
  std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(pg_);
  if (r) PQclear(r);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (PQstatus(pg_) != CONNECTION_OK) return error(Code::unavailable, "The database is unavailable; retry shortly");
  if (sqlstate_ == "57014") return error(Code::unavailable, "The database did not answer in time; retry shortly");
  if (retryable(sqlstate_) || sqlstate_ == "55P03") return error(Code::unavailable, "The database is busy; retry shortly");
  if (sqlstate_ == kUniqueViolation) return error(Code::conflict, "database conflict: " + msg);
  return error(Code::internal, "database error (" + what + "): " + msg);
}

Result<Rows> Conn::run(const std::string& sql, const Params& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size() + 1);
    PGresult* r = PQprepare(pg_, name.c_str(), sql.c_str(), params.size(), nullptr);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) return failure(r, "prepare");
    PQclear(r);
    it = prepared_.emplace(sql, name).first;
  }
  auto values = params.pointers();
  PGresult* r = PQexecPrepared(pg_, it->second.c_str(), params.size(), values.data(), nullptr, nullptr, 0);
  auto st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return failure(r, "query");
  sqlstate_.clear();
  return Rows(r);
}

Status Conn::exec(const std::string& sql) {
  PGresult* r = PQexec(pg_, sql.c_str());
  auto st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return failure(r, "exec");
  PQclear(r);
  sqlstate_.clear();
  return Status::Ok();
}

}  // namespace varg::pg
