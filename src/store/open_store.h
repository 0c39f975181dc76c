// Chooses the Store from the --database setting: a postgres:// or postgresql:// URL opens
// PostgresStore (several instances may share it), anything else is a SQLite file path.
#pragma once
#include <memory>
#include <string>

#include "store/store.h"

namespace varg {

bool is_postgres_url(const std::string& database);

struct OpenedStore {
  std::unique_ptr<Store> store;
  bool shared = false;     // other vargd instances may use the same database at once
  std::string secret_hex;  // the server secret to use: the setting, else for a shared database the
                           // one kept in it (so instances agree), else "" (the data directory's file)
};

// `connections` bounds the pool (vargd passes --workers); `secret_setting` is --secret.
Result<OpenedStore> open_store(const std::string& database, int connections, const std::string& secret_setting);

// The setting as it may be printed: a URL's password replaced by "***".
std::string redacted_database(const std::string& database);

}  // namespace varg
