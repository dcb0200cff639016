// SPDX-License-Identifier: Apache-2.0
// The engine on fakes (provider, queue, installer, clock) and a real SQLite
// store in memory: every invariant of SPEC §4, and a randomized test that
// stops the engine at random points over 1,000 cycles.

#include <random>
#include <thread>

#include <doctest/doctest.h>

#include <autoscale/engine.h>
#include <autoscale/sqlite_store.h>

#include "doctest_support.h"
#include "engine/demand_history.h"
#include "fakes.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

Stage pendingStage(std::int64_t id, const std::string& machine = "") {
    return Stage{.id = id, .status = "pending", .machine = machine, .os = "linux", .arch = "amd64"};
}
Stage runningStage(std::int64_t id, const std::string& machine) {
    return Stage{.id = id, .status = "running", .machine = machine, .os = "linux", .arch = "amd64"};
}

struct Harness {
    test::FakeClock clock;
    test::FakeProvider provider{clock};
    test::FakeQueue queue;
    test::FakeInstaller installer;
    MemorySink sink;
    std::unique_ptr<Store> memory = openSqliteStore({.path = ":memory:"}).value();
    test::CrashSwitch crash;
    test::CrashingStore store{*memory, crash};
    EngineOptions options = defaults();
    std::unique_ptr<Engine> engine;

    static EngineOptions defaults() {
        EngineOptions o;
        o.pool.min = 0;
        o.pool.max = 4;
        o.pool.concurrency = 2;
        o.pool.idleTimeout = 10min;
        o.interval = 10s;
        o.workers = 0;
        o.bootDeadline = 10min;
        o.timeoutStop = 1h;
        return o;
    }

    Engine& start() {
        engine = std::make_unique<Engine>(options, store, provider, queue, installer, clock,
                                          Logger(sink, clock, "engine", LogLevel::Debug));
        return *engine;
    }

    Plan cycle() {
        auto p = engine->cycle();
        REQUIRE(p);
        return *p;
    }

    /// Advances the clock one interval, then runs a cycle, n times.
    void run(int n) {
        for (int i = 0; i < n; ++i) {
            clock.advance(options.interval);
            (void)cycle();
        }
    }

    /// MIN 1, MAX 4: one running server with both slots busy, and one more
    /// stage waiting. Returns the server's name.
    std::string oneFullServerAndAWaitingStage() {
        options.pool.min = 1;
        options.pool.max = 4;
        start();
        (void)cycle();
        run(6);
        REQUIRE(running().size() == 1);
        const auto name = running()[0].name;
        queue.set({runningStage(1, name), runningStage(2, name), pendingStage(3)});
        return name;
    }

    std::vector<Server> servers() { return memory->list().value(); }
    int inState(ServerState state) {
        int n = 0;
        for (const auto& s : servers())
            n += s.state == state ? 1 : 0;
        return n;
    }
    std::vector<Server> running() {
        std::vector<Server> out;
        for (const auto& s : servers()) {
            if (s.state == ServerState::Running)
                out.push_back(s);
        }
        return out;
    }
};

