// SPDX-License-Identifier: Apache-2.0
// Several pools: routing (Drone's rule over pools in order), the fleet's max
// shared among pools (fleetShares), and the Fleet on fakes and a real SQLite
// store in memory (issue 13).

#include <doctest/doctest.h>

#include <autoscale/dispatch.h>
#include <autoscale/fleet.h>
#include <autoscale/sqlite_store.h>

#include "doctest_support.h"
#include "fakes.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

PoolSettings poolOf(const std::string& name, const std::string& arch,
                    std::map<std::string, std::string> labels = {}) {
    PoolSettings p;
    p.name = name;
    p.arch = arch;
    p.labels = std::move(labels);
    p.min = 0;
    p.max = 3;
    p.concurrency = 1;
    p.launchDelay = 0s;
    return p;
}

Stage stageOf(std::int64_t id, const std::string& os, const std::string& arch,
              std::map<std::string, std::string> labels = {}) {
    return {.id = id, .status = "pending", .os = os, .arch = arch, .labels = std::move(labels)};
}

std::vector<int> values(const std::vector<std::optional<int>>& shares) {
    std::vector<int> out;
    for (const auto& s : shares)
        out.push_back(s.value_or(-1));
    return out;
}

TEST_CASE("fleetShares: the issue's example splits 5 as 2, 2, 1") {
    const std::vector<PoolDemand> pools{{.min = 0, .max = 3, .wanted = 3},
                                        {.min = 0, .max = 2, .wanted = 2},
                                        {.min = 0, .max = 1, .wanted = 1}};
    CHECK(values(fleetShares(pools, 5)) == std::vector<int>{2, 2, 1});
}

TEST_CASE("fleetShares: mins first, then one each to pools that want more, then in proportion") {
    // Mins 2 and 1 take 3 of 6; one each leaves 1; the rest goes to the pool
    // wanting the most (8 more against 1 more).
    const std::vector<PoolDemand> pools{{.min = 2, .max = 10, .wanted = 10},
                                        {.min = 1, .max = 10, .wanted = 2},
                                        {.min = 0, .max = 10, .wanted = 0}};
    CHECK(values(fleetShares(pools, 6)) == std::vector<int>{4, 2, 0});
    // Every pool with demand gets at least one even when another wants far more.
    const std::vector<PoolDemand> skewed{{.min = 0, .max = 100, .wanted = 100},
                                         {.min = 0, .max = 100, .wanted = 1},
                                         {.min = 0, .max = 100, .wanted = 1}};
    CHECK(values(fleetShares(skewed, 3)) == std::vector<int>{1, 1, 1});
    CHECK(values(fleetShares(skewed, 10)) == std::vector<int>{8, 1, 1});
}

TEST_CASE("fleetShares: when the wanted counts fit, each gets what it wants and the room left goes "
          "in pool order up to each max; without a fleet max there is no share") {
    const std::vector<PoolDemand> pools{{.min = 0, .max = 4, .wanted = 1},
                                        {.min = 0, .max = 4, .wanted = 2}};
    CHECK(values(fleetShares(pools, 10)) == std::vector<int>{4, 4});
    CHECK(values(fleetShares(pools, 5)) == std::vector<int>{3, 2});
    const auto none = fleetShares(pools, std::nullopt);
    CHECK_FALSE(none[0].has_value());
    CHECK_FALSE(none[1].has_value());
}

TEST_CASE("fleetShares: never above a pool's max nor, in total, the fleet's max; deterministic") {
    for (int fleet = 1; fleet <= 20; ++fleet) {
        for (int want = 0; want <= 12; ++want) {
            const std::vector<PoolDemand> pools{{.min = 1, .max = 6, .wanted = want},
                                                {.min = 0, .max = 3, .wanted = 12 - want},
                                                {.min = 0, .max = 5, .wanted = want / 2}};
            const auto shares = fleetShares(pools, fleet);
            int total = 0;
            for (std::size_t i = 0; i < pools.size(); ++i) {
                CHECK(*shares[i] <= pools[i].max);
                CHECK(*shares[i] >= 0);
                total += *shares[i];
            }
            CHECK(total <= std::max(fleet, 1));
            CHECK(shares == fleetShares(pools, fleet));
        }
    }
}

