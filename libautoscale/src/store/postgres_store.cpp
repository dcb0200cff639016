// SPDX-License-Identifier: Apache-2.0
/// \file
/// Store on PostgreSQL: one connection behind a mutex, numbered migrations run
/// under an advisory transaction lock, compare-and-swap writes on
/// server_version, capped inserts serialized on an advisory transaction lock,
/// fenced views checking the leadership epoch (FOR SHARE) in the write's
/// transaction, and reconnect with back-off.

#include "autoscale/postgres_store.h"

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <utility>

#include <autoscale/json.h>

#include "pg_connection.h"

namespace autoscale {

namespace {

/// pg_advisory_xact_lock keys ("as" + a number): migrations, capped inserts.
constexpr const char* kMigrateLockKey = "7262101";
constexpr const char* kCapsLockKey = "7262102";

constexpr const char* kColumns =
        "server_name, server_id, server_provider, server_state, server_image, server_region, "
        "server_size, server_address, server_capacity, server_error, server_client_token, "
        "server_host_key, server_host_private_key, server_created, server_updated, "
        "server_started, server_stopped, server_last_busy, server_drain_started, server_version, "
        "server_pool, server_market, server_reclaim_notice, server_lost_builds";

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
         " server_created BIGINT NOT NULL DEFAULT 0,"
         " server_updated BIGINT NOT NULL DEFAULT 0,"
         " server_started BIGINT NOT NULL DEFAULT 0,"
         " server_stopped BIGINT NOT NULL DEFAULT 0,"
         " server_last_busy BIGINT NOT NULL DEFAULT 0,"
         " server_drain_started BIGINT NOT NULL DEFAULT 0,"
         " server_version BIGINT NOT NULL DEFAULT 1,"
         " server_pool TEXT NOT NULL DEFAULT '',"
         " server_market TEXT NOT NULL DEFAULT '',"
         " server_reclaim_notice BIGINT NOT NULL DEFAULT 0,"
         " server_lost_builds TEXT NOT NULL DEFAULT '');"
         "CREATE INDEX ix_autoscale_servers_id ON autoscale_servers(server_id);"
         "CREATE INDEX ix_autoscale_servers_state ON autoscale_servers(server_state);"
         "CREATE INDEX ix_autoscale_servers_pool ON autoscale_servers(server_pool);"},
        {"002_create_values", "CREATE TABLE autoscale_values (value_key TEXT PRIMARY KEY,"
                              " value_text TEXT NOT NULL)"},
        // One row: the leadership term (fencing epoch) and who holds it.
        // WAL-logged, so it survives a database failover.
        {"003_create_leadership",
         "CREATE TABLE autoscale_leadership (name TEXT PRIMARY KEY CHECK (name = 'scaler'),"
         " epoch BIGINT NOT NULL, holder TEXT NOT NULL, since BIGINT NOT NULL);"
         "INSERT INTO autoscale_leadership VALUES ('scaler', 0, '', 0)"},
});

constexpr const char* kCountedRows = "server_state <> 'terminated' AND server_reclaim_notice = 0";

std::int64_t toMillis(WallTime t) {
    if (t == WallTime{})
        return 0;
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

WallTime fromMillis(std::int64_t ms) {
    return WallTime{std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds{ms})};
}

std::string str(std::int64_t n) {
    return std::to_string(n);
}

/// The error of `r`, or success.
template <typename T>
Result<void> voidOf(const Result<T>& r) {
    if (!r)
        return r.error();
    return {};
}

/// The 24 columns of kColumns as text parameters $1..$24.
std::vector<std::string> paramsOf(const Server& s) {
    return {s.name,
            s.instanceId,
            s.provider,
            std::string(nameOf(s.state)),
            s.image,
            s.region,
            s.size,
            s.address,
            str(s.capacity),
            s.error,
            s.clientToken,
            s.hostKey,
            s.hostPrivateKey,
            str(toMillis(s.created)),
            str(toMillis(s.updated)),
            str(toMillis(s.started)),
            str(toMillis(s.stopped)),
            str(toMillis(s.lastBusy)),
            str(toMillis(s.drainStarted)),
            str(s.version),
            s.pool,
            s.market,
            str(toMillis(s.reclaimNotice)),
            s.lostBuilds.empty() ? std::string() : lostBuildsToJson(s.lostBuilds)};
}

