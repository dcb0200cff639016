// SPDX-License-Identifier: Apache-2.0
/// \file
/// Store on SQLite: one connection behind a mutex, WAL journal, numbered
/// migrations, compare-and-swap writes on server_version. Imports the rows of a
/// drone/autoscaler database found in the same file (same /data volume).

#include "autoscale/sqlite_store.h"

#include <array>
#include <fcntl.h>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <utility>

#include <sqlite3.h>

#include <autoscale/json.h>

#include "time_format.h"

namespace autoscale {

namespace {

struct DbDeleter {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtDeleter {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Db = std::unique_ptr<sqlite3, DbDeleter>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

/// A statement borrowed from the connection's cache: reset, with its
/// bindings cleared, when it goes out of scope. Preparing the same SQL on
/// every call cost most of a cycle (the simulation replays ~60,000 a week).
class CachedStmt {
public:
    explicit CachedStmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
    ~CachedStmt() {
        if (stmt_ != nullptr) {
            sqlite3_reset(stmt_);
            sqlite3_clear_bindings(stmt_);
        }
    }
    CachedStmt(CachedStmt&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
    CachedStmt& operator=(CachedStmt&&) = delete;
    CachedStmt(const CachedStmt&) = delete;
    CachedStmt& operator=(const CachedStmt&) = delete;

    [[nodiscard]] sqlite3_stmt* get() const { return stmt_; }

private:
    sqlite3_stmt* stmt_;
};

constexpr const char* kColumns =
        "server_name, server_id, server_provider, server_state, server_image, server_region, "
        "server_size, server_address, server_capacity, server_error, server_client_token, "
        "server_host_key, server_host_private_key, server_created, server_updated, "
        "server_started, server_stopped, server_last_busy, server_drain_started, server_version, "
        "server_pool, server_market, server_reclaim_notice, server_lost_builds";

/// kColumns for reading a database opened read-only that an older version
/// wrote (before 003_pools_markets): the new columns read as their defaults.
constexpr const char* kColumnsBeforePools =
        "server_name, server_id, server_provider, server_state, server_image, server_region, "
        "server_size, server_address, server_capacity, server_error, server_client_token, "
        "server_host_key, server_host_private_key, server_created, server_updated, "
        "server_started, server_stopped, server_last_busy, server_drain_started, server_version, "
        "'', '', 0, ''";

struct Migration {
    const char* name;
    const char* sql;
};

constexpr auto kMigrations = std::to_array<Migration>({
        {"001_create_servers",
         "CREATE TABLE autoscale_servers ("
         " server_name TEXT PRIMARY KEY,"
         " server_id TEXT NOT NULL DEFAULT '',"
         " server_provider TEXT NOT NULL DEFAULT '',"
         " server_state TEXT NOT NULL,"
         " server_image TEXT NOT NULL DEFAULT '',"
         " server_region TEXT NOT NULL DEFAULT '',"
         " server_size TEXT NOT NULL DEFAULT '',"
         " server_address TEXT NOT NULL DEFAULT '',"
         " server_capacity INTEGER NOT NULL DEFAULT 0,"
         " server_error TEXT NOT NULL DEFAULT '',"
         " server_client_token TEXT NOT NULL DEFAULT '',"
         " server_host_key TEXT NOT NULL DEFAULT '',"
         " server_host_private_key TEXT NOT NULL DEFAULT '',"
         " server_created INTEGER NOT NULL DEFAULT 0,"
         " server_updated INTEGER NOT NULL DEFAULT 0,"
         " server_started INTEGER NOT NULL DEFAULT 0,"
         " server_stopped INTEGER NOT NULL DEFAULT 0,"
         " server_last_busy INTEGER NOT NULL DEFAULT 0,"
         " server_drain_started INTEGER NOT NULL DEFAULT 0,"
         " server_version INTEGER NOT NULL DEFAULT 1);"
         "CREATE INDEX ix_autoscale_servers_id ON autoscale_servers(server_id);"
         "CREATE INDEX ix_autoscale_servers_state ON autoscale_servers(server_state);"},
        // drone/autoscaler keeps its rows in `servers` (Unix seconds, no version,
        // TLS keys in plaintext). Adopt the rows, not the keys; servers that were
        // still up are drained, so SSH-managed servers replace them.
        {"002_import_drone_autoscaler",
         "INSERT OR IGNORE INTO autoscale_servers (server_name, server_id, server_provider,"
         " server_state, server_image, server_region, server_size, server_address,"
         " server_capacity, server_error, server_created, server_updated, server_started,"
         " server_stopped, server_version)"
         " SELECT server_name, COALESCE(server_id, ''), COALESCE(server_provider, ''),"
         " CASE server_state WHEN 'pending' THEN 'error' WHEN 'creating' THEN 'error'"
         "  WHEN 'stopped' THEN 'terminated' WHEN 'error' THEN 'error'"
         "  WHEN 'stopping' THEN 'terminating' ELSE 'draining' END,"
         " COALESCE(server_image, ''), COALESCE(server_region, ''), COALESCE(server_size, ''),"
         " COALESCE(server_address, ''), COALESCE(server_capacity, 0),"
         " CASE WHEN server_state IN ('pending', 'creating')"
         "  THEN 'adopted from drone/autoscaler while ' || server_state"
         "  ELSE COALESCE(server_error, '') END,"
         " COALESCE(server_created, 0) * 1000, COALESCE(server_updated, 0) * 1000,"
         " COALESCE(server_started, 0) * 1000, COALESCE(server_stopped, 0) * 1000, 1"
         " FROM servers"},
        // Pools, markets, reclaim notices and lost builds; rows from before
        // pools have an empty pool: they belong to the first pool.
        {"003_pools_markets",
         "ALTER TABLE autoscale_servers ADD COLUMN server_pool TEXT NOT NULL DEFAULT '';"
         "ALTER TABLE autoscale_servers ADD COLUMN server_market TEXT NOT NULL DEFAULT '';"
         "ALTER TABLE autoscale_servers ADD COLUMN server_reclaim_notice INTEGER NOT NULL"
         " DEFAULT 0;"
         "ALTER TABLE autoscale_servers ADD COLUMN server_lost_builds TEXT NOT NULL DEFAULT '';"
         "CREATE INDEX ix_autoscale_servers_pool ON autoscale_servers(server_pool);"
         "CREATE TABLE autoscale_values (value_key TEXT PRIMARY KEY,"
         " value_text TEXT NOT NULL);"},
});

/// Live rows that count against the caps (countsAgainstCaps()).
constexpr const char* kCountedRows = "server_state <> 'terminated' AND server_reclaim_notice = 0";

std::int64_t toMillis(WallTime t) {
    if (t == WallTime{})
        return 0;
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

WallTime fromMillis(std::int64_t ms) {
    return WallTime{std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds{ms})};
}

std::string columnText(sqlite3_stmt* stmt, int column) {
    const auto* text = sqlite3_column_text(stmt, column);
    if (text == nullptr)
        return {};
    return {reinterpret_cast<const char*>(text),
            static_cast<std::size_t>(sqlite3_column_bytes(stmt, column))};
}

class SqliteStore final : public Store {
public:
    SqliteStore(Db db, std::string path, bool readOnly)
        : db_(std::move(db))
        , path_(std::move(path))
        , readOnly_(readOnly) {}

