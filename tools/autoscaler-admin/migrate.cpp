// SPDX-License-Identifier: Apache-2.0
/// \file
/// autoscaler-admin migrate: the SQLite store copied into PostgreSQL, with
/// the DSN's password never printed.

#include <iostream>
#include <string>

#include <autoscale/postgres_store.h>

#include "cli_common.h"
#include "commands.h"

namespace autoscale::tools {

int runMigrate(const std::string& from, const std::string& to, const std::string& environmentDsn) {
    constexpr std::string_view kSqlite = "sqlite:";
    constexpr std::string_view kPostgres = "postgres:";
    if (!from.starts_with(kSqlite) || from.size() == kSqlite.size()) {
        std::cerr << "autoscaler-admin: migrate: --from must be sqlite:PATH\n";
        return kExitUsage;
    }
    if (!to.starts_with(kPostgres)) {
        std::cerr << "autoscaler-admin: migrate: --to must be postgres:DSN (or postgres: with "
                     "DRONE_DATABASE_DATASOURCE set)\n";
        return kExitUsage;
    }
    const std::string path = from.substr(kSqlite.size());
    std::string dsn = to.substr(kPostgres.size());
    if (dsn.empty())
        dsn = environmentDsn;
    if (dsn.empty()) {
        std::cerr << "autoscaler-admin: migrate: --to postgres: needs DRONE_DATABASE_DATASOURCE\n";
        return kExitUsage;
    }
    const std::string target = "postgres:" + redactDsn(dsn);
    const auto report = migrateSqliteToPostgres(path, {.dsn = dsn, .applicationName = "migrate"});
    if (!report) {
        std::cerr << "autoscaler-admin: migrate: cannot copy " << from << " to " << target << ": "
                  << report.error().message << "\n";
        return kExitFailure;
    }
    std::cout << "copied " << report->rowsCopied << " servers and " << report->valuesCopied
              << " values from " << from << " to " << target << "\n";
    if (report->rowsIdentical > 0 || report->valuesIdentical > 0) {
        std::cout << "already there, identical: " << report->rowsIdentical << " servers and "
                  << report->valuesIdentical << " values\n";
    }
    return kExitOk;
}

} // namespace autoscale::tools
