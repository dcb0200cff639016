// SPDX-License-Identifier: Apache-2.0
/// \file
/// The Store contract: the behaviour every `Store` implementation must show,
/// written once as doctest template test cases. An implementation's test file
/// defines a backend type and invokes the suite:
///
///     struct SqliteFileBackend {
///         static test::StoreUnderTest open();     // a fresh, empty store
///     };
///     TYPE_TO_STRING(SqliteFileBackend);
///     AUTOSCALE_STORE_CONTRACT(SqliteFileBackend)   // at global scope
///
/// The backend is the only implementation-specific part. Include this header
/// in exactly one file per test executable.

#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <doctest/doctest.h>

#include <autoscale/store.h>

#include "doctest_support.h"
#include "process.h"
#include "store_increment.h"
#include "temp_dir.h"

namespace autoscale::test {

/// A fresh store under test, with what the concurrency cases need.
struct StoreUnderTest {
    /// Whatever must outlive the store (a temporary directory); declared
    /// first so that it is destroyed last.
    std::shared_ptr<void> keepAlive{};
    /// The store, empty.
    std::unique_ptr<Store> store{};
    /// Opens another connection to the same database (a second handle a
    /// second daemon would hold); empty when the database cannot be shared.
    std::function<std::unique_ptr<Store>()> connect{};
    /// Arguments after `store_contract_helper` that open the same database in
    /// another process (e.g. {"sqlite", "/tmp/x/db.sqlite"}); empty when the
    /// database cannot be shared between processes.
    std::vector<std::string> helperArgs{};
};

namespace contract {

inline const WallTime kNow = WallTime{std::chrono::seconds{1'800'000'000}};

/// A row with every field set to something other than its default.
inline Server fullServer(const std::string& name) {
    using namespace std::chrono_literals;
    return Server{.name = name,
                  .pool = "arm64-large",
                  .instanceId = "i-0123456789abcdef0",
                  .provider = "amazon-test",
                  .state = ServerState::Installing,
                  .image = "ami-0abc",
                  .region = "eu-west-1b",
                  .size = "c6i.large",
                  .address = "10.1.2.3",
                  .capacity = 3,
                  .error = "an earlier attempt failed: \"quoted\" \xC3\xA9",
                  .clientToken = "0123456789abcdef0123456789abcdef",
                  .hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPublic",
                  .hostPrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nxyz\n",
                  .created = kNow,
                  .updated = kNow + 1s,
                  .started = kNow + 2s,
                  .stopped = kNow + 3s,
                  .lastBusy = kNow + 4500ms,
                  .drainStarted = kNow + 5s,
                  .market = "spot",
                  .reclaimNotice = kNow + 6s,
                  .lostBuilds = {LostBuild{.repo = "octo/hello",
                                           .number = 42,
                                           .stage = 7,
                                           .outcome = "restarted",
                                           .restartedAs = 43},
                                 LostBuild{.repo = "octo/w\"orld", .number = 5, .stage = 9}},
                  .version = 0};
}

inline Server minimalServer(const std::string& name, WallTime created) {
    return Server{.name = name, .created = created, .updated = created};
}

inline std::vector<std::string> namesOf(const std::vector<Server>& rows) {
    std::vector<std::string> names;
    names.reserve(rows.size());
    for (const auto& row : rows)
        names.push_back(row.name);
    return names;
}

} // namespace contract

// NOLINTBEGIN(readability-function-cognitive-complexity): doctest macros.

TEST_CASE_TEMPLATE_DEFINE("store contract: an insert stores version 1 and a taken name is "
                          "AlreadyExists",
                          Backend, storeContractInsert) {
    auto under = Backend::open();
    Store& store = *under.store;
    Server first = contract::fullServer("agent-1");
    first.version = 41; // Ignored: a new row starts at 1.
    const auto inserted = store.insert(first);
    REQUIRE(inserted);
    CHECK(inserted->version == 1);
    CHECK(store.find("agent-1")->version == 1);

    const auto taken = store.insert(contract::minimalServer("agent-1", contract::kNow));
    REQUIRE_FALSE(taken);
    CHECK(taken.error().code == Errc::AlreadyExists);
    CHECK_FALSE(taken.error().retryable());
    CHECK(taken.error().message.find("agent-1") != std::string::npos);
    // The stored row is untouched by the refused insert.
    CHECK(*store.find("agent-1") == *inserted);
}

TEST_CASE_TEMPLATE_DEFINE("store contract: every Server field round-trips", Backend,
                          storeContractRoundTrip) {
    auto under = Backend::open();
    Store& store = *under.store;
    const Server full = contract::fullServer("agent-full");
    const auto inserted = store.insert(full);
    REQUIRE(inserted);
    Server expected = full;
    expected.version = 1;
    CHECK(*inserted == expected);
    const auto found = store.find("agent-full");
    REQUIRE(found);
    CHECK(*found == expected);

    // Every state survives, and so do the zero values of an empty row.
    for (const auto state :
         {ServerState::Pending, ServerState::Creating, ServerState::Booting,
          ServerState::Installing, ServerState::Running, ServerState::Draining,
          ServerState::Terminating, ServerState::Terminated, ServerState::Error}) {
        Server next = *store.find("agent-full");
        next.state = state;
        const auto written = store.update(next);
        REQUIRE(written);
        CHECK(store.find("agent-full")->state == state);
    }
    const Server empty{.name = "agent-empty"};
    REQUIRE(store.insert(empty));
    Server expectedEmpty = empty;
    expectedEmpty.version = 1;
    CHECK(*store.find("agent-empty") == expectedEmpty);
}

TEST_CASE_TEMPLATE_DEFINE("store contract: find of an absent name is NotFound", Backend,
                          storeContractFind) {
    auto under = Backend::open();
    Store& store = *under.store;
    const auto missing = store.find("nobody");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::NotFound);
    CHECK(missing.error().message.find("nobody") != std::string::npos);
    REQUIRE(store.insert(contract::minimalServer("somebody", contract::kNow)));
    CHECK(store.find("nobody").error().code == Errc::NotFound);
    CHECK(store.find("somebody"));
}

TEST_CASE_TEMPLATE_DEFINE("store contract: list returns every row, oldest first", Backend,
                          storeContractList) {
    using namespace std::chrono_literals;
    auto under = Backend::open();
    Store& store = *under.store;
    REQUIRE(store.list());
    CHECK(store.list()->empty());
    // Inserted out of order; names sort the other way from creation times.
    REQUIRE(store.insert(contract::minimalServer("a-newest", contract::kNow + 3h)));
    REQUIRE(store.insert(contract::minimalServer("z-oldest", contract::kNow - 2h)));
    REQUIRE(store.insert(contract::minimalServer("m-middle", contract::kNow)));
    const auto rows = store.list();
    REQUIRE(rows);
    CHECK(contract::namesOf(*rows) == std::vector<std::string>{"z-oldest", "m-middle", "a-newest"});
    // An update does not move a row.
    Server middle = *store.find("m-middle");
    middle.updated = contract::kNow + 10h;
    REQUIRE(store.update(middle));
    CHECK(contract::namesOf(*store.list()) ==
          std::vector<std::string>{"z-oldest", "m-middle", "a-newest"});
}

TEST_CASE_TEMPLATE_DEFINE("store contract: update is a compare-and-swap on the version", Backend,
                          storeContractUpdate) {
    auto under = Backend::open();
    Store& store = *under.store;
    const Server row = store.insert(contract::fullServer("agent-1")).value();

    Server next = row;
    next.state = ServerState::Running;
    next.address = "10.9.9.9";
    const auto updated = store.update(next);
    REQUIRE(updated);
    CHECK(updated->version == 2);
    CHECK(updated->state == ServerState::Running);
    Server expected = next;
    expected.version = 2;
    CHECK(*store.find("agent-1") == expected);

    Server stale = row; // Still version 1.
    stale.state = ServerState::Error;
    const auto lost = store.update(stale);
    REQUIRE_FALSE(lost);
    CHECK(lost.error().code == Errc::Conflict);
    CHECK_FALSE(lost.error().retryable());
    CHECK(*store.find("agent-1") == expected); // The loser wrote nothing.

    Server ahead = expected;
    ahead.version = 7; // A version the row never had is as stale as an old one.
    CHECK(store.update(ahead).error().code == Errc::Conflict);

    Server ghost = contract::fullServer("ghost");
    ghost.version = 1;
    const auto gone = store.update(ghost);
    REQUIRE_FALSE(gone);
    CHECK(gone.error().code == Errc::NotFound);
    CHECK_FALSE(store.find("ghost")); // An update never inserts.
}

TEST_CASE_TEMPLATE_DEFINE("store contract: remove takes the version it expects", Backend,
                          storeContractRemove) {
    auto under = Backend::open();
    Store& store = *under.store;
    Server row = store.insert(contract::fullServer("agent-1")).value();
    row.state = ServerState::Error;
    row = store.update(row).value(); // Version 2.

    const auto stale = store.remove("agent-1", 1);
    REQUIRE_FALSE(stale);
    CHECK(stale.error().code == Errc::Conflict);
    CHECK(store.find("agent-1"));

    CHECK(store.remove("agent-1", 2));
    CHECK(store.find("agent-1").error().code == Errc::NotFound);

    const auto gone = store.remove("agent-1", 2);
    REQUIRE_FALSE(gone);
    CHECK(gone.error().code == Errc::NotFound);
    // The name is free again.
    CHECK(store.insert(contract::minimalServer("agent-1", contract::kNow))->version == 1);
}

TEST_CASE_TEMPLATE_DEFINE("store contract: purge deletes only terminated rows stopped before "
                          "the cut-off",
                          Backend, storeContractPurge) {
    using namespace std::chrono_literals;
    auto under = Backend::open();
    Store& store = *under.store;
    const WallTime cutoff = contract::kNow - 24h;
    for (const auto& [name, state, stopped] :
         std::vector<std::tuple<std::string, ServerState, WallTime>>{
                 {"old", ServerState::Terminated, cutoff - 1h},
                 {"just-before", ServerState::Terminated, cutoff - 1ms},
                 {"at-cutoff", ServerState::Terminated, cutoff},
                 {"recent", ServerState::Terminated, cutoff + 1h},
                 {"old-error", ServerState::Error, cutoff - 48h},
                 {"old-terminating", ServerState::Terminating, cutoff - 48h},
                 {"running", ServerState::Running, WallTime{}}}) {
        Server s = contract::fullServer(name);
        s.state = state;
        s.stopped = stopped;
        REQUIRE(store.insert(s));
    }
    const auto purged = store.purge(cutoff);
    REQUIRE(purged);
    CHECK(*purged == 2);
    CHECK(store.find("old").error().code == Errc::NotFound);
    CHECK(store.find("just-before").error().code == Errc::NotFound);
    auto kept = contract::namesOf(*store.list());
    std::sort(kept.begin(), kept.end());
    CHECK(kept == std::vector<std::string>{"at-cutoff", "old-error", "old-terminating", "recent",
                                           "running"});
    CHECK(store.purge(cutoff).value_or(-1) == 0);
}

TEST_CASE_TEMPLATE_DEFINE("store contract: concurrent writers from threads lose no update", Backend,
                          storeContractThreads) {
    constexpr int kThreads = 8;
    constexpr int kEach = 25;
    auto under = Backend::open();
    REQUIRE(under.store->insert(contract::minimalServer("counter", contract::kNow)));
    // Each thread writes through its own connection when the backend has
    // them, else all share the one thread-safe store.
    std::vector<std::unique_ptr<Store>> connections;
    for (int t = 0; t < kThreads; ++t)
        connections.push_back(under.connect ? under.connect() : nullptr);
    std::atomic<int> conflicts{0};
    std::atomic<int> failures{0};
    {
        std::vector<std::jthread> writers;
        for (int t = 0; t < kThreads; ++t) {
            Store& store = connections[static_cast<std::size_t>(t)]
                                   ? *connections[static_cast<std::size_t>(t)]
                                   : *under.store;
            writers.emplace_back([&store, &conflicts, &failures] {
                const int lost = incrementCapacity(store, "counter", kEach);
                if (lost < 0)
                    ++failures;
                else
                    conflicts += lost;
            });
        }
    }
    CHECK(failures == 0);
    const auto row = under.store->find("counter");
    REQUIRE(row);
    CHECK(row->capacity == kThreads * kEach);
    CHECK(row->version == 1 + kThreads * kEach);
    MESSAGE("lost compare-and-swaps retried: " << conflicts.load());
}

TEST_CASE_TEMPLATE_DEFINE("store contract: writers in two processes on one database lose no "
                          "update",
                          Backend, storeContractProcesses) {
    constexpr int kEach = 1000;
    auto under = Backend::open();
    const std::string helper = testEnv("AUTOSCALE_STORE_HELPER_BIN");
    if (under.helperArgs.empty() || helper.empty()) {
        MESSAGE("this backend cannot be shared between processes; skipped");
        return;
    }
    REQUIRE(under.store->insert(contract::minimalServer("counter", contract::kNow)));
    TempDir logs;
    std::vector<std::string> argv{helper};
    argv.insert(argv.end(), under.helperArgs.begin(), under.helperArgs.end());
    argv.insert(argv.end(), {"increment", "counter", std::to_string(kEach)});
    BackgroundProcess other(argv, {}, logs.file("helper.log"));
    // Start writing once the helper has, so that the two really overlap.
    REQUIRE(waitFor(
            [&] {
                const auto row = under.store->find("counter");
                return (row && row->capacity > 0) || !other.running();
            },
            std::chrono::seconds{30}));
    const int lostHere = incrementCapacity(*under.store, "counter", kEach);
    const int exitCode = other.wait(std::chrono::seconds{60});
    INFO("helper output: " << other.output());
    CHECK(lostHere >= 0);
    REQUIRE(exitCode == 0);
    const auto row = under.store->find("counter");
    REQUIRE(row);
    CHECK(row->capacity == 2 * kEach);
    CHECK(row->version == 1 + 2 * kEach);
    MESSAGE("lost compare-and-swaps retried here: " << lostHere << "; " << other.output());
}

TEST_CASE_TEMPLATE_DEFINE("store contract: an insert within caps counts live rows of its pool "
                          "and of the fleet in the same transaction",
                          Backend, storeContractCaps) {
    auto under = Backend::open();
    Store& store = *under.store;
    auto row = [](const std::string& name, const std::string& pool) {
        return Server{.name = name, .pool = pool, .created = contract::kNow};
    };
    const InsertCaps caps{.poolMax = 2, .fleetMax = 3};
    REQUIRE(store.insertWithin(row("a1", "a"), caps));
    REQUIRE(store.insertWithin(row("a2", "a"), caps));
    const auto third = store.insertWithin(row("a3", "a"), caps);
    REQUIRE_FALSE(third);
    CHECK(third.error().code == Errc::LimitReached);
    CHECK_FALSE(third.error().retryable());
    CHECK(third.error().message.find("pool a") != std::string::npos);
    REQUIRE(store.insertWithin(row("b1", "b"), caps));
    const auto fleet = store.insertWithin(row("b2", "b"), caps);
    REQUIRE_FALSE(fleet);
    CHECK(fleet.error().code == Errc::LimitReached);
    CHECK(fleet.error().message.find("fleet") != std::string::npos);
    CHECK(store.find("a3").error().code == Errc::NotFound);
    CHECK(store.find("b2").error().code == Errc::NotFound);

    // A terminated row and a row under a reclaim notice no longer count.
    Server a1 = *store.find("a1");
    a1.state = ServerState::Terminated;
    REQUIRE(store.update(a1));
    Server a2 = *store.find("a2");
    a2.reclaimNotice = contract::kNow;
    REQUIRE(store.update(a2));
    REQUIRE(store.insertWithin(row("a3", "a"), caps));
    REQUIRE(store.insertWithin(row("a4", "a"), caps));
    CHECK(store.insertWithin(row("a5", "a"), caps).error().code == Errc::LimitReached);
    // Without caps, nothing is counted.
    REQUIRE(store.insert(row("a5", "a")));
    // A taken name is still AlreadyExists under caps.
    CHECK(store.insertWithin(row("a5", "a"), InsertCaps{.poolMax = 100}).error().code ==
          Errc::AlreadyExists);
}

TEST_CASE_TEMPLATE_DEFINE("store contract: racing capped inserts never exceed the caps", Backend,
                          storeContractCapsRace) {
    constexpr int kThreads = 6;
    constexpr int kEach = 10;
    auto under = Backend::open();
    std::vector<std::unique_ptr<Store>> connections;
    for (int t = 0; t < kThreads; ++t)
        connections.push_back(under.connect ? under.connect() : nullptr);
    std::atomic<int> inserted{0};
    std::atomic<int> failures{0};
    const InsertCaps caps{.poolMax = 5, .fleetMax = 7};
    {
        std::vector<std::jthread> writers;
        for (int t = 0; t < kThreads; ++t) {
            Store& store = connections[static_cast<std::size_t>(t)]
                                   ? *connections[static_cast<std::size_t>(t)]
                                   : *under.store;
            writers.emplace_back([&store, &inserted, &failures, &caps, t] {
                for (int i = 0; i < kEach; ++i) {
                    const std::string pool = t % 2 == 0 ? "even" : "odd";
                    auto r = store.insertWithin(
                            Server{.name = "s-" + std::to_string(t) + "-" + std::to_string(i),
                                   .pool = pool},
                            caps);
                    if (r) {
                        ++inserted;
                    } else if (r.error().code != Errc::LimitReached &&
                               r.error().code != Errc::Unavailable) {
                        ++failures;
                    }
                }
            });
        }
    }
    CHECK(failures == 0);
    const auto rows = under.store->list();
    REQUIRE(rows);
    const auto even = std::count_if(rows->begin(), rows->end(),
                                    [](const Server& s) { return s.pool == "even"; });
    CHECK(even <= 5);
    CHECK(static_cast<int>(rows->size()) - even <= 5);
    CHECK(rows->size() == 7);
    CHECK(inserted == 7);
}

TEST_CASE_TEMPLATE_DEFINE("store contract: named values are absent until written, then the "
                          "last write",
                          Backend, storeContractValues) {
    auto under = Backend::open();
    Store& store = *under.store;
    const auto absent = store.getValue("paused");
    REQUIRE(absent);
    CHECK_FALSE(absent->has_value());
    REQUIRE(store.putValue("paused", "true"));
    REQUIRE(store.putValue("backoff/amd64", "{\"failures\":2}"));
    REQUIRE(store.putValue("paused", "false"));
    CHECK(store.getValue("paused")->value_or("") == "false");
    CHECK(store.getValue("backoff/amd64")->value_or("") == "{\"failures\":2}");
    CHECK_FALSE(store.getValue("backoff/arm64")->has_value());
    if (under.connect) {
        auto other = under.connect();
        CHECK(other->getValue("paused")->value_or("") == "false");
    }
}

TEST_CASE_TEMPLATE_DEFINE("store contract: changeCount, when the store gives one, moves with "
                          "every write, also another connection's, and never with a read",
                          Backend, storeContractChangeCount) {
    auto under = Backend::open();
    Store& store = *under.store;
    if (!store.changeCount()) {
        MESSAGE("this store gives no change count: engines always read the rows again");
        return;
    }
    auto unchangedBy = [&store](const auto& read) {
        const auto before = store.changeCount();
        read();
        return store.changeCount() == before;
    };
    auto changedBy = [&store](const auto& write) {
        const auto before = store.changeCount();
        write();
        const auto after = store.changeCount();
        return after && before && *after != *before;
    };
    CHECK(changedBy([&] { REQUIRE(store.insert(contract::fullServer("a"))); }));
    CHECK(unchangedBy([&] {
        (void)store.list();
        (void)store.listPool("amd64");
        (void)store.find("a");
        (void)store.getValue("paused");
    }));
    CHECK(changedBy([&] {
        Server a = store.find("a").value();
        a.state = ServerState::Running;
        REQUIRE(store.update(a));
    }));
    CHECK(changedBy([&] { REQUIRE(store.putValue("paused", "true")); }));
    CHECK(changedBy([&] { REQUIRE(store.remove("a", store.find("a")->version)); }));
    if (under.connect) {
        auto other = under.connect();
        CHECK(changedBy([&] { REQUIRE(other->insert(contract::fullServer("b"))); }));
        CHECK(changedBy([&] { REQUIRE(other->putValue("paused", "false")); }));
    }
}

// NOLINTEND(readability-function-cognitive-complexity)

} // namespace autoscale::test

/// Runs every Store contract case against `Backend` (see the file comment).
/// Use it at global scope with a fully qualified backend name.
#define AUTOSCALE_STORE_CONTRACT(Backend)                                                          \
    namespace autoscale::test {                                                                    \
    TEST_CASE_TEMPLATE_INVOKE(storeContractInsert, Backend);                                       \
    TEST_CASE_TEMPLATE_INVOKE(storeContractRoundTrip, Backend);                                    \
    TEST_CASE_TEMPLATE_INVOKE(storeContractFind, Backend);                                         \
    TEST_CASE_TEMPLATE_INVOKE(storeContractList, Backend);                                         \
    TEST_CASE_TEMPLATE_INVOKE(storeContractUpdate, Backend);                                       \
    TEST_CASE_TEMPLATE_INVOKE(storeContractRemove, Backend);                                       \
    TEST_CASE_TEMPLATE_INVOKE(storeContractPurge, Backend);                                        \
    TEST_CASE_TEMPLATE_INVOKE(storeContractThreads, Backend);                                      \
    TEST_CASE_TEMPLATE_INVOKE(storeContractProcesses, Backend);                                    \
    TEST_CASE_TEMPLATE_INVOKE(storeContractCaps, Backend);                                         \
    TEST_CASE_TEMPLATE_INVOKE(storeContractCapsRace, Backend);                                     \
    TEST_CASE_TEMPLATE_INVOKE(storeContractValues, Backend);                                       \
    TEST_CASE_TEMPLATE_INVOKE(storeContractChangeCount, Backend);                                  \
    }