TEST_CASE("demand history: the largest rise within a span, over the window only") {
    DemandHistory h(10min);
    const SteadyTime t0{};
    CHECK_FALSE(h.complete());
    CHECK(h.largestRise(1min) == 0);
    // 2 slots, then +5 over 30 s, a fall, then +3 over 3 minutes.
    h.record(t0, 2);
    h.record(t0 + 10s, 4);
    h.record(t0 + 30s, 7);
    h.record(t0 + 2min, 1);
    h.record(t0 + 3min, 2);
    h.record(t0 + 5min, 4);
    CHECK(h.largestRise(1min) == 5); // 2 -> 7 within 30 s.
    CHECK(h.largestRise(20s) == 3);  // 4 -> 7 (20 s apart).
    CHECK(h.largestRise(10s) == 2);  // 2 -> 4.
    CHECK(h.largestRise(0s) == 0);
    CHECK(h.largestRise(10min) == 5); // The fall to 1 and the rise to 4 is only 3.
    CHECK(h.latest() == 4);
    CHECK_FALSE(h.complete());
    h.record(t0 + 10min, 4);
    CHECK(h.complete());
    // The 2 -> 7 burst leaves the window with its first sample.
    h.record(t0 + 10min + 10s, 4);
    CHECK(h.largestRise(1min) == 3); // 4 -> 7 (t0 + 10 s .. 30 s) is still in.
    h.record(t0 + 10min + 30s, 4);
    CHECK(h.largestRise(1min) == 1); // 1 -> 2 within one minute.
    CHECK(h.largestRise(3min) == 3); // 1 -> 4.
    h.clear();
    CHECK_FALSE(h.complete());
    CHECK(h.latest() == std::nullopt);
    // Steady time going backwards starts over rather than trusting the order.
    h.record(t0 + 1h, 3);
    h.record(t0 + 30min, 9);
    CHECK(h.largestRise(10min) == 0);
    CHECK(h.latest() == 9);
}

TEST_CASE_FIXTURE(Harness, "the minimum is created on the first cycle, not one interval later") {
    options.pool.min = 2;
    start();
    const Plan p = cycle();
    CHECK(p.create == 2);
    CHECK(provider.createCalls == 2);
    CHECK(inState(ServerState::Booting) == 2);
}

TEST_CASE_FIXTURE(Harness, "6 pending stages at concurrency 2 become 3 running servers") {
    start();
    queue.set({pendingStage(1), pendingStage(2), pendingStage(3), pendingStage(4), pendingStage(5),
               pendingStage(6)});
    CHECK(cycle().create == 3);
    CHECK(provider.live() == 3);
    for (const auto& r : provider.requests)
        CHECK(r.clientToken.size() == 32);
    run(4); // Boot time 30 s: describe → running → install.
    CHECK(running().size() == 3);
    CHECK(installer.installed.size() == 3);
    CHECK(cycle().create == 0);
    const auto m = engine->metrics();
    CHECK(m.serversCreated == 3);
    CHECK(m.reaction.count == 6);                  // Every pending stage got capacity requested...
    CHECK(m.reaction.sum == doctest::Approx(0.0)); // ...in the cycle that first saw it.
    CHECK(m.reaction.counts[0] == 6);
    CHECK(m.bootTime.count == 3);
}

TEST_CASE_FIXTURE(Harness, "a cycle after which nothing was written reads no rows; a row "
                           "written by anyone is seen at the next cycle") {
    options.pool.min = 1;
    start();
    run(8);
    REQUIRE(running().size() == 1);
    // Steady: one running idle server, nothing to do, nothing written.
    const int before = store.listings;
    run(3);
    CHECK(store.listings == before);

    // A row the engine did not write (the API, another thread) is listed at
    // the next cycle, and acted on: here, a server an operator asked for.
    Server extra{.name = "agent-extra", .state = ServerState::Pending, .capacity = 2};
    extra.pool = options.pool.name;
    extra.created = clock.now();
    REQUIRE(memory->insert(extra));
    run(1);
    CHECK(store.listings > before);
    CHECK(memory->find("agent-extra")->state != ServerState::Pending);
}

TEST_CASE_FIXTURE(Harness, "the server row and client token exist before RunInstances") {
    start();
    std::vector<Server> seen;
    provider.createFault = [&](const CreateRequest& r) -> std::optional<Error> {
        seen = memory->list().value();
        CHECK(seen.size() == 1);
        CHECK(seen[0].state == ServerState::Creating);
        CHECK(seen[0].clientToken == r.clientToken);
        CHECK(seen[0].name == r.serverName);
        return std::nullopt;
    };
    queue.set({pendingStage(1)});
    (void)cycle();
    CHECK(seen.size() == 1);
}

