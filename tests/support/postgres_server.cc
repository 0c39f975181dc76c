#include "postgres_server.h"

#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

namespace varg::testing {

namespace fs = std::filesystem;

namespace {

int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

std::string find_bin() {
  std::string best;
  std::error_code ec;
  for (auto& e : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (fs::exists(e.path() / "bin" / "pg_ctl") && (best.empty() || e.path().string() > best)) best = e.path().string();
  return best.empty() ? "" : best + "/bin";
}

// As root, run the command as the unprivileged postgres user.
std::string as_pg(const std::string& cmd) {
  if (::geteuid() != 0) return cmd;
  return "runuser -u postgres -- " + cmd;
}

}  // namespace

Result<std::unique_ptr<PostgresServer>> PostgresServer::start() {
  std::unique_ptr<PostgresServer> s(new PostgresServer());
  s->bin_ = find_bin();
  if (s->bin_.empty())
    return error(Code::unavailable, "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl); run scripts/setup");
  std::string tmpl = (fs::temp_directory_path() / "varg-pg-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return error(Code::internal, "mkdtemp failed");
  s->dir_ = tmpl;
  ::chmod(s->dir_.c_str(), 0755);
  if (::geteuid() == 0 && std::system(("chown postgres " + s->dir_).c_str()) != 0)
    return error(Code::internal, "cannot chown the PostgreSQL temp dir to the postgres user");
  s->port_ = free_port();
  const std::string initdb = as_pg(s->bin_ + "/initdb -D " + s->dir_ + "/data -A trust -U varg -E UTF8 --no-sync >" +
                                   s->dir_ + "/initdb.log 2>&1");
  if (std::system(initdb.c_str()) != 0) return error(Code::internal, "initdb failed, see " + s->dir_ + "/initdb.log");
  VARG_TRY(s->ctl("start"));
  return s;
}

Status PostgresServer::ctl(const std::string& action) {
  const std::string opts = "-p " + std::to_string(port_) + " -k " + dir_ +
                           " -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
                           " -c full_page_writes=off -c max_connections=300";
  const std::string cmd = as_pg(bin_ + "/pg_ctl -D " + dir_ + "/data -o '" + opts + "' -l " + dir_ + "/server.log -w -t 60 " +
                                action + (action == "start" ? "" : " -m fast") + " >/dev/null 2>&1");
  if (std::system(cmd.c_str()) != 0) return error(Code::internal, "pg_ctl " + action + " failed, see " + dir_ + "/server.log");
  return Status::Ok();
}

Status PostgresServer::restart() { return ctl("restart"); }

PostgresServer::~PostgresServer() {
  if (port_) std::system(as_pg(bin_ + "/pg_ctl -D " + dir_ + "/data -m immediate stop >/dev/null 2>&1").c_str());
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string PostgresServer::url(const std::string& db) const {
  return "postgresql://varg@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

Result<std::string> PostgresServer::create_database(const std::string& name) {
  PGconn* c = PQconnectdb(url("postgres").c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    return error(Code::unavailable, "cannot connect to the test PostgreSQL: " + msg);
  }
  PGresult* r = PQexec(c, ("CREATE DATABASE \"" + name + "\"").c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string msg = ok ? "" : PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  if (!ok) return error(Code::internal, "CREATE DATABASE failed: " + msg);
  return url(name);
}

Result<PostgresServer*> shared_postgres() {
  static std::once_flag once;
  static std::unique_ptr<PostgresServer> server;
  static Status failed;
  std::call_once(once, [] {
    auto s = PostgresServer::start();
    if (s.ok()) {
      server = std::move(*s);
      std::atexit([] { server.reset(); });
    } else {
      failed = s.status();
    }
  });
  if (!server) return failed;
  return server.get();
}

}  // namespace varg::testing
