// SPDX-License-Identifier: Apache-2.0
/// \file
/// Lost builds: which builds a lost server ran, and the restarter against the fake Drone
/// and a SQLite :memory: store: each build cancelled and restarted exactly once, across
/// a daemon restart (a new restarter on the same store), a death between the intent and
/// the POST, racing restarters, a disabled switch and Drone's failures.

#include "engine/lost_builds.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include <autoscale/sqlite_store.h>

#include "fake_clock.h"
#include "fake_drone.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

const std::vector<IncompleteStage> kIncomplete = {
        {.repoNamespace = "octocat",
         .repoName = "hello-world",
         .buildNumber = 41,
         .stageName = "build",
         .stageStatus = "running",
         .stageMachine = "agent-lost"},
        {.repoNamespace = "octocat",
         .repoName = "hello-world",
         .buildNumber = 41,
         .stageName = "test",
         .stageStatus = "running",
         .stageMachine = "agent-lost"},
        {.repoNamespace = "acme",
         .repoName = "api",
         .buildNumber = 7,
         .stageName = "default",
         .stageStatus = "running",
         .stageMachine = "agent-lost"},
        {.repoNamespace = "acme",
         .repoName = "api",
         .buildNumber = 8,
         .stageName = "default",
         .stageStatus = "running",
         .stageMachine = "agent-other"},
        {.repoNamespace = "acme",
         .repoName = "api",
         .buildNumber = 9,
         .stageName = "default",
         .stageStatus = "pending"},
};

TEST_CASE("the builds of a lost server are recorded once per build, not per stage") {
    const auto lost = recordLostBuilds(kIncomplete, "agent-lost");
    REQUIRE(lost.size() == 2);
    CHECK(lost[0] == LostBuild{.repo = "octocat/hello-world", .number = 41});
    CHECK(lost[1] == LostBuild{.repo = "acme/api", .number = 7});
    CHECK(recordLostBuilds(kIncomplete, "agent-none").empty());
    CHECK(recordLostBuilds(kIncomplete, "").empty()); // Pending stages have no machine.
}

TEST_CASE("without the incomplete-builds API, the queue's stages are recorded with the reason") {
    const std::vector<Stage> queue = {
            {.id = 11, .buildId = 100, .status = "running", .machine = "agent-lost"},
            {.id = 12, .buildId = 100, .status = "running", .machine = "agent-lost"},
            {.id = 13, .buildId = 101, .status = "running", .machine = "agent-lost"},
            {.id = 14, .buildId = 102, .status = "running", .machine = "agent-other"},
            {.id = 15, .buildId = 103, .status = "success", .machine = "agent-lost"}};
    const auto lost = lostBuildsFromQueue(queue, "agent-lost");
    REQUIRE(lost.size() == 2);
    CHECK(lost[0].stage == 11);
    CHECK(lost[1].stage == 13);
    CHECK(lost[0].outcome == kOutcomeDroneOss);
}

TEST_CASE("merging keeps what was already handled and adds only new builds") {
    std::vector<LostBuild> existing = {
            {.repo = "acme/api", .number = 7, .outcome = "restarted", .restartedAs = 10}};
    CHECK(mergeLostBuilds(existing, recordLostBuilds(kIncomplete, "agent-lost")));
    REQUIRE(existing.size() == 2);
    CHECK(existing[0].outcome == "restarted");
    CHECK(existing[1].repo == "octocat/hello-world");
    CHECK_FALSE(mergeLostBuilds(existing, recordLostBuilds(kIncomplete, "agent-lost")));
}

struct RestartFixture {
    test::FakeClock clock;
    test::FakeDrone drone;
    std::unique_ptr<Store> store = openSqliteStore({.path = ":memory:"}).value();
    MemorySink log;

    RestartFixture() {
        drone.addBuild("octocat/hello-world",
                       {.number = 41, .stages = {{.name = "build", .machine = "agent-lost"}}});
        drone.addBuild("acme/api",
                       {.number = 7, .stages = {{.name = "default", .machine = "agent-lost"}}});
        Server row{.name = "agent-lost", .pool = "default", .instanceId = "i-0abc"};
        row.lostBuilds = recordLostBuilds(kIncomplete, "agent-lost");
        REQUIRE(store->insert(row));
    }

