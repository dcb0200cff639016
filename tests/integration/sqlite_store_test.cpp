// SPDX-License-Identifier: Apache-2.0
/// \file
/// The SQLite store: the Store contract on a file and on :memory:, then what is
/// SQLite's own: races between connections, file mode, read-only mode,
/// migrations, drone/autoscaler import.

#include <atomic>
#include <sys/stat.h>
#include <thread>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <autoscale/sqlite_store.h>

#include "doctest_support.h"
#include "store_contract.h"
#include "temp_dir.h"

namespace autoscale::test {

/// A fresh database file in a temporary directory, shareable between
/// connections and processes.
struct SqliteFileBackend {
    static StoreUnderTest open() {
        auto dir = std::make_shared<TempDir>();
        const std::string path = dir->file("db.sqlite");
        auto store = openSqliteStore({.path = path});
        REQUIRE(store);
        return {.keepAlive = dir,
                .store = std::move(*store),
                .connect =
                        [path] {
                            auto another = openSqliteStore({.path = path});
                            REQUIRE(another);
                            return std::move(*another);
                        },
                .helperArgs = {"sqlite", path}};
    }
};

/// A private in-memory database: one connection, one process.
struct SqliteMemoryBackend {
    static StoreUnderTest open() {
        auto store = openSqliteStore({.path = ":memory:"});
        REQUIRE(store);
        return {.store = std::move(*store)};
    }
};

} // namespace autoscale::test

TYPE_TO_STRING(autoscale::test::SqliteFileBackend);
TYPE_TO_STRING(autoscale::test::SqliteMemoryBackend);
AUTOSCALE_STORE_CONTRACT(autoscale::test::SqliteFileBackend)
AUTOSCALE_STORE_CONTRACT(autoscale::test::SqliteMemoryBackend)

namespace autoscale {
namespace {

using namespace std::chrono_literals;

const WallTime kNow = WallTime{std::chrono::seconds{1'800'000'000}};

Server sample(const std::string& name) {
    return Server{.name = name,
                  .instanceId = "i-0abc",
                  .state = ServerState::Creating,
                  .image = "ami-1",
                  .region = "us-east-1a",
                  .size = "t3.medium",
                  .address = "10.0.0.5",
                  .capacity = 2,
                  .clientToken = "tok-" + name,
                  .hostKey = "ssh-ed25519 AAAA",
                  .hostPrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----",
                  .created = kNow,
                  .updated = kNow,
                  .lastBusy = kNow + 1500ms};
}

std::unique_ptr<Store> open(const std::string& path, bool readOnly = false) {
    auto store = openSqliteStore({.path = path, .readOnly = readOnly});
    REQUIRE(store);
    return std::move(*store);
}

TEST_CASE("two connections racing on one file: exactly one wins") {
    test::TempDir dir;
    const std::string path = dir.file("db.sqlite");
    auto first = open(path);
    auto second = open(path);
    const Server row = first->insert(sample("agent-1")).value();
    for (int round = 0; round < 20; ++round) {
        const Server base = first->find("agent-1").value();
        std::atomic<int> wins{0};
        std::atomic<int> conflicts{0};
        auto attempt = [&](Store& store, ServerState to) {
            Server mine = base;
            mine.state = to;
            const auto r = store.update(mine);
            if (r)
                ++wins;
            else if (r.error().code == Errc::Conflict)
                ++conflicts;
        };
        std::thread a(attempt, std::ref(*first), ServerState::Running);
        std::thread b(attempt, std::ref(*second), ServerState::Error);
        a.join();
        b.join();
        CHECK(wins == 1);
        CHECK(conflicts == 1);
        CHECK(first->find("agent-1")->version == base.version + 1);
    }
    CHECK(second->find("agent-1")->version == row.version + 20);
}

TEST_CASE("the database file is created with mode 0600") {
    test::TempDir dir;
    const std::string path = dir.file("db.sqlite");
    {
        auto store = open(path);
        REQUIRE(store->insert(sample("a")));
    }
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777U) == 0600U);
    ::chmod(path.c_str(), 0644);
    auto again = open(path);
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777U) == 0600U);
}

TEST_CASE("read-only mode never creates or writes the file") {
    test::TempDir dir;
    const std::string path = dir.file("absent.sqlite");
    {
        auto store = open(path, true);
        CHECK(store->list()->empty());
        CHECK(store->insert(sample("a")).error().code == Errc::InvalidArgument);
    }
    CHECK_FALSE(std::filesystem::exists(path));

    const std::string existing = dir.file("db.sqlite");
    {
        auto rw = open(existing);
        REQUIRE(rw->insert(sample("a")));
    }
    const auto sizeBefore = std::filesystem::file_size(existing);
    auto ro = open(existing, true);
    REQUIRE(ro->list()->size() == 1);
    Server row = ro->find("a").value();
    row.state = ServerState::Running;
    CHECK_FALSE(ro->update(row));
    CHECK_FALSE(ro->remove("a", row.version));
    CHECK_FALSE(ro->purge(kNow));
    CHECK(std::filesystem::file_size(existing) == sizeBefore);
}