    Result<void> migrate() {
        const std::lock_guard lock(mutex_);
        if (auto r = exec("CREATE TABLE IF NOT EXISTS autoscale_migrations ("
                          " name TEXT PRIMARY KEY, applied INTEGER NOT NULL)");
            !r)
            return r;
        for (const auto& migration : kMigrations) {
            auto done = scalarInt("SELECT COUNT(*) FROM autoscale_migrations WHERE name = ?",
                                  migration.name);
            if (!done)
                return done.error();
            if (*done > 0)
                continue;
            const bool importStep =
                    std::string_view(migration.name) == "002_import_drone_autoscaler";
            if (importStep) {
                auto legacy = scalarInt(
                        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                        "servers");
                if (!legacy)
                    return legacy.error();
                if (*legacy == 0) {
                    if (auto r = recordMigration(migration.name); !r)
                        return r;
                    continue;
                }
            }
            if (auto r = exec("BEGIN IMMEDIATE"); !r)
                return r;
            auto applied = exec(migration.sql);
            if (applied)
                applied = recordMigration(migration.name);
            if (!applied) {
                (void)exec("ROLLBACK");
                Error e = applied.error();
                e.message = "migration " + std::string(migration.name) + " failed: " + e.message;
                return e;
            }
            if (auto r = exec("COMMIT"); !r)
                return r;
        }
        return {};
    }