TEST_CASE_FIXTURE(Harness, "idle servers are drained after IDLE_TIMEOUT, busy ones are not") {
    start();
    queue.set({pendingStage(1), pendingStage(2), pendingStage(3), pendingStage(4), pendingStage(5),
               pendingStage(6)});
    (void)cycle();
    run(4);
    auto up = running();
    REQUIRE(up.size() == 3);
    // Two stages run on two servers; the queue is otherwise empty.
    queue.set({runningStage(1, up[0].name), runningStage(2, up[1].name)});
    run(1);
    clock.advance(10min - 20s);
    (void)cycle();
    CHECK(inState(ServerState::Draining) == 0); // Not idle long enough.
    run(3);
    CHECK(provider.live() == 2);
    CHECK(memory->find(up[2].name)->state == ServerState::Terminated);
    CHECK(memory->find(up[0].name)->state == ServerState::Running);
    CHECK(memory->find(up[1].name)->state == ServerState::Running);
    // Then an empty queue, after a whole idle timeout of history without a
    // burst in it: no reserve, so both idle servers go at once.
    queue.set({});
    run(1);
    CHECK(engine->lastPlan().drain.size() == 2);
    run(2);
    CHECK(provider.live() == 0);
}

TEST_CASE_FIXTURE(Harness,
                  "a burst within one boot time keeps that many idle slots, less one, while "
                  "it is within IDLE_TIMEOUT") {
    options.pool.max = 8;
    start();
    (void)cycle();
    run(60); // Ten minutes of an empty queue: the history covers a whole idle timeout.
    std::vector<Stage> burst;
    for (int i = 1; i <= 6; ++i)
        burst.push_back(pendingStage(i));
    queue.set(burst); // +6 slots within one interval.
    const WallTime burstAt = clock.now() + options.interval;
    run(5);
    auto up = running();
    REQUIRE(up.size() == 3);
    std::vector<Stage> onThem;
    for (int i = 0; i < 6; ++i)
        onThem.push_back(runningStage(i + 1, up[static_cast<std::size_t>(i % 3)].name));
    queue.set(onThem);
    run(6);
    queue.set({}); // All finished: the fleet sits idle.
    run(1);
    const Plan kept = engine->lastPlan();
    CHECK(kept.drain.empty());
    CHECK(kept.reasons.back().find("burst reserve of 5 slots") != std::string::npos);
    clock.set(burstAt + 10min - 20s);
    run(1);
    CHECK(engine->lastPlan().drain.empty());
    run(2); // The burst has left the window: nothing held for it any more.
    CHECK(inState(ServerState::Running) == 0);
}

TEST_CASE_FIXTURE(Harness,
                  "a stage waiting while others run launches after DRONE_POOL_LAUNCH_DELAY") {
    const auto name = oneFullServerAndAWaitingStage();
    run(1); // First seen waiting.
    run(2); // 20 s.
    Plan p = engine->lastPlan();
    CHECK(p.create == 0); // A runner finishing a stage would take it within seconds.
    CHECK(p.reasons.back().find("waited less than DRONE_POOL_LAUNCH_DELAY=30s") !=
          std::string::npos);
    run(1); // 30 s: launch.
    CHECK(engine->lastPlan().create == 1);
    // More young stages than running ones: the excess launches at once.
    queue.set({runningStage(1, name), runningStage(2, name), pendingStage(3), pendingStage(4),
               pendingStage(5), pendingStage(6), pendingStage(7)});
    run(1);
    // 2 running + 5 pending = 7 slots, 4 servers wanted; 4 of the pending are
    // young, one of those waits: 6 slots -> 3 servers, 2 there.
    CHECK(engine->lastPlan().create == 1);
}

TEST_CASE_FIXTURE(Harness, "DRONE_POOL_LAUNCH_DELAY=0 launches for a waiting stage at once") {
    options.pool.launchDelay = 0s;
    (void)oneFullServerAndAWaitingStage();
    run(1);
    CHECK(engine->lastPlan().create == 1);
}