Server readServer(const PGresult* r, int row) {
    using pg::integer;
    using pg::text;
    Server s;
    s.name = text(r, row, 0);
    s.instanceId = text(r, row, 1);
    s.provider = text(r, row, 2);
    restoreState(s, parseServerState(text(r, row, 3)).value_or(ServerState::Error));
    s.image = text(r, row, 4);
    s.region = text(r, row, 5);
    s.size = text(r, row, 6);
    s.address = text(r, row, 7);
    s.capacity = static_cast<int>(integer(r, row, 8));
    s.error = text(r, row, 9);
    s.clientToken = text(r, row, 10);
    s.hostKey = text(r, row, 11);
    s.hostPrivateKey = text(r, row, 12);
    s.created = fromMillis(integer(r, row, 13));
    s.updated = fromMillis(integer(r, row, 14));
    s.started = fromMillis(integer(r, row, 15));
    s.stopped = fromMillis(integer(r, row, 16));
    s.lastBusy = fromMillis(integer(r, row, 17));
    s.drainStarted = fromMillis(integer(r, row, 18));
    s.version = integer(r, row, 19);
    s.pool = text(r, row, 20);
    s.market = text(r, row, 21);
    s.reclaimNotice = fromMillis(integer(r, row, 22));
    s.lostBuilds = parseLostBuildsJson(text(r, row, 23)).value_or(std::vector<LostBuild>{});
    return s;
}

int affected(const PGresult* r) {
    const char* n = PQcmdTuples(const_cast<PGresult*>(r));
    return n != nullptr && *n != '\0' ? std::atoi(n) : 0;
}

} // namespace

/// What a store and its fenced views share: the connection and its state.
struct PostgresStore::Shared {
    explicit Shared(const PostgresOptions& opts)
        : options(opts)
        , clock(opts.clock ? opts.clock : std::shared_ptr<const Clock>(makeSystemClock()))
        , conn(opts.dsn, {{"application_name", opts.applicationName}, {"connect_timeout", "5"}}, {})
        , backoff(opts.reconnectMin) {}