TEST_CASE("migrations run once and reopening is harmless") {
    test::TempDir dir;
    const std::string path = dir.file("db.sqlite");
    open(path);
    auto again = open(path);
    REQUIRE(again->insert(sample("a")));
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM autoscale_migrations", -1, &stmt,
                               nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    CHECK(sqlite3_column_int(stmt, 0) == 3);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

TEST_CASE("a database from before pools: read-only reads it as it is, read-write migrates its "
          "rows into the first pool") {
    test::TempDir dir;
    const std::string path = dir.file("db.sqlite");
    open(path)->insert(sample("old")).value();
    // Undo migration 003 as an older version left the file.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    for (const char* sql : {"DROP INDEX ix_autoscale_servers_pool",
                            "ALTER TABLE autoscale_servers DROP COLUMN server_pool",
                            "ALTER TABLE autoscale_servers DROP COLUMN server_market",
                            "ALTER TABLE autoscale_servers DROP COLUMN server_reclaim_notice",
                            "ALTER TABLE autoscale_servers DROP COLUMN server_lost_builds",
                            "DROP TABLE autoscale_values",
                            "DELETE FROM autoscale_migrations WHERE name = '003_pools_markets'"}) {
        INFO(sql);
        REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
    }
    sqlite3_close(db);

    auto ro = open(path, true);
    const auto rows = ro->list();
    REQUIRE(rows);
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().name == "old");
    CHECK(rows->front().pool.empty());
    CHECK(ro->find("old")->name == "old");
    CHECK_FALSE(ro->getValue("paused")->has_value());
    ro.reset();

    auto rw = open(path);
    REQUIRE(rw->find("old"));
    CHECK(rw->find("old")->pool.empty());
    Server row = *rw->find("old");
    row.pool = "amd64";
    REQUIRE(rw->update(row));
    CHECK(rw->find("old")->pool == "amd64");
    REQUIRE(rw->putValue("paused", "true"));
}

TEST_CASE("a drone/autoscaler database in the same file is adopted, keys left behind") {
    test::TempDir dir;
    const std::string path = dir.file("database.sqlite");
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    const char* legacy =
            "CREATE TABLE servers (server_name TEXT PRIMARY KEY, server_id TEXT,"
            " server_provider TEXT, server_state TEXT, server_image TEXT, server_region TEXT,"
            " server_size TEXT, server_platform TEXT, server_address TEXT,"
            " server_capacity INTEGER, server_secret TEXT, server_error TEXT,"
            " server_ca_key TEXT, server_ca_cert TEXT, server_tls_key TEXT,"
            " server_tls_cert TEXT, server_created INTEGER, server_updated INTEGER,"
            " server_started INTEGER, server_stopped INTEGER);"
            "INSERT INTO servers VALUES ('agent-run', 'i-1', 'amazon', 'running', 'ami-1',"
            " 'us-east-1a', 't3.medium', '', '1.2.3.4', 2, 'x', '', 'CAKEY', 'CACERT', 'TLSKEY',"
            " 'TLSCERT', 1700000000, 1700000100, 1700000050, 0);"
            "INSERT INTO servers VALUES ('agent-gone', 'i-2', 'amazon', 'stopped', 'ami-1', '',"
            " 't3.medium', '', '', 2, '', '', '', '', '', '', 1700000000, 1700000100, 0,"
            " 1700000200);";
    REQUIRE(sqlite3_exec(db, legacy, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);

    auto store = open(path);
    const auto run = store->find("agent-run");
    REQUIRE(run);
    CHECK(run->state == ServerState::Draining);
    CHECK(run->instanceId == "i-1");
    CHECK(run->address == "1.2.3.4");
    CHECK(run->created == WallTime{std::chrono::seconds{1700000000}});
    CHECK(run->hostPrivateKey.empty());
    CHECK(store->find("agent-gone")->state == ServerState::Terminated);
    CHECK(store->find("agent-gone")->stopped == WallTime{std::chrono::seconds{1700000200}});
}

TEST_CASE("the datasource's query string is dropped") {
    CHECK(sqlitePathFromDatasource("/data/database.sqlite?cache=shared&mode=rwc") ==
          "/data/database.sqlite");
    CHECK(sqlitePathFromDatasource("file:db.sqlite?x=1") == "db.sqlite");
    CHECK(sqlitePathFromDatasource("database.sqlite") == "database.sqlite");
}

TEST_CASE("an unopenable path is an error naming it") {
    const auto store = openSqliteStore({.path = "/nonexistent-dir/x/db.sqlite"});
    REQUIRE_FALSE(store);
    CHECK(store.error().code == Errc::Io);
    CHECK(store.error().message.find("/nonexistent-dir/x/db.sqlite") != std::string::npos);
}

} // namespace
} // namespace autoscale
