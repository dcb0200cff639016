// SPDX-License-Identifier: Apache-2.0
// Benchmark: the PostgreSQL store on a throw-away local cluster (skipped, 77,
// without PostgreSQL 15). Times insertWithin (capped, and capped + fenced) while
// filling 5,000 servers, then 20 planning cycles of list() + plan() at 5,000
// servers and 50,000 queued stages: median and max.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include <autoscale/planner.h>
#include <autoscale/postgres_store.h>

#include "pg_cluster.h"

using namespace autoscale;

namespace {

constexpr int kServers = 5'000;
constexpr int kStages = 50'000;
constexpr int kCycles = 20;

double millisSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct Figures {
    double median = 0;
    double p99 = 0;
    double max = 0;
};

Figures figuresOf(std::vector<double> samples) {
    std::sort(samples.begin(), samples.end());
    const auto n = samples.size();
    return {.median = n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2,
            .p99 = samples[std::min(n - 1, n * 99 / 100)],
            .max = samples.back()};
}

std::vector<Stage> makeStages() {
    std::mt19937 rng(42);
    std::vector<Stage> stages;
    for (int i = 0; i < kStages; ++i) {
        Stage s{.id = i + 1,
                .buildId = i / 3,
                .status = i % 5 == 0 ? "running" : "pending",
                .os = "linux",
                .arch = "amd64",
                .created = 1700000000 + i};
        if (s.status == "running")
            s.machine = "agent-" + std::to_string(rng() % kServers);
        stages.push_back(std::move(s));
    }
    return stages;
}

} // namespace

int main() {
    auto& cluster = test::PgCluster::shared();
    const std::string dsn = cluster.dsn(cluster.createDatabase());
    auto opened = openPostgresStore({.dsn = dsn});
    if (!opened) {
        std::fprintf(stderr, "cannot open the store: %s\n", opened.error().message.c_str());
        return 1;
    }
    PostgresStore& store = **opened;
    const auto epoch = store.bumpEpoch("bench");
    if (!epoch)
        return 1;
    auto fenced = store.fencedBy(*epoch);
    const WallTime now = WallTime{std::chrono::seconds{1'800'000'000}};
    const InsertCaps caps{.poolMax = kServers, .fleetMax = kServers};

    std::vector<double> plain;
    std::vector<double> capped;
    std::vector<double> fencedCapped;
    for (int i = 0; i < kServers; ++i) {
        Server s{.name = "agent-" + std::to_string(i),
                 .pool = "default",
                 .instanceId = "i-" + std::to_string(100000 + i),
                 .state = i % 10 == 0 ? ServerState::Booting : ServerState::Running,
                 .capacity = 2,
                 .created = now - std::chrono::hours{2},
                 .started = now - std::chrono::hours{2},
                 .lastBusy = now - std::chrono::minutes{i % 60}};
        const auto t0 = std::chrono::steady_clock::now();
        const bool ok = i % 3 == 0   ? store.insert(s).has_value()
                        : i % 3 == 1 ? store.insertWithin(s, caps).has_value()
                                     : fenced->insertWithin(s, caps).has_value();
        const double ms = millisSince(t0);
        if (!ok) {
            std::fprintf(stderr, "insert %d failed\n", i);
            return 1;
        }
        (i % 3 == 0 ? plain : i % 3 == 1 ? capped : fencedCapped).push_back(ms);
    }
    for (const auto& [name, samples] :
         {std::pair{"insert", &plain}, std::pair{"insertWithin (caps)", &capped},
          std::pair{"fenced insertWithin (caps + epoch)", &fencedCapped}}) {
        const auto f = figuresOf(*samples);
        std::printf("%s: median %.3f ms, p99 %.3f ms, max %.3f ms (%zu inserts)\n", name, f.median,
                    f.p99, f.max, samples->size());
    }

    const auto stages = makeStages();
    const PoolSettings pool{.min = 0, .max = 10000, .concurrency = 2};
    const auto matched = matchingStages(stages, pool);
    std::vector<double> lists;
    std::vector<double> cycles;
    for (int run = 0; run < kCycles; ++run) {
        const auto t0 = std::chrono::steady_clock::now();
        auto servers = store.list();
        const double listed = millisSince(t0);
        if (!servers || servers->size() != kServers)
            return 1;
        const Plan p =
                plan(PlanInput{.pool = pool, .servers = *servers, .stages = matched, .now = now});
        const double total = millisSince(t0);
        if (p.pending == 0)
            return 1;
        lists.push_back(listed);
        cycles.push_back(total);
    }
    const auto l = figuresOf(lists);
    const auto c = figuresOf(cycles);
    std::printf("list() at %d servers: median %.2f ms, max %.2f ms (%d cycles)\n", kServers,
                l.median, l.max, kCycles);
    std::printf("list() + plan() at %d servers, %zu matched stages: median %.2f ms, max %.2f ms "
                "(%d cycles)\n",
                kServers, matched.size(), c.median, c.max, kCycles);
    return 0;
}
