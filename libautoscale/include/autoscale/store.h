// SPDX-License-Identifier: Apache-2.0
/// \file
/// Where servers are kept. Every write is a compare-and-swap on the row version.

#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <autoscale/model.h>
#include <autoscale/result.h>

namespace autoscale {

/// The caps an insert checks in the same transaction as it writes: live rows
/// (every state but `terminated`, less rows under a reclaim notice) of the new
/// row's pool, and of all pools, stay within these counts, the new row
/// included. Unset: no cap.
struct InsertCaps {
    std::optional<int> poolMax{};
    std::optional<int> fleetMax{};

    friend bool operator==(const InsertCaps&, const InsertCaps&) = default;
};

/// Whether a row counts against InsertCaps.
bool countsAgainstCaps(const Server& server);

/// Persistent server rows. Implementations: SQLite (the embedded default, also
/// `:memory:` for tests) and PostgreSQL (postgres_store.h, several daemons). Thread-safe: one
/// instance may be shared by the engine's workers and the API. Every implementation passes the
/// contract suite in tests/support/store_contract.h.
///
/// Error kinds: Errc::AlreadyExists (insert: the name is taken; not worth
/// retrying with the same name), Errc::Conflict (update/remove: another
/// writer changed the row first; re-read and decide again), Errc::NotFound
/// (no such row), Errc::NotLeader (a store that fences writers refused this
/// deposed leader's write; never retried), Errc::Unavailable (the database was
/// busy; retryable), Errc::InvalidArgument (a write to a read-only store),
/// Errc::Io (anything else the database reported), Errc::LimitReached (an
/// insert refused by its caps).
class Store {
public:
    virtual ~Store();

    /// Adds a new row with version 1 (whatever `server.version` says) and returns
    /// it as stored. Errc::AlreadyExists when the name is taken.
    [[nodiscard]] Result<Server> insert(const Server& server) { return insertWithin(server, {}); }

    /// As insert(), refused with Errc::LimitReached when the row would take its
    /// pool or the fleet over `caps`: the count and the write are one
    /// transaction, so racing writers (threads, processes, daemons) never
    /// together exceed a cap.
    [[nodiscard]] virtual Result<Server> insertWithin(const Server& server,
                                                      const InsertCaps& caps) = 0;

    /// One row. Errc::NotFound when there is none.
    [[nodiscard]] virtual Result<Server> find(const std::string& name) = 0;

    /// All rows, oldest first.
    [[nodiscard]] virtual Result<std::vector<Server>> list() = 0;

    /// The rows of one pool, oldest first. By default list() filtered; a
    /// store with an index on the pool answers it from the index.
    [[nodiscard]] virtual Result<std::vector<Server>> listPool(const std::string& pool);

    /// Writes `server` if the stored row still has `server.version`; returns the
    /// row as stored, with the version incremented. Errc::Conflict if another
    /// writer got there first, Errc::NotFound if the row is gone.
    [[nodiscard]] virtual Result<Server> update(const Server& server) = 0;

    /// Deletes the row if it still has `version`. Errc::Conflict if it has
    /// another, Errc::NotFound if it is gone.
    [[nodiscard]] virtual Result<void> remove(const std::string& name, std::int64_t version) = 0;

    /// Deletes terminated rows stopped strictly before `before`; returns how
    /// many. Rows in any other state are kept, however old.
    [[nodiscard]] virtual Result<int> purge(WallTime before) = 0;

    /// A named value of shared state (pause, back-off, the last plan: what a
    /// new leader or a restarted daemon needs); nullopt when never written.
    [[nodiscard]] virtual Result<std::optional<std::string>> getValue(const std::string& key) = 0;

    /// Writes a named value, replacing any earlier one.
    [[nodiscard]] virtual Result<void> putValue(const std::string& key,
                                                const std::string& value) = 0;

    /// A number that changes whenever a row or value is written, by anyone,
    /// or nullopt when the store cannot tell cheaply. While it is unchanged a
    /// listing read earlier is still what the store holds: an engine reuses
    /// its last listing instead of reading the rows again.
    [[nodiscard]] virtual std::optional<std::uint64_t> changeCount() { return std::nullopt; }

    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

protected:
    Store() = default;
};

/// Which store DRONE_DATABASE_DRIVER and DRONE_DATABASE_DATASOURCE name.
struct StoreSettings {
    std::string driver = "sqlite3"; ///< "sqlite3" or "postgres".
    /// A SQLite path (drone/autoscaler's "?cache=..." suffix is ignored) or a libpq string.
    std::string datasource = "database.sqlite";

    friend bool operator==(const StoreSettings&, const StoreSettings&) = default;
};

/// How openStore opens the store.
enum class StoreAccess {
    ReadWrite, ///< Creates and migrates the database if needed.
    ReadOnly,  ///< Never writes; an absent database is an empty store.
};

/// Opens the store the settings name: SQLite, or PostgreSQL (driver
/// "postgres", the datasource a libpq connection string; read-only access
/// gives a store that refuses writes and never migrates). Errc::InvalidArgument
/// naming DRONE_DATABASE_DRIVER for an unknown driver; the store's own errors
/// otherwise (never with the DSN's password).
Result<std::unique_ptr<Store>> openStore(const StoreSettings& settings, StoreAccess access);

} // namespace autoscale
