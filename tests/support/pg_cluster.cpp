// SPDX-License-Identifier: Apache-2.0
/// \file
/// PgCluster: initdb, pg_ctl and a few libpq calls.

#include "pg_cluster.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pwd.h>
#include <stdexcept>
#include <unistd.h>
#include <vector>

#include "process.h"

#include <libpq-fe.h>

namespace autoscale::test {

namespace {

constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

const std::map<std::string, std::string>& toolEnv() {
    static const std::map<std::string, std::string> env{{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"},
                                                        {"LC_ALL", "C"}};
    return env;
}

} // namespace

PgCluster::PgCluster() : bin_(kBinDir) {
    if (!std::filesystem::exists(bin_ + "/initdb") || !std::filesystem::exists(bin_ + "/pg_ctl")) {
        std::fprintf(stderr, "PostgreSQL 15 is not installed (%s/initdb); skipped\n", kBinDir);
        std::exit(77);
    }
    // Under /tmp rather than $TMPDIR: the postgres user must reach it, and a
    // root's private TMPDIR (mode 0700) would not let it.
    dir_ = "/tmp/autoscale-pg-XXXXXX";
    if (::mkdtemp(dir_.data()) == nullptr)
        throw std::runtime_error("mkdtemp failed for " + dir_);
    if (::geteuid() == 0) {
        const passwd* pw = ::getpwnam("postgres");
        if (pw == nullptr) {
            std::fprintf(stderr, "no postgres user to run PostgreSQL as; skipped\n");
            std::exit(77);
        }
        if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
            throw std::runtime_error("cannot chown " + dir_);
    }
    {
        std::ofstream pw(dir_ + "/pwfile");
        pw << kPassword << "\n";
    }
    if (::geteuid() == 0) {
        const passwd* pw = ::getpwnam("postgres");
        (void)::chown((dir_ + "/pwfile").c_str(), pw->pw_uid, pw->pw_gid);
    }
    run({bin_ + "/initdb", "-D", dir_ + "/data", "-U", "postgres", "-E", "UTF8", "--locale=C",
         "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + dir_ + "/pwfile",
         "--no-sync"});
    port_ = freePort();
    start();
}

PgCluster::~PgCluster() {
    try {
        stop();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pg_ctl stop: %s\n", e.what());
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

PgCluster& PgCluster::shared() {
    static PgCluster cluster;
    return cluster;
}

void PgCluster::run(const std::vector<std::string>& argv) {
    std::vector<std::string> full;
    if (::geteuid() == 0)
        full = {"/usr/sbin/runuser", "-u", "postgres", "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    const auto r = runProcess(full, toolEnv(), std::chrono::seconds{120});
    if (r.exitCode != 0)
        throw std::runtime_error(argv[0] + " failed: " + r.out + r.err);
}

void PgCluster::start() {
    run({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/server.log", "-w", "-t", "60", "-o",
         "-p " + std::to_string(port_) + " -k " + dir_ +
                 " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
                 " -c synchronous_commit=off",
         "start"});
    running_ = true;
}

void PgCluster::stop() {
    if (!running_)
        return;
    running_ = false;
    run({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-w", "-t", "60", "-m", "fast", "stop"});
}

void PgCluster::restart() {
    stop();
    start();
}

std::string PgCluster::dsn(const std::string& database) const {
    return "postgresql://postgres:" + std::string(kPassword) +
           "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PgCluster::scalar(const std::string& sql, const std::string& database) {
    PGconn* conn = PQconnectdb(dsn(database).c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        std::string message = PQerrorMessage(conn);
        PQfinish(conn);
        throw std::runtime_error("cannot connect to the test cluster: " + message);
    }
    PGresult* r = PQexec(conn, sql.c_str());
    const auto status = PQresultStatus(r);
    std::string value;
    std::string error;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        error = PQerrorMessage(conn);
    else if (PQntuples(r) > 0 && PQnfields(r) > 0)
        value = PQgetvalue(r, 0, 0);
    PQclear(r);
    PQfinish(conn);
    if (!error.empty())
        throw std::runtime_error(sql + ": " + error);
    return value;
}

std::string PgCluster::createDatabase() {
    const std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
    scalar("CREATE DATABASE " + name);
    return name;
}

int PgCluster::terminateBackends(const std::string& appName) {
    std::string quoted;
    for (const char c : appName) {
        if (c == '\'')
            quoted += '\'';
        quoted += c;
    }
    return std::stoi(scalar("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
                            " WHERE application_name = '" +
                            quoted + "'"));
}

bool PgCluster::terminateBackend(int pid) {
    return scalar("SELECT pg_terminate_backend(" + std::to_string(pid) + ")") == "t";
}

} // namespace autoscale::test
