// SPDX-License-Identifier: Apache-2.0
/// \file
/// A throw-away PostgreSQL 15 cluster for integration tests: initdb in a
/// temporary directory (as the `postgres` user when the test runs as root), a
/// free loopback port, pg_ctl start -w; stopped and removed on destruction.
/// Host connections need the password (scram-sha-256), so tests can check
/// that it never reaches a message.

#pragma once

#include <string>
#include <vector>

namespace autoscale::test {

class PgCluster {
public:
    /// The password of the `postgres` role on loopback connections.
    static constexpr const char* kPassword = "pg-S3cret-Zq7";

    /// Starts the cluster; exits the process with 77 (meson SKIP) when
    /// PostgreSQL's binaries are absent, and throws when it cannot start.
    PgCluster();
    ~PgCluster();
    PgCluster(const PgCluster&) = delete;
    PgCluster& operator=(const PgCluster&) = delete;

    /// The one cluster of this test executable, started on first use
    /// (starting takes seconds).
    static PgCluster& shared();

    /// A URI for `database` with the password: "postgresql://postgres:...@127.0.0.1:PORT/db".
    [[nodiscard]] std::string dsn(const std::string& database = "postgres") const;
    /// Creates a fresh, empty database and returns its name.
    std::string createDatabase();
    [[nodiscard]] int port() const { return port_; }

    /// Stops (fast) and starts the server again on the same port.
    void restart();
    void stop();
    void start();
    /// Ends every backend whose application_name is `appName`; how many.
    int terminateBackends(const std::string& appName);
    /// Ends the backend with this pid; true when it existed.
    bool terminateBackend(int pid);
    /// Runs one SQL statement on the `postgres` database and returns the first
    /// cell of its result ("" when none); throws on error.
    std::string scalar(const std::string& sql, const std::string& database = "postgres");

private:
    void run(const std::vector<std::string>& argv);

    std::string dir_;
    std::string bin_;
    int port_ = 0;
    int databases_ = 0;
    bool running_ = false;
};

} // namespace autoscale::test