TEST_CASE_FIXTURE(Harness,
                  "an unreadable queue restarts the demand history: the idle timeout rules") {
    start();
    queue.set({pendingStage(1), pendingStage(2)});
    (void)cycle();
    run(4);
    const auto name = running().at(0).name;
    queue.set({runningStage(1, name), runningStage(2, name)});
    run(60); // Ten minutes of history.
    queue.error = makeError(Errc::Parse, "the Drone queue is not valid JSON");
    queue.set({});
    run(1);
    queue.error.reset();
    run(1);
    // Idle, no reserve known yet: kept until IDLE_TIMEOUT.
    CHECK(engine->lastPlan().drain.empty());
    CHECK(engine->lastPlan().reasons.back().find("idle for less than DRONE_POOL_IDLE_TIMEOUT") !=
          std::string::npos);
    clock.advance(10min - 30s);
    run(1);
    CHECK(engine->lastPlan().drain == std::vector<std::string>{name});
}

TEST_CASE_FIXTURE(Harness, "the idle timeout counts from the last cycle that saw a stage") {
    // last_busy is written to the store at most once a minute; the planner
    // still uses the latest sighting, so a server is never drained early.
    start();
    queue.set({pendingStage(1)});
    (void)cycle();
    run(4);
    const auto name = running().at(0).name;
    queue.set({runningStage(1, name)});
    run(5); // Seen busy every 10 s for 50 s; the row was written once.
    const WallTime lastSeen = clock.now();
    CHECK(memory->find(name)->lastBusy < lastSeen);
    queue.set({});
    // A moment of unreadable queue: no demand history, so only the per-server
    // idle timeout drains (the burst reserve would drain at once).
    queue.scripted.push_back(makeError(Errc::Parse, "the Drone queue is not valid JSON"));
    (void)cycle();
    clock.set(lastSeen + 10min - 10s);
    (void)cycle();
    CHECK(memory->find(name)->state == ServerState::Running);
    clock.set(lastSeen + 10min);
    const Plan p = cycle();
    CHECK(p.drain == std::vector<std::string>{name});
}

TEST_CASE_FIXTURE(Harness, "drone/autoscaler timings: plan every 5 m, first after 5 m, create on "
                           "the next 10 s cycle") {
    options.planInterval = 5min;
    options.planFirstAfterInterval = true;
    options.createOnNextCycle = true;
    start();
    queue.set({pendingStage(1), pendingStage(2), pendingStage(3)});
    Plan p = cycle(); // t = 0: no decision yet.
    CHECK(p.create == 0);
    CHECK(p.pending == 3);
    CHECK(p.reasons.at(0).find("decides every 5m0s") != std::string::npos);
    run(29); // t = 290 s.
    CHECK(servers().empty());
    clock.advance(10s);
    p = cycle(); // t = 300 s: the first decision.
    CHECK(p.create == 2);
    CHECK(engine->lastPlan().create == 2);
    CHECK(inState(ServerState::Pending) == 2); // Recorded, not yet created.
    CHECK(provider.createCalls == 0);
    run(1); // t = 310 s: the allocator loop creates them.
    CHECK(provider.createCalls == 2);
    CHECK(inState(ServerState::Booting) == 2);
    queue.set({});
    p = cycle(); // Same instant, not due: no decision, the last plan stays.
    CHECK(p.create == 0);
    CHECK(p.drain.empty());
    CHECK(engine->lastPlan().create == 2);
    run(28); // t = 590 s.
    CHECK(engine->lastPlan().create == 2);
    run(1); // t = 600 s: the second decision.
    CHECK(engine->lastPlan().create == 0);
}

TEST_CASE_FIXTURE(Harness, "a plan interval without first-after-interval decides at once") {
    options.planInterval = 1min;
    start();
    queue.set({pendingStage(1)});
    CHECK(cycle().create == 1);
    CHECK(provider.createCalls == 1); // Created within the deciding cycle.
    queue.set({pendingStage(1), pendingStage(2), pendingStage(3)});
    run(5);
    CHECK(provider.createCalls == 1);
    run(1); // 60 s after the first decision.
    CHECK(provider.createCalls == 2);
}

