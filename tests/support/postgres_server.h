// A real PostgreSQL server for tests: Debian's binaries (/usr/lib/postgresql/<v>/bin), initdb into
// a temp dir, started on a free loopback port with its unix socket in that dir, stopped and removed
// by the destructor. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
// A missing or broken PostgreSQL is an error, never a skip.
#pragma once
#include <memory>
#include <string>

#include "common/status.h"

namespace varg::testing {

class PostgresServer {
 public:
  static Result<std::unique_ptr<PostgresServer>> start();
  ~PostgresServer();

  // A new empty database; its postgresql:// URL.
  Result<std::string> create_database(const std::string& name);
  std::string url(const std::string& db) const;
  // Restarts the server (fast shutdown: every client connection is dropped).
  Status restart();

 private:
  PostgresServer() = default;
  Status ctl(const std::string& action);
  std::string dir_, bin_;
  int port_ = 0;
};

// The process's one server, started on first use (tests in one binary share it).
Result<PostgresServer*> shared_postgres();

}  // namespace varg::testing
