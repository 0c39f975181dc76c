// `vargd admin backup | restore | verify` (docs/operations.md). A backup is a directory laid out
// as a data directory — varg.db (SQLite's online backup), blobs/ (the content-addressed files,
// hard-linked where possible), server.secret (when the data directory keeps one) and backup.json —
// so `vargd admin verify --data-dir BACKUP` checks it and `vargd --data-dir BACKUP` could serve it.
#pragma once
#include <string>

#include "server/config.h"
#include "store/store.h"

namespace varg {

int admin_backup(Store& store, const Config& cfg, const std::string& dest);
// Refuses while a vargd serves the data directory; keeps what it replaces beside it.
int admin_restore(const Config& cfg, const std::string& from);
int admin_verify(Store& store, const Config& cfg);

// vargd holds a shared lock on <data-dir>/vargd.lock while it serves (the descriptor stays open
// for the process's life); restore takes it exclusively. -1 when it is held the other way.
int lock_data_dir(const std::string& data_dir, bool exclusive);

}  // namespace varg
