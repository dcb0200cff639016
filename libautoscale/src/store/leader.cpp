// SPDX-License-Identifier: Apache-2.0
/// \file
/// LeaderElection (the state machine, on an injected Clock) and the libpq
/// LockSession (advisory lock on a dedicated, tightly kept-alive connection).

#include "autoscale/leader.h"

#include <utility>

#include "pg_connection.h"

namespace autoscale {

LockSession::~LockSession() = default;

std::string_view nameOf(Role role) {
    switch (role) {
    case Role::Follower:
        return "follower";
    case Role::Leader:
        return "leader";
    }
    return "follower";
}

Result<void> validateTimings(const ElectionTimings& timings) {
    if (timings.campaignInterval.count() <= 0 ||
        timings.campaignInterval >= timings.confirmDeadline) {
        return makeError(Errc::InvalidArgument,
                         "the campaign interval must be positive and shorter than the confirm "
                         "deadline");
    }
    if (timings.confirmDeadline + timings.campaignInterval >= timings.staleHolderAfter) {
        return makeError(Errc::InvalidArgument,
                         "the confirm deadline plus one interval must be shorter than the time "
                         "after which another daemon ends a stale holder");
    }
    return {};
}

namespace {

/// The libpq LockSession.
class PgLockSession final : public LockSession {
public:
    explicit PgLockSession(const PgLockOptions& options)
        : conn_(options.dsn,
                {{"application_name", options.applicationName}, {"connect_timeout", "3"}},
                // These override the DSN: the lock session must notice a dead
                // peer in seconds, and must be on the primary.
                {{"keepalives", "1"},
                 {"keepalives_idle", "2"},
                 {"keepalives_interval", "1"},
                 {"keepalives_count", "3"},
                 {"tcp_user_timeout", "3000"},
                 {"target_session_attrs", "read-write"}})
        , classId_(std::to_string(static_cast<std::uint64_t>(options.key) >> 32U))
        , objId_(std::to_string(static_cast<std::uint64_t>(options.key) & 0xffffffffULL))
        , key_(std::to_string(options.key)) {}

    Result<bool> tryAcquire() override {
        if (!conn_.connected()) {
            if (auto r = connect(); !r)
                return r.error();
        }
        auto r = conn_.query("SELECT pg_try_advisory_lock($1::bigint)", {key_}, "try the lock");
        if (!r)
            return r.error();
        return pg::text(r->get(), 0, 0) == "t";
    }

    Result<bool> stillHeld() override {
        auto r = conn_.query("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'"
                             " AND pid = pg_backend_pid() AND granted"
                             " AND classid = $1::oid AND objid = $2::oid AND objsubid = 1",
                             {classId_, objId_}, "confirm the lock");
        if (!r)
            return r.error();
        return pg::integer(r->get(), 0, 0) > 0;
    }

    Result<std::int64_t> bumpEpoch(const std::string& holder) override {
        auto r = conn_.query("UPDATE autoscale_leadership SET epoch = epoch + 1, holder = $1,"
                             " since = (extract(epoch from now()) * 1000)::bigint"
                             " WHERE name = 'scaler' RETURNING epoch",
                             {holder}, "bump the epoch");
        if (!r)
            return r.error();
        if (PQntuples(r->get()) != 1)
            return makeError(Errc::Io, "postgres " + conn_.label() + ": no leadership row");
        return pg::integer(r->get(), 0, 0);
    }

    Result<LeaderRecord> readLeader() override {
        if (!conn_.connected()) {
            if (auto r = connect(); !r)
                return r.error();
        }
        auto r = conn_.query("SELECT epoch, holder FROM autoscale_leadership"
                             " WHERE name = 'scaler'",
                             {}, "read the leadership row");
        if (!r)
            return r.error();
        if (PQntuples(r->get()) != 1)
            return LeaderRecord{};
        return LeaderRecord{.epoch = pg::integer(r->get(), 0, 0),
                            .holder = pg::text(r->get(), 0, 1)};
    }

    Result<bool> endStaleHolder(std::chrono::milliseconds idle) override {
        auto r = conn_.query(
                "SELECT pg_terminate_backend(a.pid) FROM pg_locks l"
                " JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::oid"
                " AND l.objid = $2::oid AND l.objsubid = 1 AND a.pid <> pg_backend_pid()"
                " AND a.state = 'idle'"
                " AND a.state_change < now() - make_interval(secs => $3::float8 / 1000)",
                {classId_, objId_, std::to_string(idle.count())}, "end a stale holder");
        if (!r)
            return r.error();
        return PQntuples(r->get()) > 0;
    }