TEST_CASE_FIXTURE(Harness, "a purgeAfter shorter than an hour is also checked that often") {
    options.pool.idleTimeout = 0s;
    options.purgeAfter = 1min;
    start();
    queue.set({pendingStage(1)});
    (void)cycle();
    run(4);
    REQUIRE(running().size() == 1);
    queue.set({});
    run(1);
    REQUIRE(inState(ServerState::Terminated) == 1);
    run(6); // 60 s after termination: not yet older than purgeAfter at the last check.
    CHECK(servers().size() == 1);
    run(6);
    CHECK(servers().empty());
}

TEST_CASE_FIXTURE(Harness, "a stage that appears before TerminateInstances saves the server") {
    options.pool.idleTimeout = 0s;
    start();
    queue.set({pendingStage(1)});
    (void)cycle();
    run(4);
    auto up = running();
    REQUIRE(up.size() == 1);
    // The first read shows the server idle (it is drained); the re-read right
    // before TerminateInstances shows a stage it accepted meanwhile.
    queue.set({});
    queue.scripted.push_back(std::vector<Stage>{});
    queue.scripted.push_back(std::vector<Stage>{pendingStage(9, up[0].name)});
    run(1);
    CHECK(memory->find(up[0].name)->state == ServerState::Draining);
    CHECK(provider.live() == 1);
    CHECK(installer.drained == std::vector<std::string>{up[0].name});
    run(1); // Idle at both reads now.
    CHECK(memory->find(up[0].name)->state == ServerState::Terminated);
    CHECK(provider.live() == 0);
}

TEST_CASE_FIXTURE(Harness, "drain gives up waiting after DRONE_TIMEOUT_STOP") {
    options.pool.idleTimeout = 0s;
    options.timeoutStop = 30min;
    start();
    queue.set({pendingStage(1)});
    (void)cycle();
    run(4);
    const auto name = running().at(0).name;
    REQUIRE(engine->destroyServer(name, false));
    queue.set({runningStage(1, name)});
    const auto instance = memory->find(name)->instanceId;
    clock.advance(30min - 11s);
    run(1);
    CHECK(memory->find(name)->state == ServerState::Draining);
    run(1);
    CHECK(memory->find(name)->state == ServerState::Terminated);
    CHECK(std::count(provider.destroyed.begin(), provider.destroyed.end(), instance) == 1);
    CHECK(memory->find(name)->error.find("drain timed out") != std::string::npos);
}

TEST_CASE_FIXTURE(Harness, "error servers are terminated and creation backs off exponentially") {
    start();
    provider.createFault = [](const CreateRequest&) -> std::optional<Error> {
        // Not Errc::Capacity: a capacity refusal is a wait (engine_spot_test).
        return Error{.code = Errc::Unavailable, .message = "InternalError"};
    };
    queue.set({pendingStage(1)});
    (void)cycle();
    CHECK(provider.createCalls == 1);
    CHECK(inState(ServerState::Error) == 0); // Terminated in the same cycle.
    CHECK(inState(ServerState::Terminated) == 1);
    CHECK(engine->metrics().consecutiveFailures == 1);
    CHECK(engine->metrics().backoffRemaining == 30s);
    run(2); // 20 s later: still backing off.
    CHECK(provider.createCalls == 1);
    CHECK(engine->lastPlan().reasons.back().find("backing off creation") != std::string::npos);
    run(1); // 30 s: try again, fail again, now 60 s.
    CHECK(provider.createCalls == 2);
    CHECK(engine->metrics().backoffRemaining == 60s);
    run(5);
    CHECK(provider.createCalls == 2);
    run(1);
    CHECK(provider.createCalls == 3);
    // Recovery resets the back-off.
    provider.createFault = nullptr;
    clock.advance(2min);
    run(5);
    CHECK(running().size() == 1);
    CHECK(engine->metrics().consecutiveFailures == 0);
}

