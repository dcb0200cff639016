// SPDX-License-Identifier: Apache-2.0
// Benchmarks of the daemon's side:
//  1. one engine cycle with 5,000 running servers in a SQLite file and 50,000
//     queued stages (in memory, and including parsing Drone's 17 MiB JSON);
//  2. the `autoscaler` process's resident memory with 5,000 servers in its
//     store, against the fake Drone and the fake EC2 holding those instances.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <time.h>

#include <autoscale/drone.h>
#include <autoscale/engine.h>
#include <autoscale/http.h>
#include <autoscale/sqlite_store.h>

#include "fake_drone.h"
#include "fake_ec2.h"
#include "fakes.h"
#include "process.h"
#include "temp_dir.h"

using namespace autoscale;
using namespace std::chrono_literals;

namespace {

constexpr int kServers = 5'000;
constexpr int kStages = 50'000;

std::vector<Stage> makeStages(const std::vector<std::string>& names) {
    std::mt19937 rng(7);
    std::vector<Stage> stages;
    for (int i = 0; i < kStages; ++i) {
        Stage s{.id = i + 1,
                .status = i % 5 == 0 ? "running" : "pending",
                .os = "linux",
                .arch = "amd64"};
        if (s.status == "running")
            s.machine = names[rng() % names.size()];
        stages.push_back(std::move(s));
    }
    return stages;
}

/// A Queue that parses Drone's JSON body each time, as the daemon does.
class JsonQueue final : public Queue {
public:
    explicit JsonQueue(std::string body) : body_(std::move(body)) {}
    Result<std::vector<Stage>> stages() override {
        std::string copy = body_; // What the HTTP client hands over each cycle.
        return parseQueueJsonInPlace(copy);
    }

private:
    std::string body_;
};

double threadCpuMs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double ms(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

long statusKiB(int pid, const char* field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with(field))
            return std::stol(line.substr(std::string(field).size()));
    }
    return -1;
}

void cycleBench() {
    test::TempDir dir;
    test::FakeClock clock;
    test::FakeProvider provider(clock);
    auto store = openSqliteStore({.path = dir.file("db.sqlite")}).value();
    std::vector<std::string> names;
    for (int i = 0; i < kServers; ++i) {
        names.push_back("agent-" + std::to_string(i));
        (void)store->insert(Server{.name = names.back(),
                                   .instanceId = provider.addInstance(names.back()).id,
                                   .state = ServerState::Running,
                                   .address = "10.0.0.1",
                                   .capacity = 2,
                                   .created = clock.now() - 1h,
                                   .started = clock.now() - 1h,
                                   .lastBusy = clock.now() - 1min});
    }
    const auto stages = makeStages(names);
    std::string body = "[";
    for (std::size_t i = 0; i < stages.size(); ++i)
        body += (i == 0 ? "" : ",") + test::FakeDrone::stageJson(stages[i]);
    body += "]";

    test::FakeInstaller installer;
    MemorySink sink;
    EngineOptions options;
    // At MAX: a steady state, no creation (creation cost is per server, not per cycle).
    options.pool = PoolSettings{.min = 0, .max = kServers, .concurrency = 2};
    options.workers = 0;
    options.pingerInterval = 24h;
    options.orphanSweepInterval = 24h;

    for (const bool parse : {false, true}) {
        test::FakeQueue memoryQueue;
        memoryQueue.set(stages);
        JsonQueue jsonQueue(body);
        Queue& queue = parse ? static_cast<Queue&>(jsonQueue) : memoryQueue;
        Engine engine(options, *store, provider, queue, installer, clock,
                      Logger(sink, clock, "engine", LogLevel::Warn));
        (void)engine.cycle(); // Warm-up: first sweep, first busy bookkeeping.
        std::vector<double> times;
        std::vector<double> cpu;
        for (int i = 0; i < 10; ++i) {
            clock.advance(10s);
            const auto t0 = std::chrono::steady_clock::now();
            const double c0 = threadCpuMs();
            const auto planned = engine.cycle();
            cpu.push_back(threadCpuMs() - c0);
            times.push_back(ms(std::chrono::steady_clock::now() - t0));
            if (!planned)
                std::fprintf(stderr, "cycle failed: %s\n", planned.error().message.c_str());
        }
        std::sort(times.begin(), times.end());
        std::sort(cpu.begin(), cpu.end());
        const Plan last = engine.lastPlan();
        if (last.create != 0 || !last.drain.empty() || last.servers != kServers)
            std::fprintf(stderr, "not a steady state: create %d, drain %zu, servers %d\n",
                         last.create, last.drain.size(), last.servers);
        std::printf("engine cycle, %d servers, %d stages%s: wall min %.1f ms, median %.1f ms; "
                    "CPU min %.1f ms, median %.1f ms\n",
                    kServers, kStages, parse ? " (JSON parsed each cycle)" : " (in memory)",
                    times.front(), times[times.size() / 2], cpu.front(), cpu[cpu.size() / 2]);
    }
}

