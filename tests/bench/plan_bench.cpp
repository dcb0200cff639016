// SPDX-License-Identifier: Apache-2.0
/// \file
/// Benchmark of planning (issue 13's acceptance: one planning cycle with 10
/// pools, 5,000 servers and 50,000 stages, target <= 25 ms):
///  1. a fleet's planning cycle on inputs in memory: routeQueue(), the
///     per-pool partition, fleetShares() and each pool's plan() (planFleet(),
///     what `autoscaler-cli plan` runs), median and max of 20 runs, with the
///     parts timed on their own;
///  2. the same cycle through the real Fleet::cycle(): 10 engines over one
///     in-memory SQLite store holding the 5,000 rows, a fake queue and fake
///     providers, workers 0, every pool at its max so nothing is created;
///     steady (nothing written: the engines reuse their listings) and with a
///     write before every cycle (every engine reads its rows again);
///  3. `autoscaler-cli plan --queue-file --servers-file` with 50,000 queued
///     stages and 5,000 servers, one pool, as a whole process (JSON parsing
///     included): wall time (min and median of 5 runs) and peak RSS; and the
///     planner alone on the same inputs.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <sys/resource.h>
#include <time.h>

#include <autoscale/dispatch.h>
#include <autoscale/drone.h>
#include <autoscale/fleet.h>
#include <autoscale/json.h>
#include <autoscale/log.h>
#include <autoscale/plan_report.h>
#include <autoscale/planner.h>
#include <autoscale/sqlite_store.h>

#include "fake_drone.h"
#include "fakes.h"
#include "process.h"
#include "temp_dir.h"

using namespace autoscale;

