// SPDX-License-Identifier: Apache-2.0
/// \file
/// Spot in the engine, on the fake clock: a capacity refusal is a wait (no
/// error, no back-off) explained in the plan; the on-demand cap of a spot pool;
/// the market recorded on the row; cloud notices (interruption warnings drain
/// and replace at once, state changes close the row).

#include <doctest/doctest.h>

#include <autoscale/engine.h>
#include <autoscale/interruptions.h>
#include <autoscale/json.h>
#include <autoscale/sqlite_store.h>

#include "doctest_support.h"
#include "fakes.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

Stage pendingStage(std::int64_t id) {
    return Stage{.id = id, .status = "pending", .os = "linux", .arch = "amd64"};
}
Stage runningStage(std::int64_t id, const std::string& machine) {
    return Stage{.id = id, .status = "running", .machine = machine, .os = "linux", .arch = "amd64"};
}

struct SpotHarness {
    test::FakeClock clock;
    test::FakeProvider provider{clock};
    test::FakeQueue queue;
    test::FakeInstaller installer;
    MemorySink sink;
    std::unique_ptr<Store> store = openSqliteStore({.path = ":memory:"}).value();
    EngineOptions options = defaults();
    std::unique_ptr<Engine> engine;

    static EngineOptions defaults() {
        EngineOptions o;
        o.pool.min = 0;
        o.pool.max = 4;
        o.pool.concurrency = 1;
        o.pool.idleTimeout = 10min;
        o.pool.launchDelay = 0s;
        o.interval = 10s;
        o.workers = 0;
        o.spotPool = true;
        return o;
    }

    Engine& start() {
        engine = std::make_unique<Engine>(options, *store, provider, queue, installer, clock,
                                          Logger(sink, clock, "engine", LogLevel::Debug));
        return *engine;
    }

    Plan cycle() {
        auto p = engine->cycle();
        REQUIRE(p);
        return *p;
    }

    void run(int n) {
        for (int i = 0; i < n; ++i) {
            clock.advance(options.interval);
            (void)cycle();
        }
    }

    std::vector<Server> servers() { return store->list().value(); }
    int inState(ServerState state) {
        int n = 0;
        for (const auto& s : servers())
            n += s.state == state ? 1 : 0;
        return n;
    }

    /// Refuses every create for capacity while `refusing`, with a 3-minute memory.
    bool refusing = false;
    void refuseCapacity() {
        refusing = true;
        provider.cooling = {
                {.instanceType = "t3.medium",
                 .subnet = "subnet-a",
                 .market = "spot",
                 .until = clock.steadyNow() + 3min,
                 .code = "InsufficientInstanceCapacity"},
                {.instanceType = "t3a.medium",
                 .subnet = "subnet-b",
                 .market = "spot",
                 .until = clock.steadyNow() + 2min,
                 .code = "InsufficientInstanceCapacity"},
        };
        provider.createFault = [this](const CreateRequest&) -> std::optional<Error> {
            if (!refusing)
                return std::nullopt;
            return makeError(Errc::Capacity, "no spot capacity in any choice and on-demand "
                                             "fallback is off");
        };
    }
};

TEST_CASE_FIXTURE(SpotHarness, "the market the cloud launched is recorded on the row") {
    provider.market = "spot";
    start();
    queue.set({pendingStage(1)});
    CHECK(cycle().create == 1);
    const auto rows = servers();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].market == "spot");
    CHECK(rows[0].state == ServerState::Booting);
}