    /// Connects if the connection is down and the back-off allows. Call with mutex held.
    Result<void> ensureConnected() {
        if (conn.connected())
            return {};
        const auto now = clock->steadyNow();
        if (everConnected && now < nextAttempt) {
            return makeError(
                    Errc::Unavailable,
                    "postgres " + conn.label() + ": the connection is down; retrying in " +
                            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   nextAttempt - now)
                                                   .count()) +
                            " ms");
        }
        auto connected = conn.connect();
        if (connected) {
            const std::string set =
                    "SET statement_timeout = " + std::to_string(options.statementTimeout.count());
            connected = conn.command(set.c_str(), "set statement_timeout");
            if (connected && options.readOnly)
                connected = conn.command("SET default_transaction_read_only = on", "read-only");
        }
        if (!connected) {
            nextAttempt = now + backoff;
            backoff = std::min(backoff * 2, options.reconnectMax);
            return connected.error();
        }
        everConnected = true;
        backoff = options.reconnectMin;
        return {};
    }

    Result<pg::PgResult> query(const std::string& sql, const std::vector<std::string>& params,
                               const std::string& what) {
        if (auto r = ensureConnected(); !r)
            return r.error();
        return conn.query(sql, params, what);
    }

    Result<void> command(const char* sql, const std::string& what) {
        if (auto r = ensureConnected(); !r)
            return r;
        return conn.command(sql, what);
    }

    /// Runs `body` in a transaction (BEGIN, body, COMMIT; ROLLBACK when it
    /// fails). Call with mutex held.
    template <typename T, typename Body>
    Result<T> transaction(const std::string& what, Body&& body) {
        if (auto r = command("BEGIN", what); !r)
            return r.error();
        Result<T> result = body();
        if (!result) {
            if (conn.connected())
                (void)conn.command("ROLLBACK", what);
            return result;
        }
        if (auto r = conn.command("COMMIT", what); !r)
            return r.error();
        return result;
    }

    /// Checks, inside a transaction, that the epoch is still `epoch`; the
    /// FOR SHARE row lock makes a concurrent election wait for this write.
    Result<void> checkEpoch(std::int64_t epoch) {
        auto r = conn.query("SELECT epoch FROM autoscale_leadership WHERE name = 'scaler'"
                            " FOR SHARE",
                            {}, "check the leadership epoch");
        if (!r)
            return r.error();
        const std::int64_t stored = PQntuples(r->get()) == 1 ? pg::integer(r->get(), 0, 0) : 0;
        if (stored != epoch) {
            return makeError(Errc::NotLeader, "leadership epoch " + std::to_string(epoch) +
                                                      " has ended (the store is at epoch " +
                                                      std::to_string(stored) +
                                                      "); this write was not made");
        }
        return {};
    }

    Result<Server> findLocked(const std::string& name) {
        if (!hasSchema)
            return makeError(Errc::NotFound, "no server named " + name);
        auto r = query(std::string("SELECT ") + kColumns +
                               " FROM autoscale_servers WHERE server_name = $1",
                       {name}, "find " + name);
        if (!r)
            return r.error();
        if (PQntuples(r->get()) == 0)
            return makeError(Errc::NotFound, "no server named " + name);
        return readServer(r->get(), 0);
    }

    Result<void> migrate() {
        return voidOf(transaction<bool>("migrate", [&]() -> Result<bool> {
            if (auto r = conn.query(std::string("SELECT pg_advisory_xact_lock(") + kMigrateLockKey +
                                            ")",
                                    {}, "lock migrations");
                !r)
                return r.error();
            if (auto r = conn.command("CREATE TABLE IF NOT EXISTS autoscale_migrations ("
                                      " name TEXT PRIMARY KEY, applied BIGINT NOT NULL)",
                                      "create the migrations table");
                !r)
                return r.error();
            for (const auto& m : kMigrations) {
                auto done = conn.query("SELECT 1 FROM autoscale_migrations WHERE name = $1",
                                       {m.name}, "read migrations");
                if (!done)
                    return done.error();
                if (PQntuples(done->get()) > 0)
                    continue;
                if (auto r = conn.command(m.sql, std::string("migration ") + m.name); !r)
                    return r.error();
                if (auto r = conn.query("INSERT INTO autoscale_migrations (name, applied)"
                                        " VALUES ($1, $2)",
                                        {m.name, str(toMillis(clock->now()))}, "record migration");
                    !r)
                    return r.error();
            }
            return true;
        }));
    }

    PostgresOptions options;
    std::shared_ptr<const Clock> clock;
    std::mutex mutex;
    pg::Connection conn;
    bool everConnected = false;
    bool hasSchema = true;
    SteadyTime nextAttempt{};
    std::chrono::milliseconds backoff;
};

PostgresStore::PostgresStore(std::shared_ptr<Shared> shared, std::optional<std::int64_t> fence,
                             WriteGuard guard)
    : shared_(std::move(shared))
    , fence_(fence)
    , guard_(std::move(guard)) {
}

PostgresStore::~PostgresStore() = default;

Result<void> PostgresStore::checkWritable() {
    if (shared_->options.readOnly) {
        return makeError(Errc::InvalidArgument,
                         "postgres " + shared_->conn.label() + ": the store is open read-only");
    }
    if (guard_) {
        if (auto r = guard_(); !r)
            return r;
    }
    return {};
}

