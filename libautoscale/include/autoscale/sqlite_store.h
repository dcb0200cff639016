// SPDX-License-Identifier: Apache-2.0
/// \file
/// The embedded default Store on SQLite.

#pragma once

#include <memory>
#include <string>

#include <autoscale/store.h>

namespace autoscale {

struct SqliteOptions {
    std::string path = "database.sqlite"; ///< File path, or ":memory:".
    bool readOnly = false; ///< Never creates or writes the file; an absent file is an empty store.
    std::chrono::milliseconds busyTimeout{5000};
};

/// Opens (and in read-write mode creates, with mode 0600, and migrates) the
/// database. WAL journal; every write a compare-and-swap on the row version.
/// Thread-safe.
Result<std::unique_ptr<Store>> openSqliteStore(const SqliteOptions& options);

/// Parses drone/autoscaler's datasource ("/data/database.sqlite?cache=shared&...")
/// into a path: the query string is dropped.
std::string sqlitePathFromDatasource(const std::string& datasource);

} // namespace autoscale
