// SPDX-License-Identifier: Apache-2.0
/// \file
/// migrateSqliteToPostgres: the embedded store's rows and named values,
/// copied into PostgreSQL (autoscaler-admin migrate).

#include <map>
#include <memory>
#include <string>
#include <unistd.h>

#include <sqlite3.h>

#include <autoscale/postgres_store.h>
#include <autoscale/sqlite_store.h>

namespace autoscale {

namespace {

/// Every named value of the SQLite file (none before the values table existed).
Result<std::map<std::string, std::string>> sqliteValues(const std::string& path) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
    const std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)> db(raw, &sqlite3_close_v2);
    if (rc != SQLITE_OK)
        return makeError(Errc::Io, path + ": cannot open the database");
    std::map<std::string, std::string> values;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db.get(), "SELECT value_key, value_text FROM autoscale_values", -1,
                           &stmt, nullptr) != SQLITE_OK) {
        // An older file without the values table has none.
        return values;
    }
    int step = 0;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const auto* key = sqlite3_column_text(stmt, 0);
        const auto* value = sqlite3_column_text(stmt, 1);
        values.emplace(key != nullptr ? reinterpret_cast<const char*>(key) : "",
                       value != nullptr ? reinterpret_cast<const char*>(value) : "");
    }
    sqlite3_finalize(stmt);
    if (step != SQLITE_DONE)
        return makeError(Errc::Io, path + ": cannot read the named values");
    return values;
}

} // namespace

Result<PostgresStore::ImportReport> migrateSqliteToPostgres(const std::string& sqlitePath,
                                                            const PostgresOptions& target) {
    if (::access(sqlitePath.c_str(), R_OK) != 0)
        return makeError(Errc::NotFound, sqlitePath + ": no such database file");
    auto source = openSqliteStore({.path = sqlitePath, .readOnly = true});
    if (!source)
        return source.error();
    auto rows = (*source)->list();
    if (!rows)
        return rows.error();
    auto values = sqliteValues(sqlitePath);
    if (!values)
        return values.error();
    auto store = openPostgresStore(target);
    if (!store)
        return store.error();
    return (*store)->importRows(*rows, *values);
}

} // namespace autoscale
