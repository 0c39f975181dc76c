// One libpq connection as an sql::Connection: statements prepared on first use (their `?`
// placeholders numbered for PostgreSQL), text-format parameters and results. The SQLSTATE of the
// last failure is kept: serialization failures and deadlocks are races that Db runs again.
#pragma once
#include <libpq-fe.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/sql/db.h"

namespace varg::pg {

class Conn final : public sql::Connection {
 public:
  // Connects and sets the session up (statement_timeout in ms, UTC). The URL may be any libpq
  // connection string; connect_timeout defaults to 5 s.
  static Result<std::unique_ptr<Conn>> open(const std::string& url, int statement_timeout_ms);
  ~Conn() override;

  Result<sql::Rows> run(std::string_view sql, std::span<const sql::Value> params) override;
  Status exec(const std::string& sql) override;
  bool lost_race() const override { return sqlstate_ == "40001" || sqlstate_ == "40P01"; }
  // True when the server went away (restart, network): the connection must be reset before use.
  bool broken() override;
  // Replaces a broken connection with a fresh one (its prepared statements are gone with it).
  Status reset() override;
  bool in_transaction() override;
  bool transaction_usable() override { return PQtransactionStatus(pg_) == PQTRANS_INTRANS; }
  // Payloads of the notifications of the channels this connection LISTENs to, waiting up to
  // timeout_ms for the first (broken() would drop them: a listener checks connected() instead).
  std::vector<std::string> notifications(int timeout_ms);
  bool connected() const { return PQstatus(pg_) == CONNECTION_OK; }
  int socket() const { return PQsocket(pg_); }  // readable when notifications may have arrived

 private:
  Conn(PGconn* c, int timeout_ms) : pg_(c), timeout_ms_(timeout_ms) {}
  Status setup();
  Status failure(PGresult* r, const std::string& what);

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  PGconn* pg_;
  int timeout_ms_;
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> prepared_;  // SQL text → statement name
  std::string sqlstate_;
};

}  // namespace varg::pg