TEST_CASE_FIXTURE(Harness, "the back-off is capped at 10 minutes") {
    start();
    provider.createFault = [](const CreateRequest&) -> std::optional<Error> {
        return makeError(Errc::Unavailable, "InternalError");
    };
    queue.set({pendingStage(1)});
    for (int i = 0; i < 8; ++i) {
        (void)cycle();
        clock.advance(engine->metrics().backoffRemaining);
    }
    (void)cycle();
    CHECK(engine->metrics().backoffRemaining == 10min);
}

TEST_CASE_FIXTURE(Harness, "an unreadable queue drains nothing and creates only the minimum") {
    options.pool.min = 1;
    options.pool.idleTimeout = 0s;
    start();
    queue.set({pendingStage(1), pendingStage(2), pendingStage(3), pendingStage(4)});
    (void)cycle();
    run(4);
    REQUIRE(running().size() == 2);
    queue.error = makeError(Errc::Parse, "the Drone queue is not valid JSON");
    run(10);
    CHECK(provider.live() == 2);
    CHECK(inState(ServerState::Draining) == 0);
    CHECK(engine->status().lastError.find("not valid JSON") != std::string::npos);
    // Even with the queue gone, MIN is kept when servers vanish.
    provider.vanish(running().at(0).instanceId);
    provider.vanish(running().at(1).instanceId);
    clock.advance(5min);
    run(2);
    CHECK(provider.live() == 1);
}

TEST_CASE_FIXTURE(Harness, "a host key mismatch puts the server in error and it is replaced") {
    start();
    installer.installFault = Error{.code = Errc::HostKey, .message = "presented SHA256:xyz"};
    queue.set({pendingStage(1)});
    (void)cycle();
    run(6);
    CHECK(running().empty());
    bool sawMismatch = false;
    for (const auto& s : servers())
        sawMismatch = sawMismatch || s.error.find("host key mismatch") != std::string::npos;
    CHECK(sawMismatch);
    // Its instance was terminated; at most its replacement lives.
    CHECK(provider.destroyed.size() >= 1);
    CHECK(provider.live() <= 1);
}

TEST_CASE_FIXTURE(Harness, "orphans are marked on one sweep and terminated on the next") {
    options.orphanSweepInterval = 5min;
    start();
    const auto orphan = provider.addInstance("agent-unknown");
    (void)cycle();
    CHECK(provider.live() == 1);
    run(29); // 4m50s: no sweep yet.
    CHECK(provider.live() == 1);
    run(1);
    CHECK(provider.live() == 0);
    CHECK(engine->metrics().orphansTerminated == 1);
    CHECK(provider.destroyed == std::vector<std::string>{orphan.id});
}

TEST_CASE_FIXTURE(Harness, "a vanished instance is noticed and its capacity replaced") {
    options.orphanSweepInterval = 1min;
    start();
    queue.set({pendingStage(1)});
    (void)cycle();
    run(4);
    const auto lost = running().at(0);
    provider.vanish(lost.instanceId);
    clock.advance(2min);
    run(2);
    CHECK(memory->find(lost.name)->state == ServerState::Terminated);
    CHECK(memory->find(lost.name)->error.find("vanished") != std::string::npos);
    run(5);
    CHECK(running().size() == 1);
    CHECK(engine->metrics().vanished == 1);
}

TEST_CASE_FIXTURE(Harness, "an instance not visible right after launch is waited for") {
    provider.notVisibleFor = 40s;
    start();
    queue.set({pendingStage(1)});
    (void)cycle();
    run(3);
    CHECK(inState(ServerState::Booting) == 1);
    run(3);
    CHECK(running().size() == 1);
}

TEST_CASE_FIXTURE(Harness, "a creating row found after a restart is adopted, not duplicated") {
    start();
    const Server row = memory->insert(Server{.name = "agent-crash1",
                                             .state = ServerState::Creating,
                                             .capacity = 2,
                                             .clientToken = "tok-1",
                                             .created = clock.now()})
                               .value();
    provider.addInstance("agent-crash1");
    (void)memory->insert(Server{.name = "agent-crash2",
                                .state = ServerState::Creating,
                                .capacity = 2,
                                .clientToken = "tok-2",
                                .created = clock.now()});
    (void)cycle();
    CHECK(memory->find(row.name)->state == ServerState::Booting);
    CHECK(memory->find("agent-crash2")->state == ServerState::Booting);
    REQUIRE(provider.requests.size() == 1);
    CHECK(provider.requests[0].clientToken == "tok-2"); // The same token again.
    CHECK(provider.live() == 2);
}