TEST_CASE_FIXTURE(SpotHarness,
                  "a capacity refusal is a wait: no error, no back-off, retried when a choice "
                  "is back, explained in the plan") {
    refuseCapacity();
    start();
    queue.set({pendingStage(1), pendingStage(2), pendingStage(3)});
    CHECK(cycle().create == 3);
    CHECK(provider.createCalls == 3);
    CHECK(inState(ServerState::Creating) == 3);
    CHECK(inState(ServerState::Error) == 0);
    for (const auto& s : servers())
        CHECK(s.error.find("waiting for capacity") != std::string::npos);
    CHECK(engine->metrics().consecutiveFailures == 0);
    CHECK(engine->metrics().capacityWaits == 3);
    CHECK_FALSE(engine->status().backoffUntil);

    // The next cycle neither creates more servers nor asks the cloud again:
    // the earliest choice is back in 2 minutes.
    clock.advance(10s);
    const Plan waiting = cycle();
    CHECK(waiting.create == 0);
    CHECK(provider.createCalls == 3);
    REQUIRE(waiting.cooling.size() == 2);
    CHECK(waiting.cooling[0].instanceType == "t3.medium");
    CHECK(waiting.cooling[0].market == "spot");
    CHECK(waiting.cooling[0].secondsLeft == 170);
    CHECK(waiting.cooling[1].subnet == "subnet-b");
    bool explained = false;
    for (const auto& r : waiting.reasons) {
        if (r.find("3 servers wait for capacity") != std::string::npos &&
            r.find("fallback is off") != std::string::npos &&
            r.find("t3a.medium/subnet-b/spot") != std::string::npos)
            explained = true;
    }
    CHECK(explained);

    // /api/plan carries the cooling list.
    const std::string json = planToJson(waiting);
    CHECK(json.find(R"("cooling":[{"instance_type":"t3.medium","subnet":"subnet-a",)"
                    R"("market":"spot","seconds_left":170)") != std::string::npos);
    auto parsed = parsePlanJson(json);
    REQUIRE(parsed);
    CHECK(parsed->cooling == waiting.cooling);

    // Capacity returns: once the earliest choice is back, the same rows launch
    // (same client tokens), spot again.
    refusing = false;
    provider.cooling.clear();
    provider.market = "spot";
    clock.advance(2min);
    (void)cycle();
    CHECK(provider.createCalls == 6);
    CHECK(inState(ServerState::Booting) == 3);
    for (const auto& s : servers()) {
        CHECK(s.market == "spot");
        CHECK(s.error.empty());
    }
    CHECK(provider.requests[0].clientToken == provider.requests[3].clientToken);
}

TEST_CASE_FIXTURE(SpotHarness,
                  "a spot pool's on-demand cap: no on-demand launch while it is full") {
    options.onDemandMax = 1;
    start();
    queue.set({pendingStage(1)});
    (void)cycle(); // Launched on-demand (the fake's market).
    REQUIRE(provider.requests.size() == 1);
    CHECK(provider.requests[0].onDemandAllowed);
    provider.market = "spot";
    queue.set({pendingStage(1), pendingStage(2)});
    clock.advance(10s);
    (void)cycle();
    REQUIRE(provider.requests.size() == 2);
    CHECK_FALSE(provider.requests[1].onDemandAllowed); // One on-demand server is live.
}

TEST_CASE_FIXTURE(SpotHarness, "without a cap or for an on-demand pool, on-demand is allowed") {
    options.spotPool = false;
    options.onDemandMax = 0;
    start();
    queue.set({pendingStage(1), pendingStage(2)});
    (void)cycle();
    REQUIRE(provider.requests.size() == 2);
    CHECK(provider.requests[1].onDemandAllowed);
}

TEST_CASE_FIXTURE(SpotHarness, "a server under a reclaim notice counts neither against max nor "
                               "as capacity") {
    options.pool.max = 1;
    start();
    queue.set({pendingStage(1)});
    (void)cycle();
    run(4);
    auto rows = servers();
    REQUIRE(rows.size() == 1);
    REQUIRE(rows[0].state == ServerState::Running);
    Server noticed = rows[0];
    noticed.reclaimNotice = clock.now();
    REQUIRE(store->update(noticed));
    queue.set({runningStage(1, noticed.name), pendingStage(2)});
    clock.advance(10s);
    const Plan p = cycle();
    CHECK(p.live == 0);
    CHECK(p.servers == 0);
    CHECK(p.create == 1); // The replacement, one over max for this only.
}

} // namespace
} // namespace autoscale
