// SPDX-License-Identifier: Apache-2.0
// `autoscaler-cli plan` as a process against the fake Drone: the foundation
// issue's acceptance checks.

#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include <autoscale/sqlite_store.h>

#include "doctest_support.h"
#include "fake_drone.h"
#include "process.h"
#include "temp_dir.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

struct PlanFixture {
    test::FakeDrone drone;
    test::TempDir dir;
    std::string cli = test::testEnv("AUTOSCALER_CLI_BIN");

    std::map<std::string, std::string> env() const {
        return {{"DRONE_SERVER_PROTO", "http"},
                {"DRONE_SERVER_HOST", drone.host()},
                {"DRONE_SERVER_TOKEN", test::FakeDrone::kAdminToken},
                {"DRONE_POOL_MIN", "0"},
                {"DRONE_POOL_MAX", "4"},
                {"DRONE_AGENT_CONCURRENCY", "2"},
                {"DRONE_DATABASE_DATASOURCE", dir.file("database.sqlite")}};
    }

    test::ProcessResult plan(const std::map<std::string, std::string>& e,
                             std::vector<std::string> extra = {"--json"}) const {
        std::vector<std::string> argv = {cli, "plan"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return test::runProcess(argv, e, 30s);
    }

    void queue(int amd64, int arm64, int gpu) {
        std::vector<Stage> stages;
        std::int64_t id = 1;
        for (int i = 0; i < amd64; ++i)
            stages.push_back({.id = id++, .status = "pending", .os = "linux", .arch = "amd64"});
        for (int i = 0; i < arm64; ++i)
            stages.push_back({.id = id++, .status = "pending", .os = "linux", .arch = "arm64"});
        for (int i = 0; i < gpu; ++i) {
            Stage s{.id = id++, .status = "pending", .os = "linux", .arch = "amd64"};
            s.labels = {{"gpu", "yes"}};
            stages.push_back(s);
        }
        drone.setStages(stages);
    }
};

TEST_CASE_FIXTURE(PlanFixture, "plan --json counts matching stages and creates what is needed") {
    REQUIRE_FALSE(cli.empty());
    queue(5, 2, 1);
    const auto r = plan(env());
    CAPTURE(r.err);
    REQUIRE(r.exitCode == 0);
    CHECK(r.out.find("\"pending\":5") != std::string::npos);
    CHECK(r.out.find("\"create\":3") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("database.sqlite")));
    CHECK(r.out.find(test::FakeDrone::kAdminToken) == std::string::npos);
    CHECK(r.err.find(test::FakeDrone::kAdminToken) == std::string::npos);

    queue(9, 0, 0);
    const auto nine = plan(env());
    REQUIRE(nine.exitCode == 0);
    CHECK(nine.out.find("\"create\":4") != std::string::npos);
}

TEST_CASE_FIXTURE(PlanFixture, "the human form shows inputs and one reason per action") {
    queue(5, 0, 0);
    const auto r = plan(env(), {});
    REQUIRE(r.exitCode == 0);
    CHECK(r.out.find("queue: 5 pending, 0 running") != std::string::npos);
    CHECK(r.out.find("plan: create 3, drain 0") != std::string::npos);
    CHECK(r.out.find("  - create 3: ") != std::string::npos);
}

TEST_CASE_FIXTURE(PlanFixture, "bad configuration exits 2 naming every bad variable") {
    auto e = env();
    e["DRONE_POOL_MIN"] = "abc";
    const auto one = plan(e);
    CHECK(one.exitCode == 2);
    CHECK(one.err.find("DRONE_POOL_MIN") != std::string::npos);
    e["DRONE_INTERVAL"] = "soon";
    const auto two = plan(e);
    CHECK(two.exitCode == 2);
    CHECK(two.err.find("DRONE_POOL_MIN") != std::string::npos);
    CHECK(two.err.find("DRONE_INTERVAL") != std::string::npos);
    CHECK(drone.queueRequests() == 0); // Nothing contacted before the config is good.
}

