// SPDX-License-Identifier: Apache-2.0
/// \file
/// The leader election state machine on a fake clock and fake lock sessions
/// sharing one fake "database" (one lock, one epoch row): campaign, confirm,
/// step down, re-campaign, the frozen-leader deadline and the stale holder.

#include <atomic>
#include <map>
#include <memory>
#include <stop_token>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <autoscale/leader.h>

#include "fake_clock.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

/// What the sessions share: the advisory lock and the leadership row.
struct FakeDatabase {
    int holder = 0; ///< Session id holding the lock; 0 when free.
    LeaderRecord row{};
    bool down = false;
    int nextSession = 1;
    /// Steady time at which each session last ran a statement (for endStaleHolder).
    std::map<int, SteadyTime> lastActive{};
    std::vector<int> ended{};
};

class FakeLockSession final : public LockSession {
public:
    FakeLockSession(FakeDatabase& db, const test::FakeClock& clock) : db_(db), clock_(clock) {}
    ~FakeLockSession() override { release(); }

    Result<bool> tryAcquire() override {
        if (auto r = reach(); !r)
            return r.error();
        if (db_.holder == 0)
            db_.holder = id_;
        return db_.holder == id_;
    }
    Result<bool> stillHeld() override {
        ++confirms;
        if (auto r = reach(); !r)
            return r.error();
        clock_.advance(confirmTakes);
        return db_.holder == id_;
    }
    Result<std::int64_t> bumpEpoch(const std::string& holder) override {
        if (auto r = reach(); !r)
            return r.error();
        db_.row.epoch += 1;
        db_.row.holder = holder;
        return db_.row.epoch;
    }
    Result<LeaderRecord> readLeader() override {
        if (auto r = reach(); !r)
            return r.error();
        return db_.row;
    }
    Result<bool> endStaleHolder(std::chrono::milliseconds idle) override {
        if (auto r = reach(); !r)
            return r.error();
        const int holder = db_.holder;
        if (holder == 0 || holder == id_ || clock_.steadyNow() - db_.lastActive[holder] <= idle)
            return false;
        db_.holder = 0;
        db_.ended.push_back(holder);
        return true;
    }
    void release() override {
        if (id_ != 0 && db_.holder == id_)
            db_.holder = 0;
        id_ = 0;
    }

    /// Drops the lock the way DISCARD ALL or a terminated backend would.
    void loseLock() {
        if (db_.holder == id_)
            db_.holder = 0;
    }
    std::atomic<int> confirms{0};
    std::chrono::milliseconds confirmTakes{0};

private:
    Result<void> reach() {
        if (db_.down) {
            release();
            return makeError(Errc::Unavailable, "postgres: the connection is down");
        }
        if (id_ == 0)
            id_ = db_.nextSession++;
        db_.lastActive[id_] = clock_.steadyNow();
        return {};
    }

    FakeDatabase& db_;
    const test::FakeClock& clock_;
    int id_ = 0;
};

struct Fixture {
    std::shared_ptr<test::FakeClock> clock = std::make_shared<test::FakeClock>();
    FakeDatabase db{};

    /// An election and a pointer to its session (owned by the election).
    std::pair<std::unique_ptr<LeaderElection>, FakeLockSession*> daemon(const std::string& id) {
        auto session = std::make_unique<FakeLockSession>(db, *clock);
        FakeLockSession* raw = session.get();
        return {std::make_unique<LeaderElection>(std::move(session), clock, id), raw};
    }
};

TEST_CASE_FIXTURE(Fixture, "the default timings keep the watchdog deadline inside the takeover "
                           "time, and bad timings are refused") {
    CHECK(validateTimings(ElectionTimings{}));
    CHECK(validateTimings({.campaignInterval = 3s, .confirmDeadline = 3s}).error().code ==
          Errc::InvalidArgument);
    CHECK_FALSE(validateTimings(
            {.campaignInterval = 1s, .confirmDeadline = 3s, .staleHolderAfter = 4s}));
    CHECK(nameOf(Role::Leader) == "leader");
    CHECK(nameOf(Role::Follower) == "follower");
}

TEST_CASE_FIXTURE(Fixture, "of two daemons the first to campaign leads with epoch 1, the other "
                           "follows and knows who leads") {
    auto [a, sa] = daemon("daemon-a");
    auto [b, sb] = daemon("daemon-b");
    CHECK(a->role() == Role::Follower);
    CHECK(a->guard().error().code == Errc::NotLeader);
    CHECK(a->tick() == Role::Leader);
    CHECK(b->tick() == Role::Follower);
    CHECK(a->epoch() == 1);
    CHECK(b->epoch() == 0);
    CHECK(a->leaderId() == "daemon-a");
    CHECK(b->leaderId() == "daemon-a");
    CHECK(a->guard());
    CHECK(b->guard().error().code == Errc::NotLeader);
    for (int i = 0; i < 10; ++i) {
        clock->advance(1s);
        CHECK(a->tick() == Role::Leader);
        CHECK(b->tick() == Role::Follower);
    }
    CHECK(sa->confirms == 10);
    CHECK(db.row.epoch == 1); // Confirming does not start a new term.
}