TEST_CASE_FIXTURE(Harness, "pause stops decisions, not in-flight work") {
    start();
    queue.set({pendingStage(1), pendingStage(2)});
    (void)cycle();
    engine->pause();
    queue.set({pendingStage(1), pendingStage(2), pendingStage(3), pendingStage(4), pendingStage(5),
               pendingStage(6)});
    run(4);
    CHECK(running().size() == 1); // The first server still came up.
    CHECK(provider.createCalls == 1);
    engine->resume();
    run(1);
    CHECK(provider.createCalls == 3);
}

TEST_CASE_FIXTURE(Harness, "an unhealthy runner goes to error after repeated failed pings") {
    options.pingerInterval = 1min;
    start();
    queue.set({pendingStage(1)});
    (void)cycle();
    run(4);
    const auto name = running().at(0).name;
    installer.unhealthy.insert(name);
    run(7); // The first ping, one interval after it came up, fails.
    CHECK(memory->find(name)->state == ServerState::Running);
    CHECK_FALSE(installer.pinged.empty());
    run(8); // The second fails too: error, then terminated.
    CHECK(memory->find(name)->state == ServerState::Terminated);
    CHECK(memory->find(name)->error.find("runner not healthy") != std::string::npos);
}

TEST_CASE_FIXTURE(Harness, "the API cannot push the pool past MAX, also racing the engine") {
    options.workers = 4;
    start();
    queue.set({pendingStage(1), pendingStage(2), pendingStage(3), pendingStage(4), pendingStage(5),
               pendingStage(6), pendingStage(7), pendingStage(8)});
    std::vector<std::thread> api;
    std::atomic<int> refused{0};
    for (int t = 0; t < 4; ++t) {
        api.emplace_back([&] {
            for (int i = 0; i < 5; ++i) {
                auto r = engine->createServer();
                if (!r && r.error().code == Errc::LimitReached)
                    ++refused;
            }
        });
    }
    for (int i = 0; i < 5; ++i)
        (void)engine->cycle();
    for (auto& t : api)
        t.join();
    engine->waitIdle();
    CHECK(provider.maxLive <= 4);
    CHECK(refused > 0);
}

TEST_CASE_FIXTURE(Harness, "destroying through the API drains running and removes error rows") {
    start();
    queue.set({pendingStage(1)});
    (void)cycle();
    run(4);
    const auto name = running().at(0).name;
    queue.set({});
    const auto drained = engine->destroyServer(name, false);
    REQUIRE(drained);
    REQUIRE(drained->has_value());
    CHECK((*drained)->state == ServerState::Draining);
    CHECK(installer.drained == std::vector<std::string>{name});
    CHECK(engine->destroyServer("nope", false).error().code == Errc::NotFound);
    (void)memory->insert(Server{.name = "agent-err", .state = ServerState::Error});
    const auto removed = engine->destroyServer("agent-err", true);
    REQUIRE(removed);
    CHECK_FALSE(removed->has_value());
    CHECK(memory->find("agent-err").error().code == Errc::NotFound);
}

// The failure message is built from the server before it is handed over: a
// message built in the same call as std::move(server) lost the instance id
// under clang (arguments evaluated left to right).
TEST_CASE_FIXTURE(Harness, "an instance never visible while booting fails naming its instance id") {
    provider.notVisibleFor = 1h;
    start();
    queue.set({pendingStage(1)});
    (void)cycle();
    REQUIRE(inState(ServerState::Booting) == 1);
    const Server booting = servers().at(0);
    REQUIRE_FALSE(booting.instanceId.empty());
    run(13); // 130 s: past the 120 s "not visible yet" grace.
    const Server failed = memory->find(booting.name).value();
    CHECK(failed.state != ServerState::Booting);
    CHECK(failed.error == "instance " + booting.instanceId + " vanished while booting");
}

