#include "store/open_store.h"

#include "common/crypto.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace varg {

bool is_postgres_url(const std::string& database) {
  return database.starts_with("postgres://") || database.starts_with("postgresql://");
}

Result<OpenedStore> open_store(const std::string& database, int connections, const std::string& secret_setting) {
  OpenedStore out;
  out.secret_hex = secret_setting;
  if (!is_postgres_url(database)) {
    auto s = SqliteStore::open(database, connections);
    if (!s.ok()) return s.status();
    out.store = std::move(*s);
    return out;
  }
  PostgresStore::Options o;
  o.connections = connections;
  auto s = PostgresStore::open(database, o);
  if (!s.ok()) return s.status();
  if (out.secret_hex.empty()) {
    auto shared = (*s)->shared_secret(to_hex(random_bytes(32)));
    if (!shared.ok()) return shared.status();
    out.secret_hex = *shared;
  }
  out.store = std::move(*s);
  out.shared = true;
  return out;
}

std::string redacted_database(const std::string& database) {
  if (!is_postgres_url(database)) return database;
  const size_t scheme = database.find("://") + 3;
  const size_t at = database.find('@', scheme);
  if (at == std::string::npos) return database;
  const size_t colon = database.find(':', scheme);
  if (colon == std::string::npos || colon > at) return database;
  return database.substr(0, colon + 1) + "***" + database.substr(at);
}

}  // namespace varg