    std::unique_ptr<HttpClient> httpClient() const {
        return makeCurlHttpClient(
                       {.connectTimeout = 2000ms, .totalTimeout = 2000ms, .protocols = "http"})
                .value();
    }
    DroneClient droneClient(HttpClient& http) const {
        return DroneClient{DroneSettings{.proto = "http",
                                         .host = drone.host(),
                                         .token = test::FakeDrone::kAdminToken},
                           http};
    }
    Logger logger() { return Logger(log, clock, "lost_builds", LogLevel::Debug); }
    LostBuild entry(const std::string& repo) {
        const Server row = store->find("agent-lost").value();
        for (const auto& b : row.lostBuilds) {
            if (b.repo == repo)
                return b;
        }
        FAIL("no lost build for " << repo);
        return {};
    }
};

TEST_CASE_FIXTURE(RestartFixture, "each lost build is cancelled and restarted once, and logged") {
    auto http = httpClient();
    auto client = droneClient(*http);
    LostBuildRestarter restarter(*store, client, logger(), true);

    const auto row = restarter.handle("agent-lost");

    REQUIRE(row);
    CHECK(entry("octocat/hello-world").outcome == kOutcomeRestarted);
    CHECK(entry("octocat/hello-world").restartedAs == 42);
    CHECK(entry("acme/api").outcome == kOutcomeRestarted);
    CHECK(entry("acme/api").restartedAs == 8);
    CHECK(drone.build("octocat/hello-world", 41)->status == "killed");
    CHECK(drone.build("octocat/hello-world", 42)->parent == 41);
    CHECK(drone.restarts("octocat/hello-world", 41) == 1);
    CHECK(drone.restarts("acme/api", 7) == 1);
    const auto calls = drone.buildCalls();
    REQUIRE(calls.size() == 4);
    CHECK(calls[0].method == "DELETE"); // Cancel before restart.
    CHECK(calls[1].method == "POST");
    for (const auto& c : calls)
        CHECK(c.query.empty());
    CHECK(log.text().find("\"new_build\":\"42\"") != std::string::npos);
    CHECK(*row == store->find("agent-lost").value());
}

TEST_CASE_FIXTURE(RestartFixture, "a new restarter on the same store does not restart again") {
    {
        auto http = httpClient();
        auto client = droneClient(*http);
        LostBuildRestarter first(*store, client, logger(), true);
        REQUIRE(first.handle("agent-lost"));
    }
    auto http = httpClient();
    auto client = droneClient(*http);
    LostBuildRestarter second(*store, client, logger(), true); // The daemon restarted.

    REQUIRE(second.handle("agent-lost"));
    REQUIRE(second.handle("agent-lost"));

    CHECK(drone.restarts("octocat/hello-world", 41) == 1);
    CHECK(drone.restarts("acme/api", 7) == 1);
    CHECK(drone.buildCalls().size() == 4);
}

TEST_CASE_FIXTURE(RestartFixture, "a death between the intent and the POST is reported, never "
                                  "retried") {
    // What a process that died after writing its intent leaves behind.
    Server row = store->find("agent-lost").value();
    row.lostBuilds[0].outcome = std::string(kOutcomeRestarting);
    REQUIRE(store->update(row));
    auto http = httpClient();
    auto client = droneClient(*http);
    LostBuildRestarter restarter(*store, client, logger(), true);

    REQUIRE(restarter.handle("agent-lost"));

    CHECK(entry("octocat/hello-world").outcome == kOutcomeInterrupted);
    CHECK(drone.restarts("octocat/hello-world", 41) == 0);
    CHECK(entry("acme/api").outcome == kOutcomeRestarted); // The other build is unaffected.
    CHECK(log.text().find("restart interrupted") != std::string::npos);
}