namespace {

constexpr int kStages = 50'000;
constexpr int kServers = 5'000;

std::vector<Server> makeServers(WallTime now) {
    std::vector<Server> servers;
    for (int i = 0; i < kServers; ++i) {
        servers.push_back(Server{.name = "agent-" + std::to_string(i),
                                 .instanceId = "i-" + std::to_string(100000 + i),
                                 .state = i % 10 == 0 ? ServerState::Booting : ServerState::Running,
                                 .capacity = 2,
                                 .created = now - std::chrono::hours{2},
                                 .started = now - std::chrono::hours{2},
                                 .lastBusy = now - std::chrono::minutes{i % 60}});
    }
    return servers;
}

std::vector<Stage> makeStages() {
    std::mt19937 rng(42);
    std::vector<Stage> stages;
    for (int i = 0; i < kStages; ++i) {
        Stage s{.id = i + 1,
                .buildId = i / 3,
                .status = i % 5 == 0 ? "running" : "pending",
                .os = "linux",
                .arch = i % 7 == 0 ? "arm64" : "amd64",
                .created = 1700000000 + i};
        if (s.status == "running")
            s.machine = "agent-" + std::to_string(rng() % kServers);
        stages.push_back(std::move(s));
    }
    return stages;
}

// ---- 10 pools -------------------------------------------------------------

constexpr int kPools = 10;
constexpr int kRuns = 20;

/// Ten pools as a real fleet might have them: two platforms, a 32-bit arm
/// variant, labelled pools (gpu, large machines, two teams, kvm) and Windows.
std::vector<PoolSettings> makePools() {
    auto pool = [](std::string name, std::string os, std::string arch,
                   std::map<std::string, std::string> labels) {
        return PoolSettings{.name = std::move(name),
                            .os = std::move(os),
                            .arch = std::move(arch),
                            .labels = std::move(labels),
                            .min = 0,
                            .max = kServers / kPools, // At max: nothing is created.
                            .concurrency = 2,
                            .idleTimeout = std::chrono::hours{24}};
    };
    std::vector<PoolSettings> pools = {
            pool("amd64", "linux", "amd64", {}),
            pool("arm64", "linux", "arm64", {}),
            pool("arm", "linux", "arm", {}),
            pool("gpu", "linux", "amd64", {{"gpu", "yes"}}),
            pool("large", "linux", "amd64", {{"size", "large"}}),
            pool("large-arm64", "linux", "arm64", {{"size", "large"}}),
            pool("team-a", "linux", "amd64", {{"team", "a"}}),
            pool("team-b", "linux", "amd64", {{"team", "b"}}),
            pool("windows", "windows", "amd64", {}),
            pool("kvm", "linux", "amd64", {{"kvm", "yes"}}),
    };
    pools[2].variant = "v7";
    return pools;
}

std::string serverName(const PoolSettings& pool, int i) {
    return pool.name + "-" + std::to_string(i);
}

std::vector<Server> makePoolServers(const std::vector<PoolSettings>& pools, WallTime now) {
    std::vector<Server> servers;
    for (int i = 0; i < kServers; ++i) {
        const auto& pool = pools[static_cast<std::size_t>(i % kPools)];
        // A tenth of the first pool's rows predate pools (no pool column).
        const bool unpooled = i % kPools == 0 && i % 100 == 0;
        servers.push_back(Server{.name = serverName(pool, i),
                                 .pool = unpooled ? std::string() : pool.name,
                                 .instanceId = "i-" + std::to_string(100000 + i),
                                 .state = ServerState::Running,
                                 .address = "10.0.0.1",
                                 .capacity = 2,
                                 .created = now - std::chrono::hours{2},
                                 .started = now - std::chrono::hours{2},
                                 .lastBusy = now - std::chrono::seconds{i % 60}});
    }
    return servers;
}

/// 50,000 stages: most for the big pools, some labelled, 3% of another kind
/// (exec), 2% that no pool serves (darwin), a fifth running on a server of
/// their pool; a tenth in pipelines with a concurrency limit and some repos
/// throttled, so routing does its hold-back pass.
std::vector<Stage> makePoolStages(const std::vector<PoolSettings>& pools) {
    std::mt19937 rng(13);
    // Weights of the pools: amd64 and arm64 take most of the load.
    const std::vector<int> weights = {40, 20, 3, 4, 8, 4, 8, 8, 3, 2};
    std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
    std::vector<Stage> stages;
    stages.reserve(kStages);
    for (int i = 0; i < kStages; ++i) {
        const auto p = pick(rng);
        const auto& pool = pools[p];
        Stage s{.id = i + 1,
                .buildId = i / 3,
                .status = i % 5 == 0 ? "running" : "pending",
                .os = pool.os,
                .arch = pool.arch,
                .variant = pool.variant,
                .created = 1700000000 + i,
                .repoId = static_cast<std::int64_t>(rng() % 400),
                .name = i % 2 == 0 ? "default" : "test"};
        s.labels = pool.labels;
        if (rng() % 100 < 3)
            s.type = "exec";
        if (rng() % 100 < 2)
            s.os = "darwin";
        if (rng() % 10 == 0)
            s.limit = 2;
        if (s.repoId % 50 == 0)
            s.throttle = 5;
        if (s.status == "running") {
            const int n = static_cast<int>(rng() % (kServers / kPools));
            s.machine = serverName(pool, n * kPools + static_cast<int>(p));
        }
        stages.push_back(std::move(s));
    }
    return stages;
}

double msSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double threadCpuMs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

void printFigure(const char* what, std::vector<double> times, std::vector<double> cpu = {}) {
    std::sort(times.begin(), times.end());
    std::printf("%s: median %.2f ms, max %.2f ms (min %.2f ms, %zu runs)", what,
                times[times.size() / 2], times.back(), times.front(), times.size());
    if (!cpu.empty()) {
        std::sort(cpu.begin(), cpu.end());
        std::printf("; CPU median %.2f ms, max %.2f ms", cpu[cpu.size() / 2], cpu.back());
    }
    std::printf("\n");
}

/// A Store that counts the listings the engines make.
class CountingStore final : public Store {
public:
    explicit CountingStore(Store& inner) : inner_(inner) {}