    Result<Server> insertWithin(const Server& server, const InsertCaps& caps) override {
        if (readOnly_)
            return readOnlyError();
        const std::lock_guard lock(mutex_);
        const bool capped = caps.poolMax || caps.fleetMax;
        // The count and the insert are one transaction: BEGIN IMMEDIATE takes
        // the write lock first, so another process cannot insert in between.
        if (capped) {
            if (auto r = execWith("BEGIN IMMEDIATE", "insert " + server.name); !r)
                return r.error();
        }
        auto inserted = insertLocked(server, caps);
        if (capped) {
            if (inserted) {
                if (auto r = execWith("COMMIT", "insert " + server.name); !r) {
                    (void)exec("ROLLBACK");
                    return r.error();
                }
            } else {
                (void)exec("ROLLBACK");
            }
        }
        return inserted;
    }

    Result<Server> find(const std::string& name) override {
        const std::lock_guard lock(mutex_);
        return findLocked(name);
    }

    Result<std::vector<Server>> list() override {
        const std::lock_guard lock(mutex_);
        std::vector<Server> rows;
        if (!hasSchema_)
            return rows;
        auto stmt = cached(std::string("SELECT ") + readColumns() +
                           " FROM autoscale_servers ORDER BY server_created, server_name");
        if (!stmt)
            return stmt.error();
        int rc = 0;
        while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW)
            rows.push_back(readServer(stmt->get()));
        if (rc != SQLITE_DONE)
            return dbError("list servers");
        return rows;
    }

    /// This connection's own writes (every writer in the process shares it)
    /// plus the commits of other connections (PRAGMA data_version): two
    /// counters that only grow, so the sum is unchanged only when both are.
    std::optional<std::uint64_t> changeCount() override {
        const std::lock_guard lock(mutex_);
        auto stmt = cached("PRAGMA data_version");
        if (!stmt)
            return std::nullopt;
        if (sqlite3_step(stmt->get()) != SQLITE_ROW)
            return std::nullopt;
        const auto others = sqlite3_column_int64(stmt->get(), 0);
        const auto own = sqlite3_total_changes64(db_.get());
        return static_cast<std::uint64_t>(others) + static_cast<std::uint64_t>(own);
    }

    Result<std::vector<Server>> listPool(const std::string& pool) override {
        const std::lock_guard lock(mutex_);
        std::vector<Server> rows;
        if (!hasSchema_)
            return rows;
        if (beforePools_) { // No pool column: every row is of no pool.
            if (!pool.empty())
                return rows;
        }
        auto stmt = cached(beforePools_ ? std::string("SELECT ") + readColumns() +
                                                  " FROM autoscale_servers ORDER BY server_created,"
                                                  " server_name"
                                        : std::string("SELECT ") + readColumns() +
                                                  " FROM autoscale_servers WHERE server_pool = ?"
                                                  " ORDER BY server_created, server_name");
        if (!stmt)
            return stmt.error();
        if (!beforePools_)
            bindText(stmt->get(), 1, pool);
        int rc = 0;
        while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW)
            rows.push_back(readServer(stmt->get()));
        if (rc != SQLITE_DONE)
            return dbError("list servers of pool " + pool);
        return rows;
    }

