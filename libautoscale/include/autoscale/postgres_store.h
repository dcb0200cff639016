// SPDX-License-Identifier: Apache-2.0
/// \file
/// The Store on PostgreSQL (libpq), for several daemons sharing one fleet:
/// versioned migrations, compare-and-swap writes, caps counted in the same
/// transaction, reconnect with back-off, and fenced views that refuse the
/// writes of a deposed leader (the epoch of the leadership row).

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <autoscale/clock.h>
#include <autoscale/store.h>

namespace autoscale {

/// How openPostgresStore connects.
struct PostgresOptions {
    /// A libpq connection string: a URI ("postgres://user:secret@host/db") or
    /// key=value pairs ("host=db user=scaler password=secret"). Secret: only
    /// redactDsn() of it ever appears in a message.
    std::string dsn{};
    /// Never writes, never migrates; an uninitialized database is an empty store.
    bool readOnly = false;
    /// application_name of the session (pg_stat_activity).
    std::string applicationName = "autoscaler";
    /// The back-off between reconnect attempts after the connection drops
    /// doubles from `reconnectMin` up to `reconnectMax`; meanwhile every call
    /// fails fast with Errc::Unavailable.
    std::chrono::milliseconds reconnectMin{200};
    std::chrono::milliseconds reconnectMax{5000};
    /// Server-side statement_timeout of the store's session.
    std::chrono::milliseconds statementTimeout{10000};
    /// Time source of the back-off; null: the system clock.
    std::shared_ptr<const Clock> clock{};
};

/// The connection string with its password replaced by "***" (both the URI
/// form and key=value form), safe for a log line or an error message.
std::string redactDsn(std::string_view dsn);

/// A check a fenced view runs before every mutating call (the leader's
/// watchdog, LeaderElection::guard()): an error refuses the write unmade.
using WriteGuard = std::function<Result<void>()>;

/// The PostgreSQL store. Thread-safe (one connection behind a mutex). Errors
/// as Store documents; a dropped connection is Errc::Unavailable until a
/// reconnect succeeds.
class PostgresStore final : public Store {
public:
    ~PostgresStore() override;

    Result<Server> insertWithin(const Server& server, const InsertCaps& caps) override;
    Result<Server> find(const std::string& name) override;
    Result<std::vector<Server>> list() override;
    Result<Server> update(const Server& server) override;
    Result<void> remove(const std::string& name, std::int64_t version) override;
    Result<int> purge(WallTime before) override;
    Result<std::optional<std::string>> getValue(const std::string& key) override;
    Result<void> putValue(const std::string& key, const std::string& value) override;

    /// A view of this store (same connection) whose every mutating call
    /// (insertWithin, update, remove, purge, putValue) first runs `guard`
    /// (when set), then checks in the same transaction that the leadership
    /// epoch stored is still `epoch`: otherwise Errc::NotLeader, nothing
    /// written. Reads pass through. The view must not outlive this store.
    [[nodiscard]] std::unique_ptr<Store> fencedBy(std::int64_t epoch, WriteGuard guard = {});

    /// The leadership row: the current epoch (0 before any election) and its holder.
    struct Leadership {
        std::int64_t epoch = 0;
        std::string holder{};
        WallTime since{};
    };
    /// Reads the leadership row.
    [[nodiscard]] Result<Leadership> leadership();

    /// Moves the epoch on by one and records `holder` (what an elected leader
    /// does; exposed for tests and tools). Returns the new epoch.
    [[nodiscard]] Result<std::int64_t> bumpEpoch(const std::string& holder);

    /// What importRows() did.
    struct ImportReport {
        int rowsCopied = 0;      ///< Rows written.
        int rowsIdentical = 0;   ///< Rows already there, field for field.
        int valuesCopied = 0;    ///< Named values written.
        int valuesIdentical = 0; ///< Values already there.
    };
    /// Copies `rows` (versions kept) and `values` in one transaction.
    /// Errc::Conflict, nothing written, when the store holds a row or value
    /// that is not exactly one of those (another fleet's, or changed since):
    /// so a re-run of the same import succeeds and copies nothing.
    [[nodiscard]] Result<ImportReport> importRows(const std::vector<Server>& rows,
                                                  const std::map<std::string, std::string>& values);

    struct Shared;

private:
    PostgresStore(std::shared_ptr<Shared> shared, std::optional<std::int64_t> fence,
                  WriteGuard guard);
    Result<void> checkWritable();
    /// One write: refused when read-only or the guard says no; under the
    /// connection's lock; `body` runs after the epoch check when fenced, in
    /// one transaction when fenced or `atomic`, else on its own.
    template <typename T, typename Body>
    Result<T> write(const std::string& what, bool atomic, Body body);

    std::shared_ptr<Shared> shared_;
    std::optional<std::int64_t> fence_;
    WriteGuard guard_;

    friend Result<std::unique_ptr<PostgresStore>> openPostgresStore(const PostgresOptions& options);
};

/// Copies a SQLite database (the embedded store's file, opened read-only)
/// into the PostgreSQL store `target` names: every row with all its fields
/// and every named value (PostgresStore::importRows()).
Result<PostgresStore::ImportReport> migrateSqliteToPostgres(const std::string& sqlitePath,
                                                            const PostgresOptions& target);

/// Connects, and in read-write mode migrates the schema (concurrent daemons
/// serialize on an advisory lock; each migration runs once). Errc::Unavailable
/// when the server cannot be reached, Errc::Io for anything else; messages name
/// the server by redactDsn() only.
Result<std::unique_ptr<PostgresStore>> openPostgresStore(const PostgresOptions& options);

} // namespace autoscale