/// Forwards to a store; runs `interfere` once, just before the first update reaches it,
/// as another writer racing with that update would.
class RacingStore final : public Store {
public:
    RacingStore(Store& inner, std::function<void()> interfere)
        : inner_(inner)
        , interfere_(std::move(interfere)) {}
    Result<Server> insertWithin(const Server& s, const InsertCaps& caps) override {
        return inner_.insertWithin(s, caps);
    }
    Result<Server> find(const std::string& name) override { return inner_.find(name); }
    Result<std::vector<Server>> list() override { return inner_.list(); }
    Result<Server> update(const Server& s) override {
        if (interfere_) {
            auto once = std::move(interfere_);
            interfere_ = nullptr;
            once();
        }
        return inner_.update(s);
    }
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

private:
    Store& inner_;
    std::function<void()> interfere_;
};

TEST_CASE_FIXTURE(RestartFixture, "a build another restarter claimed first is left to it") {
    // Between our read and our intent write, another restarter writes its own intent.
    RacingStore racing(*store, [this] {
        Server row = store->find("agent-lost").value();
        row.lostBuilds[0].outcome = std::string(kOutcomeRestarting);
        REQUIRE(store->update(row));
    });
    auto http = httpClient();
    auto client = droneClient(*http);
    LostBuildRestarter restarter(racing, client, logger(), true);

    REQUIRE(restarter.handle("agent-lost"));

    CHECK(drone.restarts("octocat/hello-world", 41) == 0); // Theirs to send, not ours.
    CHECK(entry("octocat/hello-world").outcome == kOutcomeRestarting);
    CHECK(drone.restarts("acme/api", 7) == 1);
}

TEST_CASE_FIXTURE(RestartFixture, "racing restarters restart each build exactly once") {
    std::vector<std::jthread> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([this] {
            auto http = httpClient();
            auto client = droneClient(*http);
            LostBuildRestarter restarter(*store, client, logger(), true);
            CHECK(restarter.handle("agent-lost"));
        });
    }
    threads.clear();

    CHECK(drone.restarts("octocat/hello-world", 41) == 1);
    CHECK(drone.restarts("acme/api", 7) == 1);
    CHECK(entry("octocat/hello-world").outcome == kOutcomeRestarted);
    CHECK(entry("acme/api").outcome == kOutcomeRestarted);
}

TEST_CASE_FIXTURE(RestartFixture, "with restarts disabled the builds are recorded, not touched") {
    auto http = httpClient();
    auto client = droneClient(*http);
    LostBuildRestarter restarter(*store, client, logger(), false);

    REQUIRE(restarter.handle("agent-lost"));

    CHECK(entry("octocat/hello-world").outcome == kOutcomeDisabled);
    CHECK(entry("acme/api").outcome == kOutcomeDisabled);
    CHECK(drone.buildCalls().empty());
}

TEST_CASE_FIXTURE(RestartFixture,
                  "a passing cancel failure is tried again; a failed POST is final") {
    drone.failNextBuildCall(503, R"({"message":"busy"})"); // octocat: DELETE
    drone.failNextBuildCall(0, "");                        // acme: DELETE answered normally
    drone.failNextBuildCall(500, R"({"message":"oops"})"); // acme: POST
    auto http = httpClient();
    auto client = droneClient(*http);
    LostBuildRestarter restarter(*store, client, logger(), true);

    REQUIRE(restarter.handle("agent-lost"));
    CHECK(entry("octocat/hello-world").outcome.empty()); // Given back: nothing was restarted.
    CHECK(entry("acme/api").outcome.starts_with("not restarted: "));
    CHECK(entry("acme/api").outcome.find("oops") != std::string::npos);

    REQUIRE(restarter.handle("agent-lost"));
    CHECK(entry("octocat/hello-world").outcome == kOutcomeRestarted);
    CHECK(drone.restarts("acme/api", 7) == 1); // The failed POST is not sent again.
}

TEST_CASE_FIXTURE(RestartFixture, "a build Drone no longer knows is not restarted, and says why") {
    Server row = store->find("agent-lost").value();
    row.lostBuilds.push_back({.repo = "gone/repo", .number = 3});
    REQUIRE(store->update(row));
    auto http = httpClient();
    auto client = droneClient(*http);
    LostBuildRestarter restarter(*store, client, logger(), true);

    REQUIRE(restarter.handle("agent-lost"));

    CHECK(entry("gone/repo").outcome.starts_with("not restarted: cancel failed: "));
    CHECK(restarter.handle("no-such-server").error().code == Errc::NotFound);
}

} // namespace
} // namespace autoscale
