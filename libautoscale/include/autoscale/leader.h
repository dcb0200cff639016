// SPDX-License-Identifier: Apache-2.0
/// \file
/// Leader election among daemons sharing one PostgreSQL store: a session
/// advisory lock held on a dedicated connection, an epoch row incremented on
/// every election (the fencing token of PostgresStore::fencedBy), and a
/// confirm deadline after which a leader that has not re-checked its lock
/// stops acting.
///
/// Timings (defaults; PostgreSQL 15 measurements in the README's "High
/// availability" section):
/// - every daemon ticks every `campaignInterval` (1 s): a follower tries the
///   lock, a leader confirms it still holds it (pg_locks of its own backend);
/// - a leader whose last confirm *started* more than `confirmDeadline` (3 s)
///   ago refuses every mutating call (guard()) and steps down on its next
///   tick: a frozen process never acts again before confirming;
/// - the lock session has client keepalives 2 s/1 s×3 and tcp_user_timeout
///   3 s (a query on a dead link fails in ~3 s), server keepalives 4 s/1 s×3
///   and tcp_user_timeout 6 s (the server drops a partitioned leader's session
///   after ≥ 6 s), idle_session_timeout 0;
/// - a follower ends the lock holder's session when it has been idle for
///   `staleHolderAfter` (10 s; a live leader's session is never idle for more
///   than about one interval): this is how a frozen (SIGSTOPped) leader is
///   replaced;
/// - so confirmDeadline (3 s) < every takeover path (≥ 6 s), and after
///   kill -9 or pg_terminate_backend the lock is free at once and a follower
///   leads within one interval.

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>

#include <autoscale/clock.h>
#include <autoscale/result.h>

namespace autoscale {

/// This daemon's identity among the daemons of one fleet (DRONE_HA_ID).
struct HaSettings {
    /// Shown as the leader's identity in /varz, /healthz and the leadership
    /// row. Default (wiring): "<hostname>-<pid>".
    std::string id{};

    friend bool operator==(const HaSettings&, const HaSettings&) = default;
};

/// The leadership row as stored: the current term's epoch and its holder.
struct LeaderRecord {
    std::int64_t epoch = 0;
    std::string holder{};

    friend bool operator==(const LeaderRecord&, const LeaderRecord&) = default;
};

/// The dedicated session the lock is held on. Implementations: the libpq one
/// (makePgLockSession) and a fake in tests. Called from one thread at a time.
class LockSession {
public:
    virtual ~LockSession();

    /// Tries to take the lock (connecting first if needed); true when this
    /// session holds it now.
    [[nodiscard]] virtual Result<bool> tryAcquire() = 0;
    /// True when this session still holds the lock.
    [[nodiscard]] virtual Result<bool> stillHeld() = 0;
    /// Increments the epoch and records `holder`, in one transaction; returns
    /// the new epoch.
    [[nodiscard]] virtual Result<std::int64_t> bumpEpoch(const std::string& holder) = 0;
    /// Reads the leadership row.
    [[nodiscard]] virtual Result<LeaderRecord> readLeader() = 0;
    /// Ends the session of another holder of the lock that has been idle for
    /// longer than `idle` (a frozen leader); true when one was ended.
    [[nodiscard]] virtual Result<bool> endStaleHolder(std::chrono::milliseconds idle) = 0;
    /// Lets the lock go: closes the session.
    virtual void release() = 0;

    LockSession(const LockSession&) = delete;
    LockSession& operator=(const LockSession&) = delete;

protected:
    LockSession() = default;
};

/// How the libpq lock session connects.
struct PgLockOptions {
    std::string dsn{};                                 ///< As PostgresOptions::dsn; secret.
    std::int64_t key = 7262100;                        ///< The advisory lock's bigint key.
    std::string applicationName = "autoscaler-leader"; ///< Seen in pg_stat_activity.
};

/// The libpq LockSession: its own connection with the keepalive, user
/// timeout and idle-session settings above, refusing a server in recovery.
std::unique_ptr<LockSession> makePgLockSession(const PgLockOptions& options);

enum class Role { Follower, Leader };

/// "leader" or "follower".
std::string_view nameOf(Role role);

/// The election's timings (see the file comment).
struct ElectionTimings {
    std::chrono::milliseconds campaignInterval{1000};
    std::chrono::milliseconds confirmDeadline{3000};
    std::chrono::milliseconds staleHolderAfter{10000};
};

/// Errc::InvalidArgument unless campaignInterval < confirmDeadline and
/// confirmDeadline + campaignInterval < staleHolderAfter (the watchdog
/// deadline always expires before another daemon can take over).
Result<void> validateTimings(const ElectionTimings& timings);

/// The election state machine. Thread-safe: run() (or tick()) on one thread,
/// role(), guard() and the accessors from any.
class LeaderElection {
public:
    LeaderElection(std::unique_ptr<LockSession> session, std::shared_ptr<const Clock> clock,
                   std::string id, ElectionTimings timings = {});
    ~LeaderElection();
    LeaderElection(const LeaderElection&) = delete;
    LeaderElection& operator=(const LeaderElection&) = delete;

    /// One step: a follower campaigns (and ends a stale holder), a leader
    /// confirms, or steps down when it cannot, or when its last confirm is
    /// older than the deadline (it was frozen). Returns the role after it.
    Role tick();
    /// Ticks every campaignInterval until `stop`; steps down (releasing the
    /// lock) when stopped.
    void run(const std::stop_token& stop);

    /// Leader only while its last confirm started within confirmDeadline.
    [[nodiscard]] Role role() const;
    /// The epoch of this daemon's current term; 0 when it is not leader.
    [[nodiscard]] std::int64_t epoch() const;
    /// The holder recorded in the leadership row, as last read (on followers too).
    [[nodiscard]] std::string leaderId() const;
    /// This daemon's identity.
    [[nodiscard]] const std::string& id() const { return id_; }
    /// Checks now that the lock is still held (renewing the deadline), or
    /// steps down: Errc::NotLeader when this daemon does not lead after it.
    [[nodiscard]] Result<void> confirm();
    /// What every mutating call checks first (PostgresStore::fencedBy's
    /// guard, before each EC2 create or terminate): Errc::NotLeader unless
    /// leader and confirmed within the deadline.
    [[nodiscard]] Result<void> guard() const;

    /// Called (from the election's thread) when a tick finds this leader's
    /// last confirm older than the deadline, i.e. the process was frozen:
    /// after stepping down. The daemon may exit here (the optional watchdog
    /// exit); by default nothing more happens.
    void setOnFrozen(std::function<void()> onFrozen);

private:
    // Called with sessionMutex_ held; they take mutex_ only to publish state.
    void stepDown();
    void campaign(SteadyTime start);
    void renew(SteadyTime start);
    [[nodiscard]] bool leadingAt(SteadyTime now) const; // mutex_ held.

    std::unique_ptr<LockSession> session_;
    std::shared_ptr<const Clock> clock_;
    std::string id_;
    ElectionTimings timings_;
    std::mutex sessionMutex_;  ///< Serializes the session's calls (tick, confirm).
    mutable std::mutex mutex_; ///< Guards the state below; never held during I/O.
    bool leader_ = false;
    std::int64_t epoch_ = 0;
    SteadyTime confirmedAt_{};
    std::string leaderId_{};
    std::function<void()> onFrozen_{};
};

} // namespace autoscale