    Result<Server> update(const Server& server) override {
        if (readOnly_)
            return readOnlyError();
        const std::lock_guard lock(mutex_);
        Server row = server;
        row.version = server.version + 1;
        auto stmt = cached(
                "UPDATE autoscale_servers SET server_id=?2, server_provider=?3, server_state=?4,"
                " server_image=?5, server_region=?6, server_size=?7, server_address=?8,"
                " server_capacity=?9, server_error=?10, server_client_token=?11,"
                " server_host_key=?12, server_host_private_key=?13, server_created=?14,"
                " server_updated=?15, server_started=?16, server_stopped=?17,"
                " server_last_busy=?18, server_drain_started=?19, server_version=?20,"
                " server_pool=?21, server_market=?22, server_reclaim_notice=?23,"
                " server_lost_builds=?24"
                " WHERE server_name=?1 AND server_version=?25");
        if (!stmt)
            return stmt.error();
        bindServer(stmt->get(), row);
        sqlite3_bind_int64(stmt->get(), 25, server.version);
        if (sqlite3_step(stmt->get()) != SQLITE_DONE)
            return dbError("update " + row.name);
        if (sqlite3_changes(db_.get()) == 1)
            return row;
        auto current = findLocked(server.name);
        if (!current)
            return current.error();
        return Error{.code = Errc::Conflict,
                     .message = "server " + server.name + " changed concurrently (version " +
                                std::to_string(current->version) + ", expected " +
                                std::to_string(server.version) + ")"};
    }

    Result<void> remove(const std::string& name, std::int64_t version) override {
        if (readOnly_)
            return readOnlyError();
        const std::lock_guard lock(mutex_);
        auto stmt = prepare(
                "DELETE FROM autoscale_servers WHERE server_name = ? AND server_version = ?");
        if (!stmt)
            return stmt.error();
        sqlite3_bind_text(stmt->get(), 1, name.c_str(), static_cast<int>(name.size()),
                          SQLITE_TRANSIENT);
        sqlite3_bind_int64(stmt->get(), 2, version);
        if (sqlite3_step(stmt->get()) != SQLITE_DONE)
            return dbError("delete " + name);
        if (sqlite3_changes(db_.get()) == 1)
            return {};
        auto current = findLocked(name);
        if (!current)
            return current.error();
        return makeError(Errc::Conflict, "server " + name + " changed concurrently");
    }

    Result<int> purge(WallTime before) override {
        if (readOnly_)
            return readOnlyError();
        const std::lock_guard lock(mutex_);
        auto stmt = prepare("DELETE FROM autoscale_servers WHERE server_state = 'terminated'"
                            " AND server_stopped < ?");
        if (!stmt)
            return stmt.error();
        sqlite3_bind_int64(stmt->get(), 1, toMillis(before));
        if (sqlite3_step(stmt->get()) != SQLITE_DONE)
            return dbError("purge");
        return sqlite3_changes(db_.get());
    }

    Result<std::optional<std::string>> getValue(const std::string& key) override {
        const std::lock_guard lock(mutex_);
        if (!hasSchema_ || beforePools_)
            return std::optional<std::string>{};
        auto stmt = cached("SELECT value_text FROM autoscale_values WHERE value_key = ?");
        if (!stmt)
            return stmt.error();
        bindText(stmt->get(), 1, key);
        const int rc = sqlite3_step(stmt->get());
        if (rc == SQLITE_DONE)
            return std::optional<std::string>{};
        if (rc != SQLITE_ROW)
            return dbError("read " + key);
        return std::optional<std::string>(columnText(stmt->get(), 0));
    }

    Result<void> putValue(const std::string& key, const std::string& value) override {
        if (readOnly_)
            return readOnlyError();
        const std::lock_guard lock(mutex_);
        auto stmt =
                cached("INSERT INTO autoscale_values (value_key, value_text) VALUES (?, ?)"
                       " ON CONFLICT(value_key) DO UPDATE SET value_text = excluded.value_text");
        if (!stmt)
            return stmt.error();
        bindText(stmt->get(), 1, key);
        bindText(stmt->get(), 2, value);
        if (sqlite3_step(stmt->get()) != SQLITE_DONE)
            return dbError("write " + key);
        return {};
    }

    void setHasSchema(bool has) { hasSchema_ = has; }
    /// A read-only database an older version wrote: no pool columns, no values.
    void setBeforePools(bool before) { beforePools_ = before; }