TEST_CASE("routeQueue: the first pool in order that Drone's rule gives a stage to takes it") {
    const std::vector<PoolSettings> pools{poolOf("gpu", "amd64", {{"gpu", "yes"}}),
                                          poolOf("amd64", "amd64"), poolOf("arm64", "arm64"),
                                          poolOf("amd64-too", "amd64")};
    const std::vector<Stage> queue{stageOf(1, "linux", "amd64"), stageOf(2, "linux", "arm64"),
                                   stageOf(3, "linux", "amd64", {{"gpu", "yes"}}),
                                   stageOf(4, "windows", "amd64"),
                                   stageOf(5, "linux", "amd64", {{"gpu", "no"}})};
    const RoutedQueue routed = routeQueue(queue, pools);
    CHECK(routed.pool == std::vector<int>{1, 2, 0, -1, -1});
    CHECK(routed.verdict[0] == Dispatch::Given);
    CHECK(routed.verdict[3] == Dispatch::Platform);
    CHECK(routed.verdict[4] == Dispatch::Labels);
    CHECK(isUnroutable(queue[3], routed.verdict[3], routed.pool[3]));
    CHECK(isUnroutable(queue[4], routed.verdict[4], routed.pool[4]));
    CHECK_FALSE(isUnroutable(queue[0], routed.verdict[0], routed.pool[0]));
    // A stage of another kind is not ours to route, hence not unroutable.
    Stage exec = stageOf(6, "linux", "amd64");
    exec.type = "exec";
    const RoutedQueue other = routeQueue(std::vector<Stage>{exec}, pools);
    CHECK(other.pool[0] == -1);
    CHECK_FALSE(isUnroutable(exec, other.verdict[0], other.pool[0]));
}

TEST_CASE("routeQueue: a limit counts siblings across pools, as Drone does") {
    const std::vector<PoolSettings> pools{poolOf("amd64", "amd64"), poolOf("arm64", "arm64")};
    Stage running = stageOf(1, "linux", "arm64");
    running.status = "running";
    running.repoId = 7;
    running.name = "build";
    Stage held = stageOf(2, "linux", "amd64");
    held.repoId = 7;
    held.name = "build";
    held.limit = 1;
    const RoutedQueue routed = routeQueue(std::vector<Stage>{running, held}, pools);
    CHECK(routed.pool == std::vector<int>{1, 0});
    CHECK(routed.verdict[1] == Dispatch::Limit);
}

struct FleetHarness {
    test::FakeClock clock;
    test::FakeProvider amd{clock};
    test::FakeProvider arm{clock};
    test::FakeProvider gpu{clock};
    test::FakeQueue queue;
    test::FakeInstaller installer;
    MemorySink sink;
    std::unique_ptr<Store> store = openSqliteStore({.path = ":memory:"}).value();

    std::unique_ptr<Fleet> start(std::optional<int> fleetMax) {
        std::vector<FleetPool> pools;
        const std::array<std::pair<PoolSettings, test::FakeProvider*>, 3> specs{
                {{poolOf("amd64", "amd64"), &amd},
                 {poolOf("arm64", "arm64"), &arm},
                 {poolOf("gpu", "amd64", {{"gpu", "yes"}}), &gpu}}};
        for (const auto& [settings, provider] : specs) {
            EngineOptions o;
            o.pool = settings;
            o.pool.max = settings.name == "gpu" ? 1 : (settings.name == "arm64" ? 2 : 3);
            o.namePrefix = settings.name + "-";
            o.workers = 0;
            o.interval = 10s;
            pools.push_back({.options = o, .provider = provider, .installer = &installer});
        }
        return std::make_unique<Fleet>(std::move(pools), fleetMax, *store, queue, clock,
                                       Logger(sink, clock, "engine", LogLevel::Debug), 10s);
    }
};