    Result<Server> insertWithin(const Server& server, const InsertCaps& caps) override {
        return inner_.insertWithin(server, caps);
    }
    Result<Server> find(const std::string& name) override { return inner_.find(name); }
    Result<std::vector<Server>> list() override {
        ++lists;
        return inner_.list();
    }
    Result<std::vector<Server>> listPool(const std::string& pool) override {
        ++lists;
        return inner_.listPool(pool);
    }
    Result<Server> update(const Server& server) override { return inner_.update(server); }
    Result<void> remove(const std::string& name, std::int64_t version) override {
        return inner_.remove(name, version);
    }
    Result<int> purge(WallTime before) override { return inner_.purge(before); }
    Result<std::optional<std::string>> getValue(const std::string& key) override {
        return inner_.getValue(key);
    }
    Result<void> putValue(const std::string& key, const std::string& value) override {
        return inner_.putValue(key, value);
    }
    std::optional<std::uint64_t> changeCount() override { return inner_.changeCount(); }

    int lists = 0; ///< list() and listPool() calls.

private:
    Store& inner_;
};

/// 1. planFleet() on inputs in memory, and its parts.
void fleetPlanBench(const std::vector<PoolSettings>& pools, const std::vector<Server>& servers,
                    const std::vector<Stage>& stages, WallTime now) {
    const std::optional<int> fleetMax = kServers;
    std::vector<double> whole;
    std::vector<double> wholeCpu;
    std::vector<double> route;
    std::vector<double> perPool;
    FleetPlanReport last;
    for (int run = 0; run < kRuns; ++run) {
        auto queue = stages; // What the queue read hands over each cycle: not timed.
        auto rows = servers;
        const auto t0 = std::chrono::steady_clock::now();
        const double c0 = threadCpuMs();
        last = planFleet(pools, fleetMax, std::move(queue), std::move(rows), now);
        wholeCpu.push_back(threadCpuMs() - c0);
        whole.push_back(msSince(t0));

        const auto t1 = std::chrono::steady_clock::now();
        const RoutedQueue routed = routeQueue(stages, pools);
        route.push_back(msSince(t1));
        if (routed.pool.size() != stages.size())
            std::fprintf(stderr, "routeQueue lost stages\n");

        // plan() alone for every pool, on the parts routeQueue gave them.
        std::vector<std::vector<Stage>> parts(pools.size());
        for (std::size_t i = 0; i < stages.size(); ++i) {
            if (routed.pool[i] >= 0 && routed.verdict[i] == Dispatch::Given)
                parts[static_cast<std::size_t>(routed.pool[i])].push_back(stages[i]);
        }
        const auto t2 = std::chrono::steady_clock::now();
        int created = 0;
        for (std::size_t p = 0; p < pools.size(); ++p)
            created += plan(pools[p], last.pools[p].servers, parts[p], now).create;
        perPool.push_back(msSince(t2));
        if (created != 0)
            std::fprintf(stderr, "not a steady state: %d created\n", created);
    }
    int pending = 0;
    int create = 0;
    for (const auto& pool : last.pools) {
        pending += pool.plan.pending;
        create += pool.plan.create;
    }
    std::printf("fleet plan inputs: %d pools, %d servers, %d stages (%d pending routed, %zu "
                "unroutable); create %d\n",
                kPools, kServers, kStages, pending, last.unroutable.size(), create);
    printFigure("fleet planning cycle (routeQueue + partition + fleetShares + plan per pool)",
                whole, wholeCpu);
    printFigure("  of which routeQueue alone", route);
    printFigure("  of which plan() for the 10 pools", perPool);
}

/// 2. Fleet::cycle(): 10 engines, one in-memory SQLite store of 5,000 rows.
void fleetCycleBench(const std::vector<PoolSettings>& pools, const std::vector<Server>& servers,
                     const std::vector<Stage>& stages) {
    test::FakeClock clock;
    auto store = openSqliteStore({.path = ":memory:"}).value();
    std::vector<std::unique_ptr<test::FakeProvider>> providers;
    test::FakeInstaller installer;
    for (int i = 0; i < kPools; ++i)
        providers.push_back(std::make_unique<test::FakeProvider>(clock));
    for (const auto& server : servers) {
        std::size_t p = 0;
        while (p < pools.size() && !server.pool.empty() && pools[p].name != server.pool)
            ++p;
        Server row = server;
        row.instanceId = providers[p]->addInstance(server.name).id;
        row.created = clock.now() - std::chrono::hours{2};
        row.started = row.created;
        row.lastBusy = clock.now() - std::chrono::minutes{1};
        if (auto inserted = store->insert(row); !inserted) {
            std::fprintf(stderr, "insert failed: %s\n", inserted.error().message.c_str());
            return;
        }
    }
    test::FakeQueue queue;
    queue.set(stages);
    MemorySink sink;
    CountingStore counting(*store);
    std::vector<FleetPool> fleetPools;
    for (std::size_t p = 0; p < pools.size(); ++p) {
        EngineOptions options;
        options.pool = pools[p];
        options.workers = 0;
        options.pingerInterval = std::chrono::hours{24};
        options.orphanSweepInterval = std::chrono::hours{24};
        fleetPools.push_back(
                {.options = options, .provider = providers[p].get(), .installer = &installer});
    }
    Fleet fleet(std::move(fleetPools), kServers, counting, queue, clock,
                Logger(sink, clock, "engine", LogLevel::Warn), std::chrono::seconds{10});
    // Warm-up: first sweeps, first busy bookkeeping, first warnings; the
    // second cycle reads the rows the first one wrote.
    (void)fleet.cycle();
    clock.advance(std::chrono::seconds{10});
    (void)fleet.cycle();
    // Steady: nothing written between cycles, so each engine reuses its listing.
    std::vector<double> times;
    std::vector<double> cpu;
    std::vector<double> reads;
    std::vector<double> lists;
    int listsBefore = counting.lists;
    for (int run = 0; run < kRuns; ++run) {
        clock.advance(std::chrono::seconds{10});
        const auto t0 = std::chrono::steady_clock::now();
        const double c0 = threadCpuMs();
        const auto planned = fleet.cycle();
        cpu.push_back(threadCpuMs() - c0);
        times.push_back(msSince(t0));
        if (!planned) {
            std::fprintf(stderr, "cycle failed: %s\n", planned.error().message.c_str());
            return;
        }
        const auto t1 = std::chrono::steady_clock::now();
        (void)queue.stages();
        reads.push_back(msSince(t1));
        const auto t2 = std::chrono::steady_clock::now();
        (void)store->list();
        lists.push_back(msSince(t2));
    }
    const double steadyLists = static_cast<double>(counting.lists - listsBefore) / kRuns;
    // Busy: a write before every cycle (another thread, the API), so every
    // engine reads its rows from SQLite again.
    listsBefore = counting.lists;
    std::vector<double> written;
    for (int run = 0; run < kRuns; ++run) {
        clock.advance(std::chrono::seconds{10});
        (void)store->putValue("bench", std::to_string(run));
        const auto t0 = std::chrono::steady_clock::now();
        (void)fleet.cycle();
        written.push_back(msSince(t0));
    }
    const double writtenLists = static_cast<double>(counting.lists - listsBefore) / kRuns;
    const FleetPlan last = fleet.lastPlan();
    int create = 0;
    int live = 0;
    std::size_t drain = 0;
    for (const auto& p : last.pools) {
        create += p.create;
        live += p.live;
        drain += p.drain.size();
    }
    std::printf("Fleet::cycle inputs: %d pools, %d live rows in SQLite :memory:, %d stages; "
                "create %d, drain %zu, unroutable %zu\n",
                kPools, live, kStages, create, drain, last.unroutable.size());
    printFigure("Fleet::cycle, nothing written since the last cycle (10 engines, in-memory "
                "SQLite, fake queue and providers)",
                times, cpu);
    std::printf("  store listings per cycle: %.1f\n", steadyLists);
    printFigure("  of which the fake queue's copy of 50,000 stages", reads);
    printFigure("Fleet::cycle, a row or value written before every cycle", written);
    std::printf("  store listings per cycle: %.1f\n", writtenLists);
    printFigure("one Store::list() of the 5,000 rows from SQLite", lists);
}

} // namespace