template <typename T, typename Body>
Result<T> PostgresStore::write(const std::string& what, bool atomic, Body body) {
    if (auto r = checkWritable(); !r)
        return r.error();
    const std::lock_guard lock(shared_->mutex);
    Shared& db = *shared_;
    auto fenced = [&]() -> Result<T> {
        if (fence_) {
            if (auto r = db.checkEpoch(*fence_); !r)
                return r.error();
        }
        return body(db);
    };
    if (!fence_ && !atomic) {
        if (auto r = db.ensureConnected(); !r)
            return r.error();
        return fenced();
    }
    return db.transaction<T>(what, fenced);
}

Result<Server> PostgresStore::insertWithin(const Server& server, const InsertCaps& caps) {
    Server row = server;
    row.version = 1;
    const bool capped = caps.poolMax || caps.fleetMax;
    return write<Server>("insert " + row.name, capped, [&](Shared& db) -> Result<Server> {
        if (capped) {
            // Capped inserts take turns: each counts what the earlier ones committed.
            if (auto r = db.conn.query(std::string("SELECT pg_advisory_xact_lock(") + kCapsLockKey +
                                               ")",
                                       {}, "lock caps");
                !r)
                return r.error();
            auto counts = db.conn.query(
                    std::string("SELECT COUNT(*) FILTER (WHERE server_pool = $1), COUNT(*)"
                                " FROM autoscale_servers WHERE ") +
                            kCountedRows,
                    {server.pool}, "count servers");
            if (!counts)
                return counts.error();
            const auto inPool = pg::integer(counts->get(), 0, 0);
            const auto inFleet = pg::integer(counts->get(), 0, 1);
            if (caps.poolMax && inPool + 1 > *caps.poolMax) {
                return makeError(Errc::LimitReached, "pool " + server.pool + " has " + str(inPool) +
                                                             " live servers, its max is " +
                                                             str(*caps.poolMax));
            }
            if (caps.fleetMax && inFleet + 1 > *caps.fleetMax) {
                return makeError(Errc::LimitReached, "the fleet has " + str(inFleet) +
                                                             " live servers, its max is " +
                                                             str(*caps.fleetMax));
            }
        }
        auto r = db.conn.query(std::string("INSERT INTO autoscale_servers (") + kColumns +
                                       ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,"
                                       "$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24)"
                                       " ON CONFLICT (server_name) DO NOTHING",
                               paramsOf(row), "insert " + row.name);
        if (!r)
            return r.error();
        if (affected(r->get()) != 1)
            return makeError(Errc::AlreadyExists, "a server named " + row.name + " already exists");
        return row;
    });
}

Result<Server> PostgresStore::find(const std::string& name) {
    const std::lock_guard lock(shared_->mutex);
    return shared_->findLocked(name);
}

Result<std::vector<Server>> PostgresStore::list() {
    const std::lock_guard lock(shared_->mutex);
    std::vector<Server> rows;
    if (!shared_->hasSchema)
        return rows;
    auto r = shared_->query(std::string("SELECT ") + kColumns +
                                    " FROM autoscale_servers ORDER BY server_created, server_name",
                            {}, "list servers");
    if (!r)
        return r.error();
    const int n = PQntuples(r->get());
    rows.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        rows.push_back(readServer(r->get(), i));
    return rows;
}

Result<Server> PostgresStore::update(const Server& server) {
    return write<Server>("update " + server.name, false, [&](Shared& db) -> Result<Server> {
        Server row = server;
        row.version = server.version + 1;
        auto params = paramsOf(row);
        params.push_back(str(server.version));
        auto r = db.conn.query(
                "UPDATE autoscale_servers SET server_id=$2, server_provider=$3, server_state=$4,"
                " server_image=$5, server_region=$6, server_size=$7, server_address=$8,"
                " server_capacity=$9, server_error=$10, server_client_token=$11,"
                " server_host_key=$12, server_host_private_key=$13, server_created=$14,"
                " server_updated=$15, server_started=$16, server_stopped=$17,"
                " server_last_busy=$18, server_drain_started=$19, server_version=$20,"
                " server_pool=$21, server_market=$22, server_reclaim_notice=$23,"
                " server_lost_builds=$24"
                " WHERE server_name=$1 AND server_version=$25",
                params, "update " + row.name);
        if (!r)
            return r.error();
        if (affected(r->get()) == 1)
            return row;
        auto current = db.findLocked(server.name);
        if (!current)
            return current.error();
        return makeError(Errc::Conflict,
                         "server " + server.name + " changed concurrently (version " +
                                 str(current->version) + ", expected " + str(server.version) + ")");
    });
}

