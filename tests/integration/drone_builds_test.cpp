// SPDX-License-Identifier: Apache-2.0
/// \file
/// DroneClient's builds API against the fake Drone on loopback: the incomplete stages
/// (v2), cancel, restart without query parameters, the OSS build's 501, errors.

#include <doctest/doctest.h>

#include <autoscale/drone.h>

#include "fake_drone.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

struct BuildsFixture {
    test::FakeDrone drone;
    std::unique_ptr<HttpClient> http = makeCurlHttpClient(HttpOptions{.connectTimeout = 2000ms,
                                                                      .totalTimeout = 2000ms,
                                                                      .protocols = "http"})
                                               .value();
    DroneClient client{DroneSettings{.proto = "http",
                                     .host = drone.host(),
                                     .token = test::FakeDrone::kAdminToken},
                       *http};

    BuildsFixture() {
        drone.addBuild("octocat/hello-world",
                       {.number = 41,
                        .status = "running",
                        .stages = {{.name = "build", .machine = "agent-a", .started = 1700000001},
                                   {.name = "test", .status = "pending"}}});
        drone.addBuild("octocat/hello-world", {.number = 40, .status = "success"});
        drone.addBuild("acme/api", {.number = 7,
                                    .status = "running",
                                    .stages = {{.name = "default", .machine = "agent-b"}}});
    }
};

TEST_CASE_FIXTURE(BuildsFixture, "incomplete builds come one row per pending or running stage") {
    const auto rows = client.incompleteBuilds();

    REQUIRE(rows);
    REQUIRE(rows->size() == 3);
    CHECK(rows->at(0).repoNamespace == "acme");
    CHECK(rows->at(0).repoName == "api");
    CHECK(rows->at(0).buildNumber == 7);
    CHECK(rows->at(0).stageMachine == "agent-b");
    CHECK(rows->at(1).repoNamespace == "octocat");
    CHECK(rows->at(1).repoName == "hello-world");
    CHECK(rows->at(1).buildNumber == 41);
    CHECK(rows->at(1).stageName == "build");
    CHECK(rows->at(1).stageStatus == "running");
    CHECK(rows->at(1).stageStarted == 1700000001);
    CHECK(rows->at(2).stageStatus == "pending");
    CHECK(rows->at(2).stageMachine.empty());
    const auto calls = drone.buildCalls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].method == "GET");
    CHECK(calls[0].path == "/api/builds/incomplete/v2");
}

TEST_CASE_FIXTURE(BuildsFixture, "no incomplete stage at all is Drone's null, an empty list") {
    test::FakeDrone empty;
    DroneClient other{DroneSettings{.proto = "http",
                                    .host = empty.host(),
                                    .token = test::FakeDrone::kAdminToken},
                      *http};
    const auto rows = other.incompleteBuilds();
    REQUIRE(rows);
    CHECK(rows->empty());
}

TEST_CASE_FIXTURE(BuildsFixture, "Drone OSS answers 501: a distinct, explained error") {
    drone.setOss(true);

    const auto rows = client.incompleteBuilds();

    REQUIRE_FALSE(rows);
    CHECK(rows.error().code == Errc::Unsupported);
    CHECK(rows.error().httpStatus == 501);
    CHECK(rows.error().message == kDroneOssMessage);
    CHECK_FALSE(rows.error().retryable());
}

TEST_CASE_FIXTURE(BuildsFixture, "cancel kills a running build; a finished one is left alone") {
    REQUIRE(client.cancelBuild("octocat", "hello-world", 41));
    const auto killed = drone.build("octocat/hello-world", 41);
    REQUIRE(killed);
    CHECK(killed->status == "killed");
    CHECK(killed->stages[0].status == "killed");
    CHECK(killed->stages[1].status == "skipped");

    REQUIRE(client.cancelBuild("octocat", "hello-world", 40));
    CHECK(drone.build("octocat/hello-world", 40)->status == "success");

    const auto calls = drone.buildCalls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].method == "DELETE");
    CHECK(calls[0].path == "/api/repos/octocat/hello-world/builds/41");
    CHECK(calls[0].query.empty());
}

TEST_CASE_FIXTURE(BuildsFixture,
                  "restart starts a new build from the old one, with no parameters") {
    const auto number = client.restartBuild("octocat", "hello-world", 41);

    REQUIRE(number);
    CHECK(*number == 42);
    const auto next = drone.build("octocat/hello-world", 42);
    REQUIRE(next);
    CHECK(next->parent == 41);
    CHECK(next->status == "pending");
    CHECK(next->params.empty()); // Any query parameter would have become one.
    const auto calls = drone.buildCalls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].method == "POST");
    CHECK(calls[0].path == "/api/repos/octocat/hello-world/builds/41");
    CHECK(calls[0].query.empty());
    CHECK(drone.restarts("octocat/hello-world", 41) == 1);
}

TEST_CASE_FIXTURE(BuildsFixture, "unknown builds, blocked builds and failures are told apart") {
    const auto missing = client.restartBuild("octocat", "nope", 1);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::NotFound);

    drone.addBuild("acme/api", {.number = 8, .status = "blocked"});
    const auto blocked = client.restartBuild("acme", "api", 8);
    REQUIRE_FALSE(blocked);
    CHECK(blocked.error().code == Errc::InvalidArgument);
    CHECK(blocked.error().message.find("cannot start a blocked build") != std::string::npos);

    drone.failNextBuildCall(409, R"({"message":"version conflict"})");
    const auto conflict = client.cancelBuild("acme", "api", 7);
    REQUIRE_FALSE(conflict);
    CHECK(conflict.error().code == Errc::Conflict);

    drone.failNextBuildCall(500, R"({"message":"database is locked"})");
    const auto failed = client.restartBuild("acme", "api", 7);
    REQUIRE_FALSE(failed);
    CHECK(failed.error().code == Errc::Unavailable);
    CHECK(failed.error().retryable());

    DroneClient user{DroneSettings{.proto = "http",
                                   .host = drone.host(),
                                   .token = test::FakeDrone::kUserToken},
                     *http};
    const auto forbidden = user.incompleteBuilds();
    REQUIRE_FALSE(forbidden);
    CHECK(forbidden.error().code == Errc::Forbidden);
}

TEST_CASE("incomplete rows and build numbers parse, and bad bodies are errors") {
    const auto rows = parseIncompleteJson(
            R"([{"repo_namespace":"a","repo_name":"b","build_number":3,"stage_machine":"m"}])");
    REQUIRE(rows);
    CHECK(rows->at(0).buildNumber == 3);
    CHECK_FALSE(parseIncompleteJson(R"({"repo_namespace":"a"})"));
    CHECK_FALSE(parseIncompleteJson("[1]"));
    CHECK_FALSE(parseIncompleteJson("[{"));
    CHECK(parseBuildNumberJson(R"({"id":1,"number":12,"parent":11})").value() == 12);
    CHECK_FALSE(parseBuildNumberJson(R"({"id":1})"));
    CHECK_FALSE(parseBuildNumberJson("[]"));
}

} // namespace
} // namespace autoscale
