// SPDX-License-Identifier: Apache-2.0
/// \file
/// ServerLifecycle against a real SQLite store in memory and a frozen clock:
/// the transition table of SPEC §4, transition by transition, what each
/// transition stamps and records, and lost races.

#include "engine/server_lifecycle.h"

#include <array>
#include <set>
#include <utility>

#include <doctest/doctest.h>

#include <autoscale/sqlite_store.h>

#include "doctest_support.h"
#include "fake_clock.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;
using S = ServerState;

constexpr std::array kAll{S::Pending,  S::Creating,    S::Booting,    S::Installing, S::Running,
                          S::Draining, S::Terminating, S::Terminated, S::Error};

/// SPEC §4, written out once more by hand: every allowed (from, to).
const std::set<std::pair<S, S>> kAllowed{
        {S::Pending, S::Creating},       {S::Pending, S::Terminated},
        {S::Pending, S::Error},          {S::Creating, S::Booting},
        {S::Creating, S::Terminating},   {S::Creating, S::Error},
        {S::Booting, S::Installing},     {S::Booting, S::Terminating},
        {S::Booting, S::Terminated},     {S::Booting, S::Error},
        {S::Installing, S::Running},     {S::Installing, S::Terminating},
        {S::Installing, S::Terminated},  {S::Installing, S::Error},
        {S::Running, S::Draining},       {S::Running, S::Terminated},
        {S::Running, S::Error},          {S::Draining, S::Terminating},
        {S::Draining, S::Terminated},    {S::Draining, S::Error},
        {S::Terminating, S::Terminated}, {S::Terminating, S::Error},
        {S::Error, S::Terminating},
};

struct Fixture {
    test::FakeClock clock;
    std::unique_ptr<Store> store = openSqliteStore({.path = ":memory:"}).value();
    ServerLifecycle lifecycle{*store, clock};

    /// A row stored in `state`, as if it had got there earlier.
    Server rowIn(S state, const std::string& name = "agent-1") {
        Server s = lifecycle.insertPending({.name = name, .instanceId = "i-1", .error = "old"})
                           .value();
        s.state = state; // Test set-up only: the store takes any row.
        return store->update(s).value();
    }
};

TEST_CASE("the transition table is SPEC §4's, error from every state but terminated") {
    for (const S from : kAll) {
        for (const S to : kAll) {
            CAPTURE(from);
            CAPTURE(to);
            CHECK(ServerLifecycle::allowed(from, to) == kAllowed.contains({from, to}));
        }
    }
    for (const S from : kAll) {
        CAPTURE(from);
        CHECK_FALSE(ServerLifecycle::allowed(from, from));
        CHECK(ServerLifecycle::allowed(from, S::Error) ==
              (from != S::Terminated && from != S::Error));
        CHECK_FALSE(ServerLifecycle::allowed(S::Terminated, from));
    }
}

TEST_CASE_FIXTURE(Fixture,
                  "every allowed transition is written; every other is refused unwritten") {
    for (const S from : kAll) {
        for (const S to : kAll) {
            CAPTURE(from);
            CAPTURE(to);
            const Server before = rowIn(from);
            clock.advance(1s);
            auto moved = lifecycle.transition(before, to, to == S::Error ? "broken" : "");
            const Server stored = store->find(before.name).value();
            if (kAllowed.contains({from, to})) {
                REQUIRE(moved);
                CHECK(moved->state == to);
                CHECK(moved->version == before.version + 1);
                CHECK(moved->updated == clock.now());
                CHECK(stored == *moved);
            } else {
                REQUIRE_FALSE(moved);
                CHECK(moved.error().code == Errc::InvalidArgument);
                CHECK(moved.error().message.find(std::string(nameOf(from)) + " cannot go to " +
                                                 std::string(nameOf(to))) != std::string::npos);
                CHECK(stored == before);
            }
            REQUIRE(store->remove(before.name, stored.version));
        }
    }
}