    Result<std::int64_t> scalarInt(const char* sql, const char* arg) {
        auto stmt = prepare(sql);
        if (!stmt)
            return stmt.error();
        sqlite3_bind_text(stmt->get(), 1, arg, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(stmt->get()) != SQLITE_ROW)
            return dbError(sql);
        return sqlite3_column_int64(stmt->get(), 0);
    }

    Result<void> exec(const char* sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message) != SQLITE_OK) {
            std::string text = message != nullptr ? message : sqlite3_errmsg(db_.get());
            sqlite3_free(message);
            return makeError(Errc::Io, path_ + ": " + text);
        }
        return {};
    }

private:
    [[nodiscard]] const char* readColumns() const {
        return beforePools_ ? kColumnsBeforePools : kColumns;
    }

    Error readOnlyError() const {
        return makeError(Errc::InvalidArgument, path_ + ": the store is open read-only");
    }

    Error dbError(const std::string& what) const {
        const int code = sqlite3_errcode(db_.get());
        const Errc kind =
                code == SQLITE_BUSY || code == SQLITE_LOCKED ? Errc::Unavailable : Errc::Io;
        return makeError(kind, path_ + ": " + what + ": " + sqlite3_errmsg(db_.get()));
    }

    /// The prepared statement for `sql`, from the cache. Call with mutex_ held.
    Result<CachedStmt> cached(const std::string& sql) {
        auto it = cache_.find(sql);
        if (it == cache_.end()) {
            auto stmt = prepare(sql);
            if (!stmt)
                return stmt.error();
            it = cache_.emplace(sql, std::move(*stmt)).first;
        }
        return CachedStmt(it->second.get());
    }

    Result<Stmt> prepare(const std::string& sql) {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(db_.get(), sql.c_str(), static_cast<int>(sql.size()), &raw,
                               nullptr) != SQLITE_OK)
            return dbError("prepare");
        return Stmt(raw);
    }

    Result<void> recordMigration(const char* name) {
        auto stmt = prepare("INSERT INTO autoscale_migrations (name, applied) VALUES (?, 1)");
        if (!stmt)
            return stmt.error();
        sqlite3_bind_text(stmt->get(), 1, name, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(stmt->get()) != SQLITE_DONE)
            return dbError("record migration");
        return {};
    }

    Result<Server> insertLocked(const Server& server, const InsertCaps& caps) {
        if (caps.poolMax) {
            auto n = countLive("server_pool = ?", server.pool);
            if (!n)
                return n.error();
            if (*n + 1 > *caps.poolMax) {
                return makeError(Errc::LimitReached, "pool " + server.pool + " has " +
                                                             std::to_string(*n) +
                                                             " live servers, its max is " +
                                                             std::to_string(*caps.poolMax));
            }
        }
        if (caps.fleetMax) {
            auto n = countLive("1 = 1", {});
            if (!n)
                return n.error();
            if (*n + 1 > *caps.fleetMax) {
                return makeError(Errc::LimitReached, "the fleet has " + std::to_string(*n) +
                                                             " live servers, its max is " +
                                                             std::to_string(*caps.fleetMax));
            }
        }
        Server row = server;
        row.version = 1;
        auto stmt = cached(std::string("INSERT INTO autoscale_servers (") + kColumns +
                           ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
        if (!stmt)
            return stmt.error();
        bindServer(stmt->get(), row);
        const int rc = sqlite3_step(stmt->get());
        if (rc == SQLITE_CONSTRAINT)
            return makeError(Errc::AlreadyExists, "a server named " + row.name + " already exists");
        if (rc != SQLITE_DONE)
            return dbError("insert " + row.name);
        return row;
    }

    /// Rows counted against the caps that also satisfy `where` (one `?`
    /// bound to `arg` when it is not empty).
    Result<std::int64_t> countLive(const char* where, const std::string& arg) {
        auto stmt = cached(std::string("SELECT COUNT(*) FROM autoscale_servers WHERE ") +
                           kCountedRows + " AND " + where);
        if (!stmt)
            return stmt.error();
        if (!arg.empty() || std::string_view(where).find('?') != std::string_view::npos)
            bindText(stmt->get(), 1, arg);
        if (sqlite3_step(stmt->get()) != SQLITE_ROW)
            return dbError("count servers");
        return sqlite3_column_int64(stmt->get(), 0);
    }

    Result<void> execWith(const char* sql, const std::string& what) {
        if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK)
            return dbError(what);
        return {};
    }

