// SPDX-License-Identifier: Apache-2.0
// `autoscaler-cli plan` as a process against the fake Drone: the foundation
// issue's acceptance checks.

#include <filesystem>

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

TEST_CASE_FIXTURE(PlanFixture, "usage errors exit 2 and --help exits 0") {
    CHECK(test::runProcess({cli, "plan", "--bogus"}, {}, 30s).exitCode == 2);
    CHECK(test::runProcess({cli}, {}, 30s).exitCode == 2);
    const auto help = test::runProcess({cli, "plan", "--help"}, {}, 30s);
    CHECK(help.exitCode == 0);
    CHECK(help.out.find("--queue-file") != std::string::npos);
}

} // namespace
} // namespace autoscale