Result<void> PostgresStore::remove(const std::string& name, std::int64_t version) {
    return voidOf(write<bool>("delete " + name, false, [&](Shared& db) -> Result<bool> {
        auto r = db.conn.query("DELETE FROM autoscale_servers WHERE server_name = $1"
                               " AND server_version = $2",
                               {name, str(version)}, "delete " + name);
        if (!r)
            return r.error();
        if (affected(r->get()) == 1)
            return true;
        auto current = db.findLocked(name);
        if (!current)
            return current.error();
        return makeError(Errc::Conflict, "server " + name + " changed concurrently");
    }));
}

Result<int> PostgresStore::purge(WallTime before) {
    return write<int>("purge", false, [&](Shared& db) -> Result<int> {
        auto r = db.conn.query("DELETE FROM autoscale_servers WHERE server_state = 'terminated'"
                               " AND server_stopped < $1",
                               {str(toMillis(before))}, "purge");
        if (!r)
            return r.error();
        return affected(r->get());
    });
}

Result<std::optional<std::string>> PostgresStore::getValue(const std::string& key) {
    const std::lock_guard lock(shared_->mutex);
    if (!shared_->hasSchema)
        return std::optional<std::string>{};
    auto r = shared_->query("SELECT value_text FROM autoscale_values WHERE value_key = $1", {key},
                            "read " + key);
    if (!r)
        return r.error();
    if (PQntuples(r->get()) == 0)
        return std::optional<std::string>{};
    return std::optional<std::string>(pg::text(r->get(), 0, 0));
}

Result<void> PostgresStore::putValue(const std::string& key, const std::string& value) {
    return voidOf(write<bool>("write " + key, false, [&](Shared& db) -> Result<bool> {
        auto r = db.conn.query("INSERT INTO autoscale_values (value_key, value_text)"
                               " VALUES ($1, $2) ON CONFLICT (value_key)"
                               " DO UPDATE SET value_text = excluded.value_text",
                               {key, value}, "write " + key);
        if (!r)
            return r.error();
        return true;
    }));
}

std::unique_ptr<Store> PostgresStore::fencedBy(std::int64_t epoch, WriteGuard guard) {
    return std::unique_ptr<Store>(new PostgresStore(shared_, epoch, std::move(guard)));
}

Result<PostgresStore::Leadership> PostgresStore::leadership() {
    const std::lock_guard lock(shared_->mutex);
    if (!shared_->hasSchema)
        return Leadership{};
    auto r = shared_->query("SELECT epoch, holder, since FROM autoscale_leadership"
                            " WHERE name = 'scaler'",
                            {}, "read the leadership row");
    if (!r)
        return r.error();
    if (PQntuples(r->get()) == 0)
        return Leadership{};
    return Leadership{.epoch = pg::integer(r->get(), 0, 0),
                      .holder = pg::text(r->get(), 0, 1),
                      .since = fromMillis(pg::integer(r->get(), 0, 2))};
}

Result<std::int64_t> PostgresStore::bumpEpoch(const std::string& holder) {
    if (shared_->options.readOnly) {
        return makeError(Errc::InvalidArgument,
                         "postgres " + shared_->conn.label() + ": the store is open read-only");
    }
    const std::lock_guard lock(shared_->mutex);
    auto r = shared_->query("UPDATE autoscale_leadership SET epoch = epoch + 1, holder = $1,"
                            " since = $2 WHERE name = 'scaler' RETURNING epoch",
                            {holder, str(toMillis(shared_->clock->now()))}, "bump the epoch");
    if (!r)
        return r.error();
    if (PQntuples(r->get()) != 1)
        return makeError(Errc::Io, "postgres " + shared_->conn.label() + ": no leadership row");
    return pg::integer(r->get(), 0, 0);
}

