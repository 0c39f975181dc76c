// One libpq connection with its per-connection prepared statements, text-format parameters and
// result rows: the small layer PostgresStore's SQL runs on. Every failure is a Status; the
// SQLSTATE of the last one is kept so callers can retry serialization failures and unique races.
#pragma once
#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace varg::pg {

// Parameters, all sent as text (the server infers or casts their types); nullopt is SQL NULL.
class Params {
 public:
  Params& add(int64_t v) { v_.emplace_back(std::to_string(v)); return *this; }
  Params& add(int v) { return add(int64_t(v)); }
  Params& add(bool v) { v_.emplace_back(v ? "t" : "f"); return *this; }
  Params& add(const std::string& v) { v_.emplace_back(v); return *this; }
  Params& add(const char* v) { v_.emplace_back(std::string(v)); return *this; }
  template <class T>
  Params& add(const std::optional<T>& v) {
    if (v) return add(*v);
    v_.emplace_back(std::nullopt);
    return *this;
  }
  int size() const { return int(v_.size()); }
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::optional<std::string>> v_;
};

// A finished query's rows, read by row and column index.
class Rows {
 public:
  explicit Rows(PGresult* r) : r_(r, PQclear) {}
  int size() const { return PQntuples(r_.get()); }
  bool empty() const { return size() == 0; }
  int64_t affected() const;  // rows written by INSERT/UPDATE/DELETE
  bool null(int row, int col) const { return PQgetisnull(r_.get(), row, col); }
  std::string text(int row, int col) const;
  int64_t i64(int row, int col) const;
  bool boolean(int row, int col) const { return text(row, col) == "t"; }
  std::optional<int64_t> opt_i64(int row, int col) const;
  std::optional<std::string> opt_text(int row, int col) const;

 private:
  std::shared_ptr<PGresult> r_;
};

class Conn {
 public:
  // Connects and sets the session up (statement_timeout in ms, UTC). The URL may be any libpq
  // connection string; connect_timeout defaults to 5 s.
  static Result<std::unique_ptr<Conn>> open(const std::string& url, int statement_timeout_ms);
  ~Conn();

  // Runs one statement, prepared on this connection the first time its text is seen.
  Result<Rows> run(const std::string& sql, const Params& params = {});
  // A simple query without parameters: BEGIN, COMMIT, migrations (several statements).
  Status exec(const std::string& sql);

  // True when the server went away (restart, network): the connection must be reset before use.
  bool broken();
  // Replaces a broken connection with a fresh one (its prepared statements are gone with it).
  Status reset();

  const std::string& sqlstate() const { return sqlstate_; }  // of the last failure, "" after success

 private:
  Conn(PGconn* c, int timeout_ms) : pg_(c), timeout_ms_(timeout_ms) {}
  Status setup();
  Status failure(PGresult* r, const std::string& what);

  PGconn* pg_;
  int timeout_ms_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text → statement name
  std::string sqlstate_;
};

// SQLSTATEs the store reacts to.
inline constexpr const char* kUniqueViolation = "23505";
inline bool retryable(const std::string& sqlstate) { return sqlstate == "40001" || sqlstate == "40P01"; }

}  // namespace varg::pg
