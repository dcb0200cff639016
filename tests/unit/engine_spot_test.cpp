// SPDX-License-Identifier: Apache-2.0
/// \file
/// Spot in the engine, on the fake clock: a capacity refusal is a wait (no
/// error, no back-off) explained in the plan; the on-demand cap of a spot pool;
/// the market recorded on the row; cloud notices (interruption warnings drain
/// and replace at once, state changes close the row).

#include <condition_variable>
#include <mutex>
#include <set>

#include <doctest/doctest.h>

#include <autoscale/engine.h>
#include <autoscale/interruption_poller.h>
#include <autoscale/interruptions.h>
#include <autoscale/json.h>
#include <autoscale/sqlite_store.h>

#include "doctest_support.h"
#include "engine/cloud_sweep.h"
#include "fake_interruption_queue.h"
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
    std::set<std::string> first;
    std::set<std::string> retried;
    for (std::size_t i = 0; i < 3; ++i) {
        first.insert(provider.requests[i].clientToken);
        retried.insert(provider.requests[i + 3].clientToken);
    }
    CHECK(first == retried);
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

TEST_CASE_FIXTURE(SpotHarness, "the on-demand cap holds for creates in flight at once") {
    options.onDemandMax = 1;
    options.workers = 2;
    start();
    // Each create waits until the other has been asked too (or 5 s): both are
    // in flight before either row says which market it got.
    std::mutex mutex;
    std::condition_variable arrived;
    int creates = 0;
    provider.createFault = [&](const CreateRequest&) -> std::optional<Error> {
        std::unique_lock lock(mutex);
        ++creates;
        arrived.notify_all();
        arrived.wait_for(lock, 5s, [&] { return creates >= 2; });
        return std::nullopt;
    };
    queue.set({pendingStage(1), pendingStage(2)});
    (void)cycle();
    engine->waitIdle();
    REQUIRE(provider.requests.size() == 2);
    CHECK(provider.requests[0].onDemandAllowed != provider.requests[1].onDemandAllowed);

    // Once both rows are stored, the one on-demand server holds the cap.
    provider.createFault = nullptr;
    queue.set({pendingStage(1), pendingStage(2), pendingStage(3)});
    clock.advance(10s);
    (void)cycle();
    engine->waitIdle();
    REQUIRE(provider.requests.size() == 3);
    CHECK_FALSE(provider.requests[2].onDemandAllowed);
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

TEST_CASE("a young row whose instance is listed as going has vanished; one not listed yet has "
          "not") {
    const WallTime now = WallTime{} + 1000h;
    Server reclaimed{.name = "agent-a", .instanceId = "i-a", .created = now - 10s};
    restoreState(reclaimed, ServerState::Running);
    Server unseen{.name = "agent-b", .instanceId = "i-b", .created = now - 10s};
    restoreState(unseen, ServerState::Booting);
    const std::vector<Server> rows{reclaimed, unseen};
    const std::vector<Instance> listed{{.id = "i-a",
                                        .serverName = "agent-a",
                                        .state = InstanceState::ShuttingDown,
                                        .stateReason = "Server.SpotInstanceTermination"}};
    const CloudFindings found = classifyCloud(rows, listed, now, 2min);
    CHECK(found.vanished == std::vector<std::string>{"agent-a"});
}

/// One running server busy with a stage, at max 1.
struct NoticeHarness : SpotHarness {
    Server busy;

    NoticeHarness() {
        options.pool.max = 1;
        provider.market = "spot";
        start();
        queue.set({pendingStage(1)});
        (void)cycle();
        run(4);
        auto rows = servers();
        REQUIRE(rows.size() == 1);
        REQUIRE(rows[0].state == ServerState::Running);
        busy = rows[0];
        queue.set({runningStage(1, busy.name)});
        clock.advance(10s);
        (void)cycle();
    }

    CloudNotice warning() const {
        return CloudNotice{.kind = CloudNotice::SpotInterruption,
                           .instanceId = busy.instanceId,
                           .state = "terminate",
                           .time = clock.now()};
    }
};

TEST_CASE_FIXTURE(NoticeHarness, "an interruption warning drains the runner at once and the next "
                                 "cycle launches a replacement beyond max") {
    const int createsBefore = provider.createCalls;
    auto handled = engine->handleNotice(warning());
    REQUIRE(handled);
    CHECK(handled->state == ServerState::Draining);
    CHECK(handled->reclaimNotice == clock.now());
    CHECK(handled->error.find("spot interruption warning") != std::string::npos);
    REQUIRE(installer.drained.size() == 1); // Inline executor: drained within the call.
    CHECK(installer.drained[0] == busy.name);
    CHECK(engine->metrics().interruptions == 1);

    // The stage still runs on it; the pool is at max 1, yet a replacement is made.
    queue.set({runningStage(1, busy.name), pendingStage(2)});
    const Plan p = cycle();
    CHECK(p.live == 0);
    CHECK(p.create == 1);
    CHECK(provider.createCalls == createsBefore + 1);

    // A duplicate delivery changes nothing.
    auto again = engine->handleNotice(warning());
    REQUIRE(again);
    CHECK(again->version == store->find(busy.name)->version);
    CHECK(engine->metrics().interruptions == 1);
}

TEST_CASE_FIXTURE(NoticeHarness,
                  "a terminated state change closes the row at once with the reclaim "
                  "as the reason") {
    REQUIRE(engine->handleNotice(warning()));
    auto closed = engine->handleNotice(CloudNotice{.kind = CloudNotice::StateChange,
                                                   .instanceId = busy.instanceId,
                                                   .state = "terminated",
                                                   .time = clock.now()});
    REQUIRE(closed);
    CHECK(closed->state == ServerState::Terminated);
    CHECK(closed->error.find("spot interruption warning") != std::string::npos);
    CHECK(closed->error.find("terminated (EC2 state-change notice)") != std::string::npos);
    CHECK(store->find(busy.name)->state == ServerState::Terminated);
}

TEST_CASE_FIXTURE(NoticeHarness, "a shutting-down state change without a warning closes the row") {
    auto closed = engine->handleNotice(CloudNotice{.kind = CloudNotice::StateChange,
                                                   .instanceId = busy.instanceId,
                                                   .state = "shutting-down",
                                                   .time = clock.now()});
    REQUIRE(closed);
    CHECK(closed->state == ServerState::Terminated);
    CHECK(closed->error ==
          "instance " + busy.instanceId + " shutting-down (EC2 state-change notice)");
}

TEST_CASE_FIXTURE(NoticeHarness, "a notice about an instance that is not ours is NotFound, a "
                                 "running state change is nothing") {
    auto other = engine->handleNotice(CloudNotice{.kind = CloudNotice::SpotInterruption,
                                                  .instanceId = "i-0000000000000000f"});
    REQUIRE_FALSE(other);
    CHECK(other.error().code == Errc::NotFound);
    auto running = engine->handleNotice(CloudNotice{
            .kind = CloudNotice::StateChange, .instanceId = busy.instanceId, .state = "running"});
    REQUIRE(running);
    CHECK(running->state == ServerState::Running);
    CHECK(running->reclaimNotice == WallTime{});
}

TEST_CASE_FIXTURE(NoticeHarness, "the poller hands notices to the engine and deletes every "
                                 "message, also ignored and foreign ones") {
    test::FakeInterruptionQueue sqs;
    const std::string ours = sqs.push({warning()});
    const std::string foreign =
            sqs.push({CloudNotice{.kind = CloudNotice::SpotInterruption, .instanceId = "i-f"}});
    const std::string ignored = sqs.pushBody(R"({"source":"aws.s3","detail-type":"x"})");
    InterruptionPoller poller(
            sqs,
            [this](const CloudNotice& n) -> Result<void> {
                auto r = engine->handleNotice(n);
                if (!r)
                    return r.error();
                return {};
            },
            clock, Logger(sink, clock, "interruptions", LogLevel::Debug));
    const std::stop_source stop;
    auto polled = poller.pollOnce(stop.get_token());
    REQUIRE(polled);
    CHECK(*polled == 3);
    CHECK(sqs.removed() == std::vector<std::string>{ours, foreign, ignored});
    CHECK(store->find(busy.name)->state == ServerState::Draining);
    CHECK(sqs.pending() == 0);
}

TEST_CASE_FIXTURE(NoticeHarness, "a notice the poller could not act on is not deleted: it comes "
                                 "back; a stopping poller acts on nothing") {
    test::FakeInterruptionQueue sqs;
    const std::string ours = sqs.push({warning()});
    bool storeDown = true;
    InterruptionPoller poller(
            sqs,
            [&](const CloudNotice& n) -> Result<void> {
                if (storeDown)
                    return makeError(Errc::Unavailable, "database is locked");
                auto r = engine->handleNotice(n);
                if (!r)
                    return r.error();
                return {};
            },
            clock, Logger(sink, clock, "interruptions", LogLevel::Debug));
    std::stop_source stop;
    auto polled = poller.pollOnce(stop.get_token());
    REQUIRE(polled);
    CHECK(*polled == 0);
    CHECK(sqs.removed().empty());
    CHECK(sqs.pending() == 1);
    CHECK(sink.text().find("comes back") != std::string::npos);

    // Received while the daemon stops: left for the next start (or the leader).
    storeDown = false;
    stop.request_stop();
    polled = poller.pollOnce(stop.get_token());
    CHECK(sqs.pending() == 1);
    CHECK(store->find(busy.name)->state == ServerState::Running);

    const std::stop_source running;
    polled = poller.pollOnce(running.get_token());
    REQUIRE(polled);
    CHECK(*polled == 1);
    CHECK(sqs.removed() == std::vector<std::string>{ours});
    CHECK(store->find(busy.name)->state == ServerState::Draining);
}

/// A running server busy with 2 stages of 2 builds; lost-build hooks that
/// record what they are asked.
struct LostHarness : SpotHarness {
    Server busy;
    std::vector<std::string> handled;
    int finds = 0;

    void hooks() {
        options.findLostBuilds = [this](const Server& s) -> Result<std::vector<LostBuild>> {
            ++finds;
            CHECK(s.name == busy.name);
            return std::vector<LostBuild>{{.repo = "octocat/hello", .number = 7},
                                          {.repo = "octocat/world", .number = 9}};
        };
        options.handleLostBuilds = [this](const std::string& name) {
            handled.push_back(name);
            // As the restarter does: each build once, the outcome recorded.
            Server row = store->find(name).value();
            for (auto& b : row.lostBuilds) {
                if (b.outcome.empty()) {
                    b.outcome = "restarted";
                    b.restartedAs = b.number + 100;
                }
            }
            REQUIRE(store->update(row));
        };
    }

    LostHarness() {
        options.pool.concurrency = 2;
        options.orphanSweepInterval = 1min;
        provider.market = "spot";
        hooks();
        start();
        queue.set({pendingStage(1)});
        (void)cycle();
        run(4);
        auto rows = servers();
        REQUIRE(rows.size() == 1);
        REQUIRE(rows[0].state == ServerState::Running);
        busy = rows[0];
        queue.set({runningStage(1, busy.name), runningStage(2, busy.name)});
        clock.advance(10s);
        (void)cycle();
    }
};

TEST_CASE_FIXTURE(LostHarness, "a server that vanished with Server.SpotInstanceTermination: its "
                               "builds are recorded as lost and handed to the restarter once") {
    provider.vanish(busy.instanceId, "Server.SpotInstanceTermination");
    clock.advance(2min);
    run(2); // The sweep.
    const Server gone = store->find(busy.name).value();
    CHECK(gone.state == ServerState::Terminated);
    CHECK(gone.error == "reclaimed by EC2 (Server.SpotInstanceTermination): instance " +
                                busy.instanceId + " vanished");
    REQUIRE(gone.lostBuilds.size() == 2);
    CHECK(gone.lostBuilds[0].repo == "octocat/hello");
    CHECK(gone.lostBuilds[1].outcome == "restarted");
    CHECK(finds == 1);
    CHECK(handled == std::vector<std::string>{busy.name});
    CHECK(engine->metrics().stagesLost == 2);
    run(10);
    CHECK(finds == 1);
    CHECK(handled.size() == 1);

    // A restarted daemon resumes only rows with unhandled builds: none here.
    engine.reset();
    start();
    (void)cycle();
    CHECK(handled.size() == 1);
}

TEST_CASE_FIXTURE(LostHarness, "a daemon restarted before the builds were handled resumes them "
                               "once") {
    options.handleLostBuilds = nullptr; // The daemon dies before handling.
    engine.reset();
    start();
    provider.vanish(busy.instanceId, "Server.SpotInstanceTermination");
    clock.advance(2min);
    run(2);
    REQUIRE(store->find(busy.name)->lostBuilds.size() == 2);
    CHECK(handled.empty());

    engine.reset();
    hooks();
    start();
    (void)cycle();
    CHECK(handled == std::vector<std::string>{busy.name});
    const Server resumed = store->find(busy.name).value();
    for (const auto& b : resumed.lostBuilds)
        CHECK(b.outcome == "restarted");
    run(3);
    CHECK(handled.size() == 1);
    engine.reset();
    start();
    (void)cycle();
    CHECK(handled.size() == 1);
}

TEST_CASE_FIXTURE(LostHarness, "a warning then a terminated state change records the lost builds "
                               "at once") {
    REQUIRE(engine->handleNotice(CloudNotice{.kind = CloudNotice::SpotInterruption,
                                             .instanceId = busy.instanceId,
                                             .state = "terminate"}));
    CHECK(finds == 0); // The warning: the builds still run.
    REQUIRE(engine->handleNotice(CloudNotice{.kind = CloudNotice::StateChange,
                                             .instanceId = busy.instanceId,
                                             .state = "terminated"}));
    CHECK(finds == 1);
    CHECK(store->find(busy.name)->lostBuilds.size() == 2);
    CHECK(handled.size() == 1);
}

} // namespace
} // namespace autoscale
