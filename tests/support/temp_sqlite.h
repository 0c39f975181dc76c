// A fresh SqliteStore in its own temporary directory, removed with it (unit-test fixtures).
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite/sqlite_store.h"

namespace varg::testing {

struct TempSqlite {
  std::filesystem::path dir;
  std::unique_ptr<SqliteStore> store;

  explicit TempSqlite(const std::string& name) {
    std::string tmpl = (std::filesystem::temp_directory_path() / (name + "-XXXXXX")).string();
    if (!mkdtemp(tmpl.data())) ADD_FAILURE() << "mkdtemp failed";
    dir = tmpl;
    auto opened = SqliteStore::open((dir / "varg.db").string(), 2);
    if (opened.ok()) store = std::move(*opened);
    else ADD_FAILURE() << opened.status().message;
  }
  ~TempSqlite() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
};

}  // namespace varg::testing