Result<PostgresStore::ImportReport>
PostgresStore::importRows(const std::vector<Server>& rows,
                          const std::map<std::string, std::string>& values) {
    if (auto r = checkWritable(); !r)
        return r.error();
    const std::lock_guard lock(shared_->mutex);
    Shared& db = *shared_;
    return db.transaction<ImportReport>("import", [&]() -> Result<ImportReport> {
        if (auto r =
                    db.conn.query(std::string("SELECT pg_advisory_xact_lock(") + kCapsLockKey + ")",
                                  {}, "lock caps");
            !r)
            return r.error();
        auto existing = db.conn.query(std::string("SELECT ") + kColumns +
                                              " FROM autoscale_servers FOR UPDATE",
                                      {}, "read the target's servers");
        if (!existing)
            return existing.error();
        std::map<std::string, Server> present;
        for (int i = 0; i < PQntuples(existing->get()); ++i) {
            Server s = readServer(existing->get(), i);
            present.emplace(s.name, std::move(s));
        }
        std::map<std::string, const Server*> wanted;
        for (const auto& row : rows)
            wanted.emplace(row.name, &row);
        ImportReport report;
        for (const auto& [name, row] : present) {
            const auto it = wanted.find(name);
            if (it == wanted.end() || !(*it->second == row)) {
                return makeError(Errc::Conflict,
                                 "the target already holds server " + name +
                                         (it == wanted.end()
                                                  ? ", which the source does not have"
                                                  : ", which differs from the source's") +
                                         " (another fleet's rows, or changed since an earlier "
                                         "copy); nothing was copied");
            }
        }
        auto storedValues = db.conn.query("SELECT value_key, value_text FROM autoscale_values", {},
                                          "read the target's values");
        if (!storedValues)
            return storedValues.error();
        std::map<std::string, std::string> presentValues;
        for (int i = 0; i < PQntuples(storedValues->get()); ++i) {
            presentValues.emplace(pg::text(storedValues->get(), i, 0),
                                  pg::text(storedValues->get(), i, 1));
        }
        for (const auto& [key, value] : presentValues) {
            const auto it = values.find(key);
            if (it == values.end() || it->second != value) {
                return makeError(Errc::Conflict, "the target already holds value " + key +
                                                         ", which differs from the source's;"
                                                         " nothing was copied");
            }
        }
        for (const auto& row : rows) {
            if (present.contains(row.name)) {
                ++report.rowsIdentical;
                continue;
            }
            auto r = db.conn.query(std::string("INSERT INTO autoscale_servers (") + kColumns +
                                           ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,"
                                           "$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24)",
                                   paramsOf(row), "copy " + row.name);
            if (!r)
                return r.error();
            ++report.rowsCopied;
        }
        for (const auto& [key, value] : values) {
            if (presentValues.contains(key)) {
                ++report.valuesIdentical;
                continue;
            }
            auto r = db.conn.query("INSERT INTO autoscale_values (value_key, value_text)"
                                   " VALUES ($1, $2)",
                                   {key, value}, "copy value " + key);
            if (!r)
                return r.error();
            ++report.valuesCopied;
        }
        return report;
    });
}

Result<std::unique_ptr<PostgresStore>> openPostgresStore(const PostgresOptions& options) {
    auto shared = std::make_shared<PostgresStore::Shared>(options);
    {
        const std::lock_guard lock(shared->mutex);
        if (auto r = shared->ensureConnected(); !r)
            return r.error();
        if (options.readOnly) {
            auto has = shared->conn.query("SELECT to_regclass('autoscale_leadership') IS NOT NULL",
                                          {}, "look for the schema");
            if (!has)
                return has.error();
            shared->hasSchema = pg::text(has->get(), 0, 0) == "t";
        } else if (auto r = shared->migrate(); !r) {
            return r.error();
        }
    }
    return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(shared), std::nullopt, {}));
}

} // namespace autoscale
