// SPDX-License-Identifier: Apache-2.0
/// \file
/// The second process of the Store contract suite: opens the database named
/// on its command line and makes compare-and-swap increments on one row,
/// racing the test process.
///
///     store_contract_helper sqlite PATH increment NAME COUNT
///     store_contract_helper postgres DSN_FILE increment NAME COUNT
///     store_contract_helper postgres DSN_FILE lead ID
///
/// `postgres` reads the connection string from DSN_FILE (a password never
/// goes on a command line). Prints "done COUNT lost N" and exits 0; exits 1 on
/// a failure, 2 on bad arguments. `lead` campaigns for leadership (the real
/// LeaderElection), prints "leader EPOCH" when it leads and "follower" when it
/// stops leading, and runs until killed.

#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <autoscale/leader.h>
#include <autoscale/postgres_store.h>
#include <autoscale/sqlite_store.h>

#include "store_increment.h"

namespace {

std::string readDsn(const std::string& path) {
    std::ifstream in(path);
    std::string dsn;
    std::getline(in, dsn);
    while (!dsn.empty() && (dsn.back() == '\n' || dsn.back() == ' '))
        dsn.pop_back();
    return dsn;
}

/// Opens the backend named by `kind` at `where`: the only backend-specific code.
autoscale::Result<std::unique_ptr<autoscale::Store>> openStore(const std::string& kind,
                                                               const std::string& where) {
    if (kind == "sqlite")
        return autoscale::openSqliteStore({.path = where});
    if (kind == "postgres") {
        auto store = autoscale::openPostgresStore({.dsn = readDsn(where)});
        if (!store)
            return store.error();
        return std::unique_ptr<autoscale::Store>(std::move(*store));
    }
    return autoscale::makeError(autoscale::Errc::InvalidArgument, "unknown backend " + kind);
}

} // namespace

int main(int argc, char** argv) {
    try {
        const std::vector<std::string> args(argv + 1, argv + argc);
        if (args.size() == 4 && args[0] == "postgres" && args[2] == "lead") {
            std::shared_ptr<const autoscale::Clock> clock = autoscale::makeSystemClock();
            autoscale::LeaderElection election(
                    autoscale::makePgLockSession({.dsn = readDsn(args[1])}), clock, args[3]);
            auto last = autoscale::Role::Follower;
            for (;;) {
                const auto role = election.tick();
                if (role != last) {
                    if (role == autoscale::Role::Leader)
                        std::printf("leader %lld\n", static_cast<long long>(election.epoch()));
                    else
                        std::printf("follower\n");
                    std::fflush(stdout);
                    last = role;
                }
                std::this_thread::sleep_for(std::chrono::seconds{1});
            }
        }
        if (args.size() != 5 || args[2] != "increment") {
            std::fputs("usage: store_contract_helper sqlite PATH increment NAME COUNT\n", stderr);
            return 2;
        }
        auto store = openStore(args[0], args[1]);
        if (!store) {
            std::fprintf(stderr, "cannot open the store: %s\n", store.error().message.c_str());
            return 1;
        }
        const int count = std::stoi(args[4]);
        const int lost = autoscale::test::incrementCapacity(**store, args[3], count);
        if (lost < 0) {
            std::fputs("an increment failed\n", stderr);
            return 1;
        }
        std::printf("done %d lost %d\n", count, lost);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "store_contract_helper: %s\n", e.what());
        return 1;
    }
}
