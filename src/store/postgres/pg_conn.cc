#include "store/postgres/pg_conn.h"

#include <poll.h>

namespace varg::pg {

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
    return retry_later(Code::unavailable, "cannot connect to PostgreSQL: " + msg);
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
  return exec("SET statement_timeout = " + std::to_string(timeout_ms_) + "; SET TIME ZONE 'UTC'; SET client_min_messages = warning");
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
    return retry_later(Code::unavailable, "The database is unavailable; retry shortly");
  }
  return setup();
}

std::vector<std::string> Conn::notifications(int timeout_ms) {
  std::vector<std::string> out;
  auto drain = [&] {
    while (PGnotify* n = PQnotifies(pg_)) {
      out.emplace_back(n->extra ? n->extra : "");
      PQfreemem(n);
    }
  };
  drain();
  if (!out.empty()) return out;
  pollfd p{PQsocket(pg_), POLLIN, 0};
  if (p.fd >= 0 && ::poll(&p, 1, timeout_ms) > 0 && PQconsumeInput(pg_)) drain();
  return out;
}

bool Conn::in_transaction() {
  const auto t = PQtransactionStatus(pg_);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

Status Conn::failure(PGresult* r, const std::string& what) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  sqlstate_ = state ? state : "";
  std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(pg_);
  if (r) PQclear(r);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (PQstatus(pg_) != CONNECTION_OK) return retry_later(Code::unavailable, "The database is unavailable; retry shortly");
  if (sqlstate_ == "57014") return retry_later(Code::unavailable, "The database did not answer in time; retry shortly");
  if (lost_race() || sqlstate_ == "55P03") return retry_later(Code::unavailable, "The database is busy; retry shortly");
  // Class 53: out of disk, memory or connections; class 57P: the server is shutting down or starting.
  if (sqlstate_ == "53100") return retry_later(Code::insufficient_storage, "The database is out of disk space; retry later", 30);
  if (sqlstate_.starts_with("53") || sqlstate_.starts_with("57P"))
    return retry_later(Code::unavailable, "The database is unavailable; retry shortly");
  if (sqlstate_ == "23505") return error(Code::conflict, "database conflict: " + msg);
  return error(Code::internal, "database error (" + what + "): " + msg);
}

Result<sql::Rows> Conn::run(std::string_view sql, std::span<const sql::Value> params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size() + 1);
    PGresult* r = PQprepare(pg_, name.c_str(), sql::numbered_placeholders(sql).c_str(), int(params.size()), nullptr);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) return failure(r, "prepare");
    PQclear(r);
    it = prepared_.emplace(std::string(sql), name).first;
  }
  // Text format: every value as a NUL-terminated string (the server casts it to the column type).
  std::vector<std::string> text(params.size());
  std::vector<const char*> values(params.size(), nullptr);
  for (size_t i = 0; i < params.size(); i++) {
    const sql::Value& v = params[i];
    if (v.kind() == sql::Value::null) continue;
    text[i] = v.kind() == sql::Value::integer ? std::to_string(v.i64()) : std::string(v.str());
    values[i] = text[i].c_str();
  }
  PGresult* r = PQexecPrepared(pg_, it->second.c_str(), int(params.size()), values.data(), nullptr, nullptr, 0);
  auto st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return failure(r, "query");
  sqlstate_.clear();
  const char* n = PQcmdTuples(r);
  const int rows = PQntuples(r), cols = PQnfields(r);
  sql::Rows out(cols, n && *n ? std::strtoll(n, nullptr, 10) : 0);
  out.cells().resize(size_t(rows) * size_t(cols));
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++) {
      auto& cell = out.cells()[size_t(i) * size_t(cols) + size_t(j)];
      cell.is_null = PQgetisnull(r, i, j);
      if (!cell.is_null) cell.s.assign(PQgetvalue(r, i, j), size_t(PQgetlength(r, i, j)));
    }
  PQclear(r);
  return out;
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