TEST_CASE_FIXTURE(Harness, "an instance terminated while booting fails naming its instance id") {
    provider.notVisibleFor = 0s;
    start();
    queue.set({pendingStage(1)});
    (void)cycle();
    REQUIRE(inState(ServerState::Booting) == 1);
    const Server booting = servers().at(0);
    provider.vanish(booting.instanceId);
    run(1);
    const Server failed = memory->find(booting.name).value();
    CHECK(failed.state != ServerState::Booting);
    CHECK(failed.error == "instance " + booting.instanceId + " terminated while booting");
    CHECK(engine->metrics().bootErrors == 1);
}

TEST_CASE_FIXTURE(Harness, "a drained server is released only when neither queue read names it") {
    // One definition of "a stage names this server": a finished stage that
    // still names it does not keep it.
    options.pool.idleTimeout = 0s;
    start();
    queue.set({pendingStage(1)});
    (void)cycle();
    run(4);
    const auto name = running().at(0).name;
    Stage done = runningStage(1, name);
    done.status = "success";
    queue.set({done});
    run(1); // Drained, and released at the re-read in the same cycle.
    CHECK(memory->find(name)->state == ServerState::Terminated);
    CHECK(provider.live() == 0);
}

TEST_CASE("randomized: crashes at random points over 1,000 cycles keep the invariants") {
    Harness h;
    h.options.pool.min = 1;
    h.options.pool.max = 4;
    h.options.pool.idleTimeout = 1min;
    h.options.orphanSweepInterval = 1min;
    h.provider.setCrashSwitch(&h.crash);
    std::mt19937 rng(20261127);
    h.start();
    int restarts = 0;
    std::int64_t nextStage = 1;
    std::vector<Stage> queue;
    for (int cycle = 0; cycle < 1000; ++cycle) {
        // Demand moves: stages arrive, some get picked up by running servers, some finish.
        if (rng() % 3 == 0)
            queue.push_back(pendingStage(nextStage++));
        auto servers = h.running();
        for (auto& stage : queue) {
            if (stage.status == "pending" && !servers.empty() && rng() % 2 == 0) {
                stage.status = "running";
                stage.machine = servers[rng() % servers.size()].name;
            }
        }
        std::erase_if(queue,
                      [&](const Stage& s) { return s.status == "running" && rng() % 4 == 0; });
        h.queue.set(queue);

        if (rng() % 5 == 0)
            h.crash.armAfter(static_cast<int>(rng() % 4));
        h.clock.advance(10s);
        try {
            (void)h.engine->cycle();
        } catch (const test::Crash&) {
            ++restarts;
            h.crash.disarm();
            h.engine.reset(); // The process died; state is what the store and cloud hold.
            h.start();
        }
        h.crash.disarm();
        // Invariant 1: never more than MAX live instances.
        REQUIRE(h.provider.live() <= 4);
        // Invariant 3: no server a running stage names is terminated.
        for (const auto& stage : queue) {
            if (stage.status != "running")
                continue;
            const auto row = h.memory->find(stage.machine);
            if (row)
                CHECK(row->state != ServerState::Terminated);
        }
    }
    CHECK(restarts > 30);
    CHECK(h.provider.maxLive <= 4);
    // Invariant 2: after the last restart every live instance is known, within two sweeps.
    h.queue.set({});
    h.run(20);
    const auto rows = h.servers();
    for (const auto& instance : h.provider.liveInstances()) {
        CAPTURE(instance.id);
        const bool known = std::any_of(rows.begin(), rows.end(), [&](const Server& s) {
            return s.instanceId == instance.id && s.state != ServerState::Terminated;
        });
        CHECK(known);
    }
}

} // namespace
} // namespace autoscale
