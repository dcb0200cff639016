// SPDX-License-Identifier: Apache-2.0
// DroneClient against a fake Drone on loopback: real shapes, truncated and
// wrongly shaped bodies, slow answers, errors. No input crashes it.

#include <doctest/doctest.h>

#include <autoscale/drone.h>

#include "doctest_support.h"
#include "fake_drone.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

struct DroneFixture {
    test::FakeDrone drone;
    std::unique_ptr<HttpClient> http = makeCurlHttpClient(HttpOptions{.connectTimeout = 2000ms,
                                                                      .totalTimeout = 1000ms,
                                                                      .protocols = "http"})
                                               .value();
    DroneClient client{DroneSettings{.proto = "http",
                                     .host = drone.host(),
                                     .token = test::FakeDrone::kAdminToken},
                       *http};
};

TEST_CASE_FIXTURE(DroneFixture, "the queue is read with the admin bearer token") {
    Stage gpu{.id = 3, .status = "pending", .os = "linux", .arch = "amd64"};
    gpu.labels = {{"gpu", "yes"}};
    drone.setStages({Stage{.id = 1,
                           .buildId = 9,
                           .status = "running",
                           .machine = "agent-x",
                           .os = "linux",
                           .arch = "amd64",
                           .created = 1700000000},
                     Stage{.id = 2,
                           .status = "pending",
                           .os = "linux",
                           .arch = "arm64",
                           .variant = "v8",
                           .kernel = "5.10"},
                     gpu});
    const auto stages = client.stages();
    REQUIRE(stages);
    REQUIRE(stages->size() == 3);
    CHECK((*stages)[0].machine == "agent-x");
    CHECK((*stages)[0].status == "running");
    CHECK((*stages)[0].buildId == 9);
    CHECK((*stages)[0].created == 1700000000);
    CHECK((*stages)[1].arch == "arm64");
    CHECK((*stages)[1].variant == "v8");
    CHECK((*stages)[1].kernel == "5.10");
    CHECK((*stages)[2].labels.at("gpu") == "yes");
    const auto sent = drone.server().requests();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].headers.at("authorization") ==
          std::string("Bearer ") + test::FakeDrone::kAdminToken);
}

TEST_CASE_FIXTURE(DroneFixture, "an empty queue may be [] or null") {
    drone.setRawQueue(200, "[]");
    CHECK(client.stages()->empty());
    drone.setRawQueue(200, "null");
    CHECK(client.stages()->empty());
}

TEST_CASE_FIXTURE(DroneFixture, "a rejected token says it is not an admin token") {
    DroneClient user{DroneSettings{.proto = "http",
                                   .host = drone.host(),
                                   .token = test::FakeDrone::kUserToken},
                     *http};
    const auto forbidden = user.stages();
    REQUIRE_FALSE(forbidden);
    CHECK(forbidden.error().code == Errc::Forbidden);
    CHECK(forbidden.error().message.find("not a Drone admin token") != std::string::npos);
    DroneClient wrong{DroneSettings{.proto = "http", .host = drone.host(), .token = "nope"}, *http};
    const auto unauthorized = wrong.stages();
    REQUIRE_FALSE(unauthorized);
    CHECK(unauthorized.error().code == Errc::Unauthorized);
    CHECK(unauthorized.error().httpStatus == 401);
    CHECK(unauthorized.error().message.find("nope") == std::string::npos);
}

TEST_CASE_FIXTURE(DroneFixture, "a 5xx is an unavailable error") {
    drone.setRawQueue(502, "<html>bad gateway</html>");
    const auto r = client.stages();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Unavailable);
    CHECK(r.error().retryable());
    CHECK(r.error().httpStatus == 502);
}

TEST_CASE_FIXTURE(DroneFixture, "bodies that are not a list of stages are parse errors") {
    struct Case {
        const char* body;
        const char* fragment;
    };
    const std::vector<Case> cases = {
            {R"([{"id":1,"status":"pending","os":"linux")", "at offset"},
            {"", "at offset 0"},
            {"<html></html>", "at offset 0"},
            {R"({"message":"x"})", "not a JSON list"},
            {R"([1,2])", "item 0 is not a JSON object"},
            {"\"queue\"", "not a JSON list"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.body);
        drone.setRawQueue(200, c.body);
        const auto r = client.stages();
        REQUIRE_FALSE(r);
        CHECK(r.error().code == Errc::Parse);
        CHECK(r.error().message.find(c.fragment) != std::string::npos);
    }
}

TEST_CASE_FIXTURE(DroneFixture, "wrongly typed fields are ignored, not trusted") {
    drone.setRawQueue(200, R"([{"id":"x","status":7,"os":null,"arch":["amd64"],"labels":[1],)"
                           R"("machine":{"a":1}},{"labels":{"k":1,"ok":"v"}}])");
    const auto r = client.stages();
    REQUIRE(r);
    REQUIRE(r->size() == 2);
    CHECK((*r)[0].status.empty());
    CHECK((*r)[0].arch.empty());
    CHECK((*r)[1].labels == std::map<std::string, std::string>{{"ok", "v"}});
}

TEST_CASE_FIXTURE(DroneFixture, "a slow Drone hits the timeout") {
    drone.setRawQueue(200, "[]", 2500ms);
    const auto r = client.stages();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Timeout);
}

TEST_CASE("an unreachable Drone names host and port") {
    int port = 0;
    {
        test::FakeHttpServer gone;
        port = gone.port();
    }
    auto http = makeCurlHttpClient(HttpOptions{.protocols = "http"}).value();
    DroneClient client{DroneSettings{.proto = "http",
                                     .host = "127.0.0.1:" + std::to_string(port),
                                     .token = "t"},
                       *http};
    const auto r = client.stages();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Transport);
    CHECK(r.error().message.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE_FIXTURE(DroneFixture, "the user endpoint tells admins from users") {
    const auto admin = client.user(test::FakeDrone::kAdminToken);
    REQUIRE(admin);
    CHECK(admin->admin);
    CHECK(admin->login == "octocat");
    const auto user = client.user(test::FakeDrone::kUserToken);
    REQUIRE(user);
    CHECK_FALSE(user->admin);
    const auto nobody = client.user("bad");
    REQUIRE_FALSE(nobody);
    CHECK(nobody.error().code == Errc::Unauthorized);
}

TEST_CASE("random bytes never crash the queue parser") {
    std::uint32_t seed = 12345;
    auto next = [&seed] {
        seed = seed * 1664525U + 1013904223U;
        return seed >> 24U;
    };
    const std::string valid = test::FakeDrone::stageJson(
            Stage{.id = 1, .status = "pending", .os = "linux", .arch = "amd64"});
    for (int i = 0; i < 2000; ++i) {
        std::string body = "[" + valid + "," + valid + "]";
        const auto cut = next() % body.size();
        body.resize(cut);
        if (i % 2 == 0 && !body.empty())
            body[next() % body.size()] = static_cast<char>(next());
        (void)parseQueueJson(body); // Must return, value or error.
    }
    CHECK(parseQueueJson("[" + valid + "]"));
}

} // namespace
} // namespace autoscale