std::vector<Stage> acceptanceQueue() {
    std::vector<Stage> out;
    std::int64_t id = 0;
    for (int i = 0; i < 4; ++i)
        out.push_back(stageOf(++id, "linux", "amd64"));
    for (int i = 0; i < 3; ++i)
        out.push_back(stageOf(++id, "linux", "arm64"));
    for (int i = 0; i < 2; ++i)
        out.push_back(stageOf(++id, "linux", "amd64", {{"gpu", "yes"}}));
    out.push_back(stageOf(++id, "windows", "amd64"));
    return out;
}

TEST_CASE("Fleet: each pool launches on its own provider within its max, the fleet within its "
          "max, the windows stage unroutable") {
    FleetHarness h;
    auto fleet = h.start(5);
    h.queue.set(acceptanceQueue());
    for (int i = 0; i < 5; ++i) {
        auto plan = fleet->cycle();
        REQUIRE(plan);
        CHECK(plan->unroutable.size() == 1);
        h.clock.advance(10s);
    }
    CHECK(h.amd.maxLive == 2);
    CHECK(h.arm.maxLive == 2);
    CHECK(h.gpu.maxLive == 1);
    const auto rows = h.store->list().value();
    CHECK(rows.size() == 5);
    for (const auto& row : rows)
        CHECK(row.name.starts_with(row.pool + "-"));
    const FleetPlan last = fleet->lastPlan();
    REQUIRE(last.pools.size() == 3);
    CHECK(last.pools[0].pool == "amd64");
    CHECK(last.pools[0].pending + last.pools[0].running == 4);
    CHECK(last.pools[1].pending + last.pools[1].running == 3);
    CHECK(last.pools[2].pending + last.pools[2].running == 2);
    CHECK(last.pools[0].leftOut.routed == 5);
    CHECK(last.unroutable.size() == 1);
    CHECK(last.unroutable.front().os == "windows");
    // Without a fleet max every pool goes to its own max.
    FleetHarness free;
    auto unbounded = free.start(std::nullopt);
    free.queue.set(acceptanceQueue());
    for (int i = 0; i < 5; ++i) {
        REQUIRE(unbounded->cycle());
        free.clock.advance(10s);
    }
    CHECK(free.amd.maxLive == 3);
    CHECK(free.arm.maxLive == 2);
    CHECK(free.gpu.maxLive == 1);
}

TEST_CASE("Fleet: the API cannot push a pool or the fleet past its max") {
    FleetHarness h;
    auto fleet = h.start(4);
    int refused = 0;
    for (int i = 0; i < 6; ++i) {
        for (std::size_t p = 0; p < fleet->size(); ++p) {
            auto r = fleet->engine(p).createServer();
            if (!r) {
                CHECK(r.error().code == Errc::LimitReached);
                ++refused;
            }
        }
    }
    const auto rows = h.store->list().value();
    CHECK(rows.size() == 4);
    CHECK(refused == 18 - 4);
    const auto gpuRows = std::count_if(rows.begin(), rows.end(),
                                       [](const Server& s) { return s.pool == "gpu"; });
    CHECK(gpuRows <= 1);
}

TEST_CASE("Fleet: rows of no pool, or of a pool no longer configured, are claimed by the first "
          "pool; pause is stored") {
    FleetHarness h;
    REQUIRE(h.store->insert(Server{.name = "agent-old", .state = ServerState::Pending}));
    REQUIRE(h.store->insert(
            Server{.name = "removed-1", .pool = "removed", .state = ServerState::Pending}));
    REQUIRE(h.store->insert(
            Server{.name = "arm64-1", .pool = "arm64", .state = ServerState::Pending}));
    auto fleet = h.start(std::nullopt);
    REQUIRE(fleet->cycle());
    CHECK(h.store->find("agent-old")->pool == "amd64");
    CHECK(h.store->find("removed-1")->pool == "amd64");
    CHECK(h.store->find("arm64-1")->pool == "arm64");

    REQUIRE(fleet->pause());
    CHECK(fleet->paused());
    CHECK(h.store->getValue("paused")->value_or("") == "true");
    REQUIRE(fleet->resume());
    CHECK_FALSE(fleet->paused());
    // A pause another daemon stored is applied at the next cycle.
    REQUIRE(h.store->putValue("paused", "true"));
    REQUIRE(fleet->cycle());
    CHECK(fleet->engine(0).paused());
    CHECK(fleet->engine(2).paused());
}