void memoryBench() {
    const std::string daemon = test::testEnv("AUTOSCALER_BIN");
    if (daemon.empty()) {
        std::printf("daemon memory: skipped (AUTOSCALER_BIN not set)\n");
        return;
    }
    test::TempDir dir;
    const auto clock = makeSystemClock();
    test::FakeDrone drone;
    test::FakeEc2 ec2(*clock);
    const auto ids = ec2.addInstances(kServers, {{"drone-autoscaler:pool", "default"},
                                                 {"drone-autoscaler:owner", drone.host()}});
    {
        auto store = openSqliteStore({.path = dir.file("database.sqlite")}).value();
        for (int i = 0; i < kServers; ++i) {
            (void)store->insert(Server{.name = "agent-" + std::to_string(i),
                                       .instanceId = ids[static_cast<std::size_t>(i)],
                                       .state = ServerState::Running,
                                       .address = "127.0.0.1:9",
                                       .capacity = 2,
                                       .created = clock->now() - 1h,
                                       .started = clock->now() - 1h});
        }
    }
    const int port = test::freePort();
    test::BackgroundProcess process({daemon, "serve"},
                                    {{"DRONE_SERVER_PROTO", "http"},
                                     {"DRONE_SERVER_HOST", drone.host()},
                                     {"DRONE_SERVER_TOKEN", test::FakeDrone::kAdminToken},
                                     {"DRONE_AGENT_TOKEN", "secret"},
                                     {"DRONE_AMAZON_IMAGE", "ami-0123456789abcdef0"},
                                     {"DRONE_POOL_MIN", "0"},
                                     {"DRONE_POOL_MAX", "10000"},
                                     {"DRONE_POOL_IDLE_TIMEOUT", "24h"},
                                     {"DRONE_PINGER_INTERVAL", "24h"},
                                     {"DRONE_INTERVAL", "1s"},
                                     {"DRONE_DATABASE_DATASOURCE", dir.file("database.sqlite")},
                                     {"DRONE_HTTP_PORT", "127.0.0.1:" + std::to_string(port)},
                                     {"AWS_ACCESS_KEY_ID", test::kTestAccessKeyId},
                                     {"AWS_SECRET_ACCESS_KEY", test::kTestSecretKey},
                                     {"AWS_ENDPOINT_URL_EC2", ec2.endpoint()},
                                     {"AWS_EC2_METADATA_DISABLED", "true"},
                                     {"HOME", dir.path().string()}},
                                    dir.file("daemon.log"));
    // Let it run: the first sweep lists 5,000 instances; then 10 more cycles.
    test::waitFor([&] { return drone.queueRequests() >= 12; }, 120s);
    const long rss = statusKiB(process.pid(), "VmRSS:");
    const long hwm = statusKiB(process.pid(), "VmHWM:");
    std::printf("daemon with %d servers in the store: RSS %.1f MiB, peak %.1f MiB after %d "
                "cycles\n",
                kServers, static_cast<double>(rss) / 1024.0, static_cast<double>(hwm) / 1024.0,
                drone.queueRequests());
    process.signal(SIGTERM);
    process.wait(60s);
}

} // namespace

int main() {
    cycleBench();
    memoryBench();
    return 0;
}