TEST_CASE_FIXTURE(Fixture, "a leader that finds its lock gone steps down at once, and the other "
                           "daemon leads with a higher epoch on its next campaign") {
    auto [a, sa] = daemon("daemon-a");
    auto [b, sb] = daemon("daemon-b");
    REQUIRE(a->tick() == Role::Leader);
    REQUIRE(b->tick() == Role::Follower);
    sa->loseLock();
    CHECK(b->tick() == Role::Leader); // The lock was free: b takes it.
    CHECK(b->epoch() == 2);
    clock->advance(1s);
    CHECK(a->tick() == Role::Follower); // a confirms, finds it gone.
    CHECK(a->epoch() == 0);
    CHECK(a->guard().error().code == Errc::NotLeader);
    CHECK(a->leaderId() == "daemon-a"); // Read on its next campaign.
    clock->advance(1s);
    CHECK(a->tick() == Role::Follower);
    CHECK(a->leaderId() == "daemon-b");
}

TEST_CASE_FIXTURE(Fixture, "a leader that cannot reach the database steps down, and campaigns "
                           "again once it can") {
    auto [a, sa] = daemon("daemon-a");
    REQUIRE(a->tick() == Role::Leader);
    db.down = true;
    clock->advance(1s);
    CHECK(a->tick() == Role::Follower);
    CHECK(db.holder == 0); // Its session was closed: the lock went with it.
    clock->advance(1s);
    CHECK(a->tick() == Role::Follower);
    db.down = false;
    clock->advance(1s);
    CHECK(a->tick() == Role::Leader);
    CHECK(a->epoch() == 2); // A new term.
}

TEST_CASE_FIXTURE(Fixture, "a confirm slower than the deadline is a step-down, not a renewal") {
    auto [a, sa] = daemon("daemon-a");
    REQUIRE(a->tick() == Role::Leader);
    sa->confirmTakes = 3500ms;
    clock->advance(1s);
    CHECK(a->tick() == Role::Follower);
    CHECK(db.holder == 0);
}

TEST_CASE_FIXTURE(Fixture, "a frozen leader refuses every write once its last confirm is older "
                           "than the deadline, and on its next tick steps down before anything "
                           "else") {
    auto [a, sa] = daemon("daemon-a");
    int frozenCalls = 0;
    a->setOnFrozen([&frozenCalls] { ++frozenCalls; });
    REQUIRE(a->tick() == Role::Leader);
    clock->advance(2900ms);
    CHECK(a->guard()); // Still within the 3 s deadline.
    CHECK(a->role() == Role::Leader);
    clock->advance(200ms); // 3.1 s since the confirm started: the process "was frozen".
    CHECK(a->guard().error().code == Errc::NotLeader);
    CHECK(a->role() == Role::Follower);
    const int confirmsBefore = sa->confirms;
    CHECK(a->tick() == Role::Follower);
    CHECK(sa->confirms == confirmsBefore); // It did not try to renew a stale term.
    CHECK(frozenCalls == 1);
    CHECK(db.holder == 0);
    // confirm() after the deadline does not revive it either.
    CHECK(a->confirm().error().code == Errc::NotLeader);
}

TEST_CASE_FIXTURE(Fixture, "confirm() renews the deadline from when the check started") {
    auto [a, sa] = daemon("daemon-a");
    REQUIRE(a->tick() == Role::Leader);
    clock->advance(2500ms);
    sa->confirmTakes = 400ms;
    REQUIRE(a->confirm());
    clock->advance(2500ms); // 2.9 s after the confirm started.
    CHECK(a->guard());
    clock->advance(200ms);
    CHECK(a->guard().error().code == Errc::NotLeader);
}

TEST_CASE_FIXTURE(Fixture, "a follower ends the session of a holder idle for longer than "
                           "staleHolderAfter, and then leads; the old leader never acts again "
                           "before confirming") {
    auto [a, sa] = daemon("daemon-a");
    auto [b, sb] = daemon("daemon-b");
    REQUIRE(a->tick() == Role::Leader);
    // a freezes: it stops ticking. b campaigns every second.
    int ticks = 0;
    while (b->tick() == Role::Follower && ticks < 30) {
        clock->advance(1s);
        ++ticks;
        // Long before b can take over, a already refuses to act.
        if (ticks == 4)
            CHECK(a->guard().error().code == Errc::NotLeader);
    }
    REQUIRE(b->role() == Role::Leader);
    // Ended after 10 s idle (the stale check runs after a failed try), then
    // the next campaign wins.
    CHECK(ticks >= 10);
    CHECK(ticks <= 12);
    CHECK(db.ended.size() == 1);
    CHECK(b->epoch() == 2);
    // a resumes: it steps down without confirming.
    CHECK(a->tick() == Role::Follower);
    CHECK(a->guard().error().code == Errc::NotLeader);
    CHECK(db.holder != 0); // b's lock was not touched by a.
    CHECK(b->tick() == Role::Leader);
}

TEST_CASE_FIXTURE(Fixture, "run() ticks every campaign interval and lets the lock go when "
                           "stopped") {
    auto [a, sa] = daemon("daemon-a");
    std::stop_source stop;
    int frozen = 0;
    a->setOnFrozen([&] { ++frozen; });
    // FakeClock::sleepFor advances time instantly; stop after a few confirms.
    auto session = sa;
    auto* election = a.get(); // clang 14 captures no structured binding.
    std::jthread runner([election, &stop] { election->run(stop.get_token()); });
    while (session->confirms < 5)
        std::this_thread::yield();
    stop.request_stop();
    runner.join();
    CHECK(frozen == 0);
    CHECK(db.holder == 0);
    CHECK(a->role() == Role::Follower);
}

} // namespace
} // namespace autoscale