    Result<Server> findLocked(const std::string& name) {
        if (!hasSchema_)
            return makeError(Errc::NotFound, "no server named " + name);
        auto stmt = cached(std::string("SELECT ") + readColumns() +
                           " FROM autoscale_servers WHERE server_name = ?");
        if (!stmt)
            return stmt.error();
        sqlite3_bind_text(stmt->get(), 1, name.c_str(), static_cast<int>(name.size()),
                          SQLITE_TRANSIENT);
        const int rc = sqlite3_step(stmt->get());
        if (rc == SQLITE_DONE)
            return makeError(Errc::NotFound, "no server named " + name);
        if (rc != SQLITE_ROW)
            return dbError("find " + name);
        return readServer(stmt->get());
    }

    static void bindText(sqlite3_stmt* stmt, int index, const std::string& text) {
        sqlite3_bind_text(stmt, index, text.c_str(), static_cast<int>(text.size()),
                          SQLITE_TRANSIENT);
    }

    static void bindServer(sqlite3_stmt* stmt, const Server& s) {
        bindText(stmt, 1, s.name);
        bindText(stmt, 2, s.instanceId);
        bindText(stmt, 3, s.provider);
        bindText(stmt, 4, std::string(nameOf(s.state)));
        bindText(stmt, 5, s.image);
        bindText(stmt, 6, s.region);
        bindText(stmt, 7, s.size);
        bindText(stmt, 8, s.address);
        sqlite3_bind_int(stmt, 9, s.capacity);
        bindText(stmt, 10, s.error);
        bindText(stmt, 11, s.clientToken);
        bindText(stmt, 12, s.hostKey);
        bindText(stmt, 13, s.hostPrivateKey);
        sqlite3_bind_int64(stmt, 14, toMillis(s.created));
        sqlite3_bind_int64(stmt, 15, toMillis(s.updated));
        sqlite3_bind_int64(stmt, 16, toMillis(s.started));
        sqlite3_bind_int64(stmt, 17, toMillis(s.stopped));
        sqlite3_bind_int64(stmt, 18, toMillis(s.lastBusy));
        sqlite3_bind_int64(stmt, 19, toMillis(s.drainStarted));
        sqlite3_bind_int64(stmt, 20, s.version);
        bindText(stmt, 21, s.pool);
        bindText(stmt, 22, s.market);
        sqlite3_bind_int64(stmt, 23, toMillis(s.reclaimNotice));
        bindText(stmt, 24, s.lostBuilds.empty() ? std::string() : lostBuildsToJson(s.lostBuilds));
    }

    static Server readServer(sqlite3_stmt* stmt) {
        Server s;
        s.name = columnText(stmt, 0);
        s.instanceId = columnText(stmt, 1);
        s.provider = columnText(stmt, 2);
        restoreState(s, parseServerState(columnText(stmt, 3)).value_or(ServerState::Error));
        s.image = columnText(stmt, 4);
        s.region = columnText(stmt, 5);
        s.size = columnText(stmt, 6);
        s.address = columnText(stmt, 7);
        s.capacity = sqlite3_column_int(stmt, 8);
        s.error = columnText(stmt, 9);
        s.clientToken = columnText(stmt, 10);
        s.hostKey = columnText(stmt, 11);
        s.hostPrivateKey = columnText(stmt, 12);
        s.created = fromMillis(sqlite3_column_int64(stmt, 13));
        s.updated = fromMillis(sqlite3_column_int64(stmt, 14));
        s.started = fromMillis(sqlite3_column_int64(stmt, 15));
        s.stopped = fromMillis(sqlite3_column_int64(stmt, 16));
        s.lastBusy = fromMillis(sqlite3_column_int64(stmt, 17));
        s.drainStarted = fromMillis(sqlite3_column_int64(stmt, 18));
        s.version = sqlite3_column_int64(stmt, 19);
        s.pool = columnText(stmt, 20);
        s.market = columnText(stmt, 21);
        s.reclaimNotice = fromMillis(sqlite3_column_int64(stmt, 22));
        // A list this process wrote; an unreadable one reads as empty rather
        // than hiding the whole row.
        s.lostBuilds = parseLostBuildsJson(columnText(stmt, 23)).value_or(std::vector<LostBuild>{});
        return s;
    }