TEST_CASE("Fleet with leadership: a follower does not act; on a term it acts") {
    FleetHarness h;
    std::atomic<std::int64_t> term{0};
    std::vector<FleetPool> pools;
    EngineOptions o;
    o.pool = poolOf("amd64", "amd64");
    o.workers = 0;
    pools.push_back({.options = o, .provider = &h.amd, .installer = &h.installer});
    Fleet fleet(std::move(pools), std::nullopt, *h.store, h.queue, h.clock,
                Logger(h.sink, h.clock, "engine", LogLevel::Debug), 10s,
                FleetLeadership{.term = [&term] { return term.load(); },
                                .leaderId = [] { return std::string("other"); },
                                .id = "me"});
    h.queue.set({stageOf(1, "linux", "amd64")});
    REQUIRE(fleet.cycle());
    CHECK(h.queue.calls == 0);
    CHECK(h.store->list()->empty());
    CHECK_FALSE(fleet.role().leader);
    CHECK(fleet.role().leaderId == "other");
    // A follower's API write is a stored row, started by the leader later.
    REQUIRE(fleet.engine(0).createServer());
    CHECK(h.amd.maxLive == 0);
    term = 3;
    REQUIRE(fleet.cycle());
    CHECK(fleet.role().leader);
    CHECK(h.amd.maxLive >= 1);
}

} // namespace
} // namespace autoscale

namespace autoscale {
namespace {

TEST_CASE("the creation back-off and the orphan marks live in the store: a new engine (the next "
          "leader, or this daemon restarted) takes them up") {
    FleetHarness h;
    EngineOptions o;
    o.pool = poolOf("amd64", "amd64");
    o.workers = 0;
    o.backoffInitial = 30s;
    h.amd.createFault = [](const CreateRequest&) -> std::optional<Error> {
        return Error{.code = Errc::InvalidArgument, .message = "InvalidAMIID.Malformed"};
    };
    h.queue.set({stageOf(1, "linux", "amd64")});
    {
        Engine first(o, *h.store, h.amd, h.queue, h.installer, h.clock,
                     Logger(h.sink, h.clock, "engine", LogLevel::Debug));
        for (int i = 0; i < 3; ++i) {
            (void)first.cycle();
            h.clock.advance(1s);
        }
        REQUIRE(first.metrics().consecutiveFailures >= 1);
        REQUIRE(first.status().backoffUntil.has_value());
    }
    const auto stored = h.store->getValue("backoff/amd64");
    REQUIRE(stored);
    REQUIRE(stored->has_value());
    CHECK((*stored)->starts_with("1,"));
    // An instance no row knows, marked as an orphan by another process's sweep.
    h.amd.createFault = nullptr;
    const auto ghost = h.amd.create(CreateRequest{.serverName = "ghost", .clientToken = "t-ghost"});
    REQUIRE(ghost);
    REQUIRE(h.store->putValue("orphans/amd64", ghost->id));

    const int callsBefore = h.amd.createCalls;
    Engine next(o, *h.store, h.amd, h.queue, h.installer, h.clock,
                Logger(h.sink, h.clock, "engine", LogLevel::Debug));
    (void)next.cycle();
    CHECK(next.metrics().consecutiveFailures == 1);
    CHECK(next.status().backoffUntil.has_value());
    CHECK(h.amd.createCalls == callsBefore); // Still backing off: no launch.
    // Marked before: terminated at this engine's first sweep, not merely marked.
    const auto listed = h.amd.list().value();
    CHECK(std::none_of(listed.begin(), listed.end(),
                       [&ghost](const Instance& i) { return i.id == ghost->id; }));
}

} // namespace
} // namespace autoscale