TEST_CASE_FIXTURE(PlanFixture, "an unreachable Drone exits 1 naming host and port") {
    int port = 0;
    {
        test::FakeHttpServer gone;
        port = gone.port();
    }
    auto e = env();
    e["DRONE_SERVER_HOST"] = "127.0.0.1:" + std::to_string(port);
    const auto r = plan(e);
    CHECK(r.exitCode == 1);
    CHECK(r.err.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE_FIXTURE(PlanFixture, "a rejected token exits 1 without printing it") {
    auto e = env();
    e["DRONE_SERVER_TOKEN"] = test::FakeDrone::kUserToken;
    const auto r = plan(e);
    CHECK(r.exitCode == 1);
    CHECK(r.err.find("not a Drone admin token") != std::string::npos);
    CHECK(r.err.find(test::FakeDrone::kUserToken) == std::string::npos);
}

TEST_CASE_FIXTURE(PlanFixture, "truncated or wrongly shaped queue bodies exit 1") {
    drone.setRawQueue(200, R"([{"id":1,"status":"pend)");
    const auto truncated = plan(env());
    CHECK(truncated.exitCode == 1);
    CHECK(truncated.err.find("offset") != std::string::npos);
    drone.setRawQueue(200, R"({"stages":[]})");
    const auto shaped = plan(env());
    CHECK(shaped.exitCode == 1);
    CHECK(shaped.err.find("not a JSON list") != std::string::npos);
}

TEST_CASE_FIXTURE(PlanFixture, "servers come from the store opened read-only") {
    const std::string path = dir.file("database.sqlite");
    {
        auto store = openSqliteStore({.path = path}).value();
        for (const char* name : {"agent-a", "agent-b"}) {
            REQUIRE(store->insert(Server{.name = name,
                                         .state = ServerState::Running,
                                         .capacity = 2,
                                         .created = WallTime{std::chrono::seconds{1}}}));
        }
    }
    const auto before = std::filesystem::last_write_time(path);
    queue(5, 0, 0);
    const auto r = plan(env());
    REQUIRE(r.exitCode == 0);
    CHECK(r.out.find("\"servers\":2") != std::string::npos);
    CHECK(r.out.find("\"create\":1") != std::string::npos);
    CHECK(std::filesystem::last_write_time(path) == before);
}

TEST_CASE_FIXTURE(PlanFixture, "offline files replace Drone and the store") {
    const std::string examples = test::testEnv("AUTOSCALE_EXAMPLES");
    const auto r =
            test::runProcess({cli, "plan", "--json", "--queue-file", examples + "/queue.json",
                              "--servers-file", examples + "/servers.json"},
                             {{"DRONE_POOL_MIN", "1"}}, 30s);
    CAPTURE(r.err);
    REQUIRE(r.exitCode == 0);
    CHECK(r.out.find("\"pending\":5") != std::string::npos);
    CHECK(r.out.find("\"running\":3") != std::string::npos);
    const auto missing =
            test::runProcess({cli, "plan", "--queue-file", dir.file("nope.json")}, {}, 30s);
    CHECK(missing.exitCode == 1);
    CHECK(missing.err.find("nope.json") != std::string::npos);
}

void writeText(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    REQUIRE(out.good());
}

/// Issue 12's acceptance queue, as Drone's GET /api/queue writes it: one
/// running stage of repo 7 named `test` (limit 1), then 4 pending docker
/// stages, 3 pending exec stages, 2 pending stages with variant v8 and 3
/// pending `test` stages of repo 7 with limit 1.
std::string acceptanceQueueJson() {
    std::vector<Stage> stages;
    std::int64_t id = 100;
    auto limited = [&id](const char* status) {
        return Stage{.id = id++,
                     .status = status,
                     .os = "linux",
                     .arch = "amd64",
                     .repoId = 7,
                     .name = "test",
                     .limit = 1};
    };
    stages.push_back(limited("running"));
    for (int i = 0; i < 4; ++i)
        stages.push_back({.id = id++, .status = "pending", .os = "linux", .arch = "amd64"});
    for (int i = 0; i < 3; ++i) {
        stages.push_back(
                {.id = id++, .status = "pending", .os = "linux", .arch = "amd64", .type = "exec"});
    }
    for (int i = 0; i < 2; ++i) {
        stages.push_back(
                {.id = id++, .status = "pending", .os = "linux", .arch = "amd64", .variant = "v8"});
    }
    for (int i = 0; i < 3; ++i)
        stages.push_back(limited("pending"));
    std::string body = "[";
    for (const auto& stage : stages)
        body += (body.size() == 1 ? "" : ",") + test::FakeDrone::stageJson(stage);
    return body + "]";
}

TEST_CASE_FIXTURE(PlanFixture, "plan applies Drone's dispatch rule and says what it left out") {
    const std::string file = dir.file("queue.json");
    writeText(file, acceptanceQueueJson());
    const std::map<std::string, std::string> e = {
            {"DRONE_POOL_MIN", "0"}, {"DRONE_POOL_MAX", "20"}, {"DRONE_AGENT_CONCURRENCY", "2"}};
    // DRONE_AGENT_VERSION unset: Drone gives a v8 stage to no runner of ours
    // (queue.go: a variant the stage sets must equal the runner's).
    const auto r = test::runProcess({cli, "plan", "--json", "--queue-file", file}, e, 30s);
    CAPTURE(r.err);
    REQUIRE(r.exitCode == 0);
    CAPTURE(r.out);
    CHECK(r.out.find("\"pending\":4,\"running\":1,") != std::string::npos);
    CHECK(r.out.find(R"("left_out":{"kind":3,"platform":2,"labels":0,"limit":3,"throttle":0,)") !=
          std::string::npos);
    CHECK(r.out.find("\"wanted\":3,\"create\":3") != std::string::npos);

    // DRONE_AGENT_VERSION=v8: the 2 variant stages are demand as well.
    auto v8env = e;
    v8env["DRONE_AGENT_VERSION"] = "v8";
    const auto v8 = test::runProcess({cli, "plan", "--json", "--queue-file", file}, v8env, 30s);
    REQUIRE(v8.exitCode == 0);
    CAPTURE(v8.out);
    CHECK(v8.out.find("\"pending\":6,\"running\":1,") != std::string::npos);
    CHECK(v8.out.find(R"("left_out":{"kind":3,"platform":0,"labels":0,"limit":3,)") !=
          std::string::npos);
    CHECK(v8.out.find("\"wanted\":4,\"create\":4") != std::string::npos);

    const auto text = test::runProcess({cli, "plan", "--queue-file", file}, e, 30s);
    REQUIRE(text.exitCode == 0);
    CHECK(text.out.find("queue: 4 pending, 1 running for this pool; 8 left out by Drone's "
                        "dispatch rule: 3 kind/type (not docker), 2 platform, 3 limit\n") !=
          std::string::npos);
}

TEST_CASE_FIXTURE(PlanFixture, "--servers-file reads states in drone/autoscaler's words and ours") {
    const std::string examples = test::testEnv("AUTOSCALE_EXAMPLES");
    const std::string servers = dir.file("servers.json");
    writeText(servers, R"([{"name":"a","state":"created","capacity":2},)"
                       R"({"name":"b","state":"staging","capacity":2},)"
                       R"({"name":"c","state":"shutdown","capacity":2},)"
                       R"({"name":"d","state":"stopped","capacity":2},)"
                       R"({"name":"e","state":"booting","capacity":2},)"
                       R"({"name":"f","state":"draining","capacity":2}])");
    const auto r = test::runProcess({cli, "plan", "--json", "--queue-file",
                                     examples + "/queue.json", "--servers-file", servers},
                                    {{"DRONE_POOL_MIN", "0"}}, 30s);
    CAPTURE(r.err);
    REQUIRE(r.exitCode == 0);
    // Providing capacity: created, staging, booting. Live: all but stopped.
    CHECK(r.out.find("\"servers\":3,\"live\":5,\"capacity\":6") != std::string::npos);
}

/// Issue 13's acceptance pools: amd64 (max 3), arm64 (max 2), gpu (labels
/// gpu: "yes", max 1) under a fleet max of 5, concurrency 1.
constexpr const char* kThreePools = R"(version: 1
max: 5
pools:
  - name: amd64
    platform: {os: linux, arch: amd64}
    max: 3
    concurrency: 1
  - name: arm64
    platform: {os: linux, arch: arm64}
    max: 2
    concurrency: 1
  - name: gpu
    platform: {os: linux, arch: amd64}
    labels: {gpu: "yes"}
    max: 1
    concurrency: 1
)";

struct PoolsFixture : PlanFixture {
    std::string poolFile = dir.file("pools.yml");
    std::string serversFile = dir.file("servers.json");

    PoolsFixture() {
        writeText(poolFile, kThreePools);
        // One row without a pool (the first pool's) and one arm64 row.
        writeText(serversFile, R"([{"name":"old","state":"running","capacity":1},)"
                               R"({"name":"arm","pool":"arm64","state":"running","capacity":1}])");
        std::vector<Stage> stages;
        std::int64_t id = 1;
        for (int i = 0; i < 4; ++i)
            stages.push_back({.id = id++, .status = "pending", .os = "linux", .arch = "amd64"});
        for (int i = 0; i < 3; ++i)
            stages.push_back({.id = id++, .status = "pending", .os = "linux", .arch = "arm64"});
        for (int i = 0; i < 2; ++i) {
            Stage s{.id = id++, .status = "pending", .os = "linux", .arch = "amd64"};
            s.labels = {{"gpu", "yes"}};
            stages.push_back(s);
        }
        stages.push_back(
                {.id = 99, .buildId = 7, .status = "pending", .os = "windows", .arch = "amd64"});
        drone.setStages(stages);
    }

    [[nodiscard]] std::map<std::string, std::string> poolEnv() const {
        auto e = env();
        e["DRONE_POOL_FILE"] = poolFile;
        return e;
    }

    [[nodiscard]] test::ProcessResult run(std::vector<std::string> extra) const {
        extra.insert(extra.end(), {"--servers-file", serversFile});
        return plan(poolEnv(), extra);
    }
};

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST_CASE_FIXTURE(PoolsFixture,
                  "plan --json with a pool file plans every pool under the fleet max") {
    const auto r = run({"--json"});
    CAPTURE(r.err);
    CAPTURE(r.out);
    REQUIRE(r.exitCode == 0);
    REQUIRE(r.out.rfind("{\"pools\":[", 0) == 0);
    // fleetShares: 1 each, then the 2 left by largest remainder of the
    // unmet 2 (amd64) and 1 (arm64): amd64 2, arm64 2, gpu 1. Each pool's
    // live rows count against its share: "old" is amd64's, "arm" arm64's.
    CHECK(has(r.out, R"({"pool":"amd64","policy":"default","pending":4,"running":0,)"
                     R"("servers":1,"live":1,"capacity":1,"wanted":2,"create":1,)"));
    CHECK(has(r.out, R"({"pool":"arm64","policy":"default","pending":3,"running":0,)"
                     R"("servers":1,"live":1,"capacity":1,"wanted":2,"create":1,)"));
    CHECK(has(r.out, R"({"pool":"gpu","policy":"default","pending":2,"running":0,)"
                     R"("servers":0,"live":0,"capacity":0,"wanted":1,"create":1,)"));
    CHECK(has(r.out, "the fleet's max leaves this pool 2 live servers this cycle (its own max "
                     "is 3)"));
    CHECK(has(r.out, R"("unroutable":1,"unroutable_stages":[{"id":99,"build_id":7,)"
                     R"("os":"windows")"));
    CHECK(has(r.out, R"("fleet_max":5)"));
    CHECK(drone.queueRequests() == 1); // The queue is read once for every pool.
}

TEST_CASE_FIXTURE(PoolsFixture, "plan --pool prints that pool's object alone") {
    const auto r = run({"--json", "--pool", "arm64"});
    CAPTURE(r.err);
    REQUIRE(r.exitCode == 0);
    CHECK(r.out.rfind(R"({"pool":"arm64","policy":"default","pending":3,)", 0) == 0);
    CHECK_FALSE(has(r.out, "\"pools\""));
    CHECK_FALSE(has(r.out, "amd64"));

    const auto text = run({"--pool", "gpu"});
    REQUIRE(text.exitCode == 0);
    CHECK(has(text.out, "pool gpu: linux/amd64 labels gpu:yes"));
    CHECK(has(text.out, "queue: 2 pending, 0 running for this pool"));
}

TEST_CASE_FIXTURE(PoolsFixture, "plan --pool with an unknown name exits 2 naming the pools") {
    const auto r = run({"--json", "--pool", "windows"});
    CHECK(r.exitCode == 2);
    CHECK(has(r.err, "windows"));
    CHECK(has(r.err, "amd64, arm64, gpu"));
    CHECK(r.out.empty());
    CHECK(drone.queueRequests() == 0);
    // Without a pool file the one pool is "default".
    auto e = env();
    CHECK(plan(e, {"--json", "--pool", "amd64"}).exitCode == 2);
    queue(1, 0, 0);
    const auto single = plan(e, {"--json", "--pool", "default"});
    CHECK(single.exitCode == 0);
    CHECK(single.out.rfind(R"({"pool":"default",)", 0) == 0);
}

TEST_CASE_FIXTURE(PoolsFixture,
                  "plan's text with pools shows each pool, its share and the unroutable") {
    const auto r = run({});
    CAPTURE(r.err);
    REQUIRE(r.exitCode == 0);
    CHECK(has(r.out, "fleet: 3 pools, max 5, 10 stages in the queue"));
    CHECK(has(r.out, "pool amd64: linux/amd64, concurrency 1, min 0, max 3"));
    CHECK(has(r.out, "pool arm64: linux/arm64"));
    CHECK(has(r.out, "fleet share: 2 live servers"));
    CHECK(has(r.out, "left out"));
    CHECK(has(r.out, "unroutable: 1 stage(s) no pool serves\n  - stage 99 (build 7): "
                     "windows/amd64\n"));
}

TEST_CASE_FIXTURE(PoolsFixture, "a pool file of one pool prints today's object") {
    writeText(poolFile, "version: 1\npools:\n  - name: solo\n    platform: {os: linux, arch: "
                        "amd64}\n    max: 4\n");
    const auto r = run({"--json"});
    CAPTURE(r.err);
    REQUIRE(r.exitCode == 0);
    CHECK(r.out.rfind(R"({"pool":"solo","policy":"default","pending":4,)", 0) == 0);
    CHECK_FALSE(has(r.out, "\"pools\""));
}

TEST_CASE_FIXTURE(PlanFixture, "usage errors exit 2 and --help exits 0") {
    CHECK(test::runProcess({cli, "plan", "--bogus"}, {}, 30s).exitCode == 2);
    CHECK(test::runProcess({cli}, {}, 30s).exitCode == 2);
    const auto help = test::runProcess({cli, "plan", "--help"}, {}, 30s);
    CHECK(help.exitCode == 0);
    CHECK(help.out.find("--queue-file") != std::string::npos);
}

} // namespace
} // namespace autoscale
