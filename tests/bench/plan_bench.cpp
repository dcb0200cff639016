// SPDX-License-Identifier: Apache-2.0
// Benchmark: `autoscaler-cli plan --queue-file --servers-file` with 50,000
// queued stages and 5,000 servers, as a whole process (JSON parsing
// included). Prints wall time (min and median of 5 runs) and peak RSS.
// Also times the planner alone on the same inputs.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sys/resource.h>

#include <autoscale/drone.h>
#include <autoscale/json.h>
#include <autoscale/planner.h>

#include "fake_drone.h"
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

} // namespace

int main() {
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