int main() {
    {
        const WallTime now = WallTime{std::chrono::seconds{1'800'000'000}};
        const auto pools = makePools();
        const auto servers = makePoolServers(pools, now);
        const auto stages = makePoolStages(pools);
        const std::string only = test::testEnv("PLAN_BENCH_ONLY");
        if (only.empty() || only == "plan")
            fleetPlanBench(pools, servers, stages, now);
        if (only.empty() || only == "fleet")
            fleetCycleBench(pools, servers, stages);
        if (!only.empty())
            return 0;
    }

    const std::string cli = test::testEnv("AUTOSCALER_CLI_BIN");
    if (cli.empty()) {
        std::fprintf(stderr, "AUTOSCALER_CLI_BIN is not set\n");
        return 1;
    }
    test::TempDir dir;
    const WallTime now = WallTime{std::chrono::seconds{1'800'000'000}};
    const auto servers = makeServers(now);
    const auto stages = makeStages();
    {
        std::ofstream q(dir.file("queue.json"));
        q << "[";
        for (std::size_t i = 0; i < stages.size(); ++i)
            q << (i == 0 ? "" : ",") << test::FakeDrone::stageJson(stages[i]);
        q << "]";
        std::ofstream s(dir.file("servers.json"));
        s << serversToJson(servers);
    }
    std::printf("inputs: %d stages (%.1f MiB JSON), %d servers\n", kStages,
                static_cast<double>(std::filesystem::file_size(dir.file("queue.json"))) / 1048576.0,
                kServers);

    std::vector<double> walls;
    for (int run = 0; run < 5; ++run) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto r =
                test::runProcess({cli, "plan", "--json", "--queue-file", dir.file("queue.json"),
                                  "--servers-file", dir.file("servers.json")},
                                 {{"DRONE_POOL_MAX", "10000"}}, std::chrono::seconds{60});
        const auto t1 = std::chrono::steady_clock::now();
        if (r.exitCode != 0) {
            std::fprintf(stderr, "plan failed: %s\n", r.err.c_str());
            return 1;
        }
        walls.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(walls.begin(), walls.end());
    rusage usage{};
    getrusage(RUSAGE_CHILDREN, &usage);
    std::printf("plan process: wall min %.1f ms, median %.1f ms; peak RSS %.1f MiB\n", walls[0],
                walls[walls.size() / 2], static_cast<double>(usage.ru_maxrss) / 1024.0);

    // The planner alone (what one daemon cycle costs once inputs are in memory).
    PoolSettings pool{.min = 0, .max = 10000, .concurrency = 2};
    const auto matched = matchingStages(stages, pool);
    std::vector<double> cycles;
    for (int run = 0; run < 20; ++run) {
        const auto t0 = std::chrono::steady_clock::now();
        const Plan p =
                plan(PlanInput{.pool = pool, .servers = servers, .stages = matched, .now = now});
        const auto t1 = std::chrono::steady_clock::now();
        if (p.pending == 0)
            return 1;
        cycles.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(cycles.begin(), cycles.end());
    std::printf("planner only (matched %zu stages, %d servers): min %.2f ms, median %.2f ms\n",
                matched.size(), kServers, cycles[0], cycles[cycles.size() / 2]);
    return 0;
}