    Db db_;
    std::string path_;
    bool readOnly_;
    bool hasSchema_ = true;
    bool beforePools_ = false;
    std::mutex mutex_;
    std::unordered_map<std::string, Stmt> cache_; ///< Finalized before db_ closes.
};

/// A read-only store for a database file that does not exist: no rows.
class EmptyStore final : public Store {
public:
    explicit EmptyStore(std::string path) : path_(std::move(path)) {}
    Result<Server> insertWithin(const Server& /*server*/, const InsertCaps& /*caps*/) override {
        return denied();
    }
    Result<Server> find(const std::string& name) override {
        return makeError(Errc::NotFound, "no server named " + name);
    }
    Result<std::vector<Server>> list() override { return std::vector<Server>{}; }
    Result<Server> update(const Server& /*server*/) override { return denied(); }
    Result<void> remove(const std::string& /*name*/, std::int64_t /*version*/) override {
        return denied();
    }
    Result<int> purge(WallTime /*before*/) override { return denied(); }
    Result<std::optional<std::string>> getValue(const std::string& /*key*/) override {
        return std::optional<std::string>{};
    }
    Result<void> putValue(const std::string& /*key*/, const std::string& /*value*/) override {
        return denied();
    }

private:
    Error denied() const {
        return makeError(Errc::InvalidArgument, path_ + ": the store is open read-only");
    }
    std::string path_;
};

} // namespace

std::string sqlitePathFromDatasource(const std::string& datasource) {
    std::string path = datasource;
    if (path.starts_with("file:"))
        path = path.substr(5);
    if (const auto q = path.find('?'); q != std::string::npos)
        path.resize(q);
    return path;
}

Result<std::unique_ptr<Store>> openSqliteStore(const SqliteOptions& options) {
    const std::string& path = options.path;
    const bool memory = path == ":memory:";
    if (options.readOnly && !memory) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0)
            return std::unique_ptr<Store>(std::make_unique<EmptyStore>(path));
    }
    if (!options.readOnly && !memory) {
        // Create the file ourselves so that it is 0600 from its first byte.
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return makeError(Errc::Io, path + ": cannot create the database file");
        const int rc = ::fchmod(fd, 0600);
        ::close(fd);
        if (rc != 0)
            return makeError(Errc::Io, path + ": cannot set the database file to mode 0600");
    }
    sqlite3* raw = nullptr;
    const int flags = (options.readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                      SQLITE_OPEN_FULLMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    Db db(raw);
    if (rc != SQLITE_OK) {
        return makeError(Errc::Io,
                         path + ": cannot open the database: " +
                                 (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    sqlite3_busy_timeout(db.get(), static_cast<int>(options.busyTimeout.count()));
    auto store = std::make_unique<SqliteStore>(std::move(db), path, options.readOnly);
    if (options.readOnly) {
        auto has = store->scalarInt(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                "autoscale_servers");
        if (!has)
            return has.error();
        store->setHasSchema(*has > 0);
        if (*has > 0) {
            auto pools =
                    store->scalarInt("SELECT COUNT(*) FROM autoscale_migrations WHERE name = ?",
                                     "003_pools_markets");
            if (!pools)
                return pools.error();
            store->setBeforePools(*pools == 0);
        }
        return std::unique_ptr<Store>(std::move(store));
    }
    if (!memory) {
        if (auto r = store->exec("PRAGMA journal_mode=WAL"); !r)
            return r.error();
    }
    if (auto r = store->exec("PRAGMA synchronous=NORMAL"); !r)
        return r.error();
    if (auto r = store->migrate(); !r)
        return r.error();
    return std::unique_ptr<Store>(std::move(store));
}

} // namespace autoscale
