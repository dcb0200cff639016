// SPDX-License-Identifier: Apache-2.0
/// \file
/// The second process of the Store contract suite: opens the database named
/// on its command line and makes compare-and-swap increments on one row,
/// racing the test process.
///
///     store_contract_helper sqlite PATH increment NAME COUNT
///
/// Prints "done COUNT lost N" and exits 0; exits 1 on a failure, 2 on bad
/// arguments. Opening a backend from its arguments is the only
/// implementation-specific part (PostgreSQL adds its own branch).

#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <autoscale/sqlite_store.h>

#include "store_increment.h"

namespace {

/// Opens the backend named by `kind` at `where`: the only backend-specific code.
autoscale::Result<std::unique_ptr<autoscale::Store>> openStore(const std::string& kind,
                                                               const std::string& where) {
    if (kind == "sqlite")
        return autoscale::openSqliteStore({.path = where});
    return autoscale::makeError(autoscale::Errc::InvalidArgument, "unknown backend " + kind);
}

} // namespace

int main(int argc, char** argv) {
    try {
        const std::vector<std::string> args(argv + 1, argv + argc);
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
