// SPDX-License-Identifier: Apache-2.0
/// \file
/// autoscaler-admin's commands against a running daemon's REST API.

#pragma once

#include <string>

namespace autoscale::tools {

/// What the command line asked for.
enum class AdminCommand { List, Info, Create, Destroy, Pause, Resume, Plan };

/// The flags every command shares, and those of one.
struct AdminFlags {
    std::string server{}; ///< The autoscaler's URL.
    std::string token{};  ///< A Drone admin token. Secret.
    bool json = false;
    std::string name{}; ///< `info` and `destroy`.
    bool force = false; ///< `destroy --force`.
    std::string pool{}; ///< `servers ls --pool` (filter), `servers create --pool`.
};

/// Runs one command and prints its answer. Exit status: 0, 1 when the daemon
/// refuses or fails (its message printed), 2 when --server or --token is
/// missing or the server is not a URL.
int runAdmin(AdminCommand command, const AdminFlags& flags);

/// `migrate --from sqlite:PATH --to postgres:DSN` (migrate.cpp): copies the
/// SQLite store into PostgreSQL; an empty DSN reads DRONE_DATABASE_DATASOURCE
/// from `environmentDsn` (keeping the password off the command line). Exit
/// 0, 1 when the copy is refused or fails, 2 on a malformed --from or --to.
int runMigrate(const std::string& from, const std::string& to, const std::string& environmentDsn);

} // namespace autoscale::tools