TEST_CASE_FIXTURE(Fixture, "each transition stamps its own time and keeps the others") {
    Server s = lifecycle.insertPending({.name = "agent-1", .clientToken = "tok"}).value();
    CHECK(s.state == S::Pending);
    CHECK(s.created == clock.now());
    CHECK(s.updated == clock.now());
    CHECK(s.version == 1);
    const WallTime created = s.created;
    clock.advance(1s);
    s = lifecycle.transition(s, S::Creating).value();
    CHECK(s.created == created);
    CHECK(s.started == WallTime{});
    clock.advance(1s);
    s = lifecycle.transition(s, S::Booting).value();
    s = lifecycle.transition(s, S::Installing).value();
    clock.advance(1s);
    const WallTime up = clock.now();
    s = lifecycle.transition(s, S::Running).value();
    CHECK(s.started == up);
    CHECK(s.drainStarted == WallTime{});
    clock.advance(1min);
    s = lifecycle.transition(s, S::Draining).value();
    CHECK(s.drainStarted == clock.now());
    CHECK(s.started == up);
    CHECK(s.stopped == WallTime{});
    clock.advance(1min);
    s = lifecycle.transition(s, S::Terminating).value();
    CHECK(s.stopped == WallTime{});
    clock.advance(1s);
    s = lifecycle.transition(s, S::Terminated).value();
    CHECK(s.stopped == clock.now());
    CHECK(s.updated == clock.now());
    CHECK(s.started == up);
    CHECK(s.created == created);
    CHECK(s.error.empty());
}

TEST_CASE_FIXTURE(Fixture, "the reason is recorded; error needs one; running clears it") {
    Server s = rowIn(S::Installing);
    CHECK(s.error == "old");
    const auto noReason = lifecycle.transition(s, S::Error);
    REQUIRE_FALSE(noReason);
    CHECK(noReason.error().code == Errc::InvalidArgument);
    CHECK(store->find(s.name)->state == S::Installing);

    const Server up = lifecycle.transition(s, S::Running).value();
    CHECK(up.error.empty());
    const Server failed = lifecycle.transition(up, S::Error, "runner not healthy: x").value();
    CHECK(failed.error == "runner not healthy: x");
    // A transition without a reason keeps the last one (the error a reaped
    // server failed with stays on its terminated row).
    const Server reaping = lifecycle.transition(failed, S::Terminating).value();
    CHECK(reaping.error == "runner not healthy: x");
    const Server gone = lifecycle.transition(reaping, S::Terminated, "vanished").value();
    CHECK(gone.error == "vanished");
}

TEST_CASE_FIXTURE(Fixture, "a row changed since it was read is a lost race, not overwritten") {
    const Server read = rowIn(S::Running);
    const Server other = lifecycle.transition(read, S::Draining).value(); // Another actor.
    const auto lost = lifecycle.transition(read, S::Error, "ping failed");
    REQUIRE_FALSE(lost);
    CHECK(isLostRace(lost.error()));
    CHECK(store->find(read.name).value() == other);
    // save() is a compare-and-swap too.
    Server stale = read;
    stale.lastBusy = clock.now();
    const auto saved = lifecycle.save(stale);
    REQUIRE_FALSE(saved);
    CHECK(isLostRace(saved.error()));
}

TEST_CASE_FIXTURE(Fixture, "save writes other fields without touching the state or updated") {
    Server s = rowIn(S::Draining);
    const WallTime updated = s.updated;
    clock.advance(5s);
    s.drainStarted = clock.now();
    const Server saved = lifecycle.save(s).value();
    CHECK(saved.state == S::Draining);
    CHECK(saved.drainStarted == clock.now());
    CHECK(saved.updated == updated);
    CHECK(saved.version == s.version + 1);
}

TEST_CASE("restoreState sets a decoded server's saved state, any state, and nothing else") {
    for (const S from : kAll) {
        for (const S saved : kAll) {
            Server s{.name = "agent-r", .state = from, .error = "kept", .version = 7};
            s.updated = WallTime{} + 3s;
            Server expected = s;
            restoreState(s, saved);
            CHECK(s.state == saved);
            expected.state = saved;
            CHECK(s == expected);
        }
    }
}

TEST_CASE_FIXTURE(Fixture, "insertPending makes a pending row whatever state it is given") {
    const Server s = lifecycle.insertPending({.name = "agent-x", .state = S::Running}).value();
    CHECK(s.state == S::Pending);
    const auto again = lifecycle.insertPending({.name = "agent-x"});
    REQUIRE_FALSE(again);
    CHECK(isNameTaken(again.error()));
    CHECK_FALSE(isLostRace(makeError(Errc::NotFound, "gone")));
    CHECK_FALSE(isNameTaken(makeError(Errc::Io, "disk")));
}

} // namespace
} // namespace autoscale