    void release() override { conn_.close(); }

private:
    Result<void> connect() {
        if (auto r = conn_.connect(); !r)
            return r;
        // A DBA's idle_session_timeout must not end the leader's session;
        // the server-side keepalives end a partitioned leader's session.
        for (const char* set :
             {"SET idle_session_timeout = 0", "SET idle_in_transaction_session_timeout = 0",
              "SET statement_timeout = 2000", "SET tcp_keepalives_idle = 4",
              "SET tcp_keepalives_interval = 1", "SET tcp_keepalives_count = 3",
              "SET tcp_user_timeout = 6000"}) {
            if (auto r = conn_.command(set, "set up the lock session"); !r) {
                conn_.close();
                return r;
            }
        }
        return {};
    }

    pg::Connection conn_;
    std::string classId_;
    std::string objId_;
    std::string key_;
};

} // namespace

std::unique_ptr<LockSession> makePgLockSession(const PgLockOptions& options) {
    return std::make_unique<PgLockSession>(options);
}

LeaderElection::LeaderElection(std::unique_ptr<LockSession> session,
                               std::shared_ptr<const Clock> clock, std::string id,
                               ElectionTimings timings)
    : session_(std::move(session))
    , clock_(std::move(clock))
    , id_(std::move(id))
    , timings_(timings) {
}

LeaderElection::~LeaderElection() {
    const std::lock_guard session(sessionMutex_);
    session_->release();
}

bool LeaderElection::leadingAt(SteadyTime now) const {
    return leader_ && now - confirmedAt_ <= timings_.confirmDeadline;
}

void LeaderElection::stepDown() {
    session_->release();
    const std::lock_guard lock(mutex_);
    leader_ = false;
    epoch_ = 0;
}

void LeaderElection::campaign(SteadyTime start) {
    auto acquired = session_->tryAcquire();
    if (!acquired) {
        session_->release();
        return;
    }
    if (!*acquired) {
        (void)session_->endStaleHolder(timings_.staleHolderAfter);
    } else {
        auto epoch = session_->bumpEpoch(id_);
        if (!epoch) {
            session_->release();
            return;
        }
        const std::lock_guard lock(mutex_);
        leader_ = true;
        epoch_ = *epoch;
        confirmedAt_ = start;
        leaderId_ = id_;
    }
    if (auto record = session_->readLeader()) {
        const std::lock_guard lock(mutex_);
        leaderId_ = record->holder;
    }
}

void LeaderElection::renew(SteadyTime start) {
    auto held = session_->stillHeld();
    const auto done = clock_->steadyNow();
    if (!held || !*held || done - start > timings_.confirmDeadline) {
        stepDown();
        return;
    }
    const std::lock_guard lock(mutex_);
    confirmedAt_ = start;
}

Role LeaderElection::tick() {
    const std::lock_guard session(sessionMutex_);
    const auto start = clock_->steadyNow();
    bool leader = false;
    bool frozen = false;
    {
        const std::lock_guard lock(mutex_);
        leader = leader_;
        frozen = leader_ && !leadingAt(start);
    }
    if (frozen) {
        // The last confirm is older than the deadline: this process stalled.
        // It must not act before it knows; let the lock go and start over.
        stepDown();
        std::function<void()> onFrozen;
        {
            const std::lock_guard lock(mutex_);
            onFrozen = onFrozen_;
        }
        if (onFrozen)
            onFrozen();
        return Role::Follower;
    }
    if (leader) {
        renew(start);
    } else {
        campaign(start);
    }
    return role();
}

void LeaderElection::run(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
        (void)tick();
        if (!clock_->sleepFor(timings_.campaignInterval, stop))
            break;
    }
    const std::lock_guard session(sessionMutex_);
    stepDown();
}

Role LeaderElection::role() const {
    const auto now = clock_->steadyNow();
    const std::lock_guard lock(mutex_);
    return leadingAt(now) ? Role::Leader : Role::Follower;
}

std::int64_t LeaderElection::epoch() const {
    const std::lock_guard lock(mutex_);
    return leader_ ? epoch_ : 0;
}

std::string LeaderElection::leaderId() const {
    const std::lock_guard lock(mutex_);
    return leaderId_;
}

Result<void> LeaderElection::confirm() {
    const std::lock_guard session(sessionMutex_);
    const auto start = clock_->steadyNow();
    bool leader = false;
    {
        const std::lock_guard lock(mutex_);
        leader = leader_;
    }
    if (leader)
        renew(start);
    return guard();
}

Result<void> LeaderElection::guard() const {
    const auto now = clock_->steadyNow();
    const std::lock_guard lock(mutex_);
    if (leadingAt(now))
        return {};
    if (leader_) {
        return makeError(Errc::NotLeader, "daemon " + id_ +
                                                  " has not confirmed its leadership within the "
                                                  "deadline; it does not act until it has");
    }
    return makeError(Errc::NotLeader, "daemon " + id_ + " is not the leader");
}

void LeaderElection::setOnFrozen(std::function<void()> onFrozen) {
    const std::lock_guard lock(mutex_);
    onFrozen_ = std::move(onFrozen);
}

} // namespace autoscale
