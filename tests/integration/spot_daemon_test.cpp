// SPDX-License-Identifier: Apache-2.0
/// \file
/// End to end, spot: the `autoscaler` binary against the fake Drone, the fake EC2
/// and the fake SQS (both verifying every signature) and real sshd hosts standing
/// in for instances. No spot capacity anywhere: on-demand at once, no error, no
/// back-off (or, fallback off, a wait explained in /api/plan); an interruption
/// warning on the queue drains the server and launches its replacement at once.

#include <csignal>

#include <doctest/doctest.h>

#include <autoscale/http.h>
#include <autoscale/json.h>
#include <autoscale/ssh.h>

#include "daemon_harness.h"
#include "doctest_support.h"
#include "fake_drone.h"
#include "fake_ec2.h"
#include "fake_sqs.h"
#include "process.h"
#include "sshd_harness.h"
#include "temp_dir.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

struct SpotDaemon {
    test::TempDir dir;
    std::vector<std::unique_ptr<test::SshdHarness>> hosts;
    std::unique_ptr<Clock> clock = makeSystemClock();
    std::unique_ptr<test::FakeEc2> ec2;
    test::FakeSqs sqs{*clock, test::FakeSqsOptions{.accessKeyId = test::kTestAccessKeyId,
                                                   .secretAccessKey = test::kTestSecretKey}};
    std::string queueUrl = sqs.createQueue("drone-interruptions");
    test::FakeDrone drone;
    int port = test::freePort();
    std::unique_ptr<HttpClient> http =
            makeCurlHttpClient(HttpOptions{.totalTimeout = 5000ms, .protocols = "http"}).value();

    explicit SpotDaemon(int hostCount) {
        const auto addresses = test::startSshHosts(dir, hostCount, hosts);
        ec2 = std::make_unique<test::FakeEc2>(
                *clock, test::FakeEc2Options{.pendingFor = 300ms, .privateAddresses = addresses});
    }

    /// Spot first, on two types and two subnets; one stage per server; the
    /// interruption queue on the fake SQS.
    std::map<std::string, std::string> env() const {
        auto e = test::daemonEnv(drone, *ec2, dir, port);
        e["DRONE_AMAZON_MARKET_TYPE"] = "spot";
        e["DRONE_AMAZON_INSTANCE"] = "t3.medium";
        e["DRONE_AMAZON_INSTANCE_ALT"] = "t3a.medium";
        e["DRONE_AMAZON_SUBNET_ID"] = "subnet-a";
        e["DRONE_AMAZON_SUBNET_IDS_ALT"] = "subnet-b";
        e["DRONE_POOL_MAX"] = "3";
        e["DRONE_AGENT_CONCURRENCY"] = "1";
        e["DRONE_POOL_LAUNCH_DELAY"] = "0s";
        e["DRONE_POOL_IDLE_TIMEOUT"] = "10m";
        e["AWS_ENDPOINT_URL_SQS"] = sqs.endpoint();
        return e;
    }

    std::unique_ptr<test::BackgroundProcess> start(const std::map<std::string, std::string>& e) {
        return test::startDaemon(dir, e);
    }

    Result<HttpResponse> api(const std::string& path) {
        return test::daemonApi(*http, port, "GET", path);
    }

    std::vector<Server> servers() { return test::daemonServers(*http, port); }

    int inState(ServerState state) {
        int n = 0;
        for (const auto& s : servers())
            n += s.state == state ? 1 : 0;
        return n;
    }

    /// RunInstances answered 200 in `market`; refused ones in `market`.
    int launched(const std::string& market) const {
        int n = 0;
        for (const auto& c : ec2->calls("RunInstances"))
            n += c.status == 200 && c.market() == market ? 1 : 0;
        return n;
    }
    int refused(const std::string& market) const {
        int n = 0;
        for (const auto& c : ec2->calls("RunInstances"))
            n += c.status != 200 && c.market() == market ? 1 : 0;
        return n;
    }
};

std::vector<Stage> pending(int n, int first = 1) {
    return test::pendingStages(n, first);
}

TEST_CASE("no spot capacity anywhere, fallback on: 3 pending stages get 3 on-demand instances "
          "within 3 s, none in error, no back-off, no spot choice retried") {
    SpotDaemon d(3);
    d.ec2->refuseCapacity({.market = "spot"});
    d.drone.setStages(pending(3));
    auto e = d.env();
    e.erase("AWS_ENDPOINT_URL_SQS");
    const auto started = std::chrono::steady_clock::now();
    auto daemon = d.start(e);
    REQUIRE_MESSAGE(test::waitFor([&] { return d.refused("spot") > 0; }, 30s), daemon->output());
    const auto refusedAt = std::chrono::steady_clock::now();
    REQUIRE_MESSAGE(test::waitFor([&] { return d.launched("on-demand") >= 3; }, 10s),
                    daemon->output());
    const double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - refusedAt).count();
    MESSAGE("3 on-demand launches "
            << took << " s after the first spot refusal was seen, "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
            << " s after the daemon started");
    CHECK(took < 3.0);
    CHECK(d.refused("spot") == 4); // Each (type, subnet) once: then cooling for 3 minutes.
    CHECK(d.launched("spot") == 0);
    REQUIRE_MESSAGE(test::waitFor([&] { return d.inState(ServerState::Running) == 3; }, 60s),
                    daemon->output());
    CHECK(d.inState(ServerState::Error) == 0);
    for (const auto& s : d.servers())
        CHECK(s.market == "on-demand");
    auto metrics = d.api("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->body.find("autoscaler_consecutive_failures{pool=\"default\"} 0") !=
          std::string::npos);
    CHECK(metrics->body.find(
                  "autoscaler_servers_by_market{pool=\"default\",market=\"on-demand\"} 3") !=
          std::string::npos);
    CHECK(d.refused("spot") == 4);
    daemon->signal(SIGTERM);
    CHECK(daemon->wait(40s) == 0);
}

TEST_CASE("no spot capacity, fallback off: no on-demand launch, the wait explained in /api/plan") {
    SpotDaemon d(1);
    d.ec2->refuseCapacity({.market = "spot"});
    d.drone.setStages(pending(2));
    auto e = d.env();
    e["DRONE_AMAZON_SPOT_FALLBACK"] = "false";
    e.erase("AWS_ENDPOINT_URL_SQS");
    auto daemon = d.start(e);
    std::optional<Plan> plan;
    REQUIRE_MESSAGE(test::waitFor(
                            [&] {
                                auto r = d.api("/api/plan");
                                if (!r || r->status != 200)
                                    return false;
                                auto p = parsePlanJson(r->body);
                                if (!p || p->cooling.size() != 4)
                                    return false;
                                plan = *p;
                                return true;
                            },
                            30s),
                    daemon->output());
    bool explained = false;
    for (const auto& reason : plan->reasons)
        explained = explained || reason.find("wait for capacity") != std::string::npos;
    CHECK_MESSAGE(explained, planToJson(*plan));
    for (const auto& c : plan->cooling) {
        CHECK(c.market == "spot");
        CHECK(c.secondsLeft > 150);
    }
    CHECK(d.launched("on-demand") == 0);
    CHECK(d.refused("on-demand") == 0);
    CHECK(d.inState(ServerState::Error) == 0);
    CHECK(d.inState(ServerState::Creating) == 2);
    daemon->signal(SIGTERM);
    CHECK(daemon->wait(40s) == 0);
}

TEST_CASE("an interruption warning on the queue: drained and replaced within 2 s, the message "
          "deleted, then the terminated instance closes the row with the reclaim as reason") {
    SpotDaemon d(2);
    d.drone.setStages(pending(1));
    auto e = d.env();
    e["DRONE_POOL_MAX"] = "1";
    e["DRONE_AMAZON_INTERRUPTION_QUEUE"] = d.queueUrl;
    auto daemon = d.start(e);
    REQUIRE_MESSAGE(test::waitFor([&] { return d.inState(ServerState::Running) == 1; }, 60s),
                    daemon->output());
    const Server victim = d.servers().at(0);
    CHECK(victim.market == "spot");
    d.drone.setStages(
            {{.id = 1, .status = "running", .machine = victim.name, .os = "linux", .arch = "amd64"},
             {.id = 2, .status = "pending", .os = "linux", .arch = "amd64"}});
    const int runsBefore = static_cast<int>(d.ec2->calls("RunInstances").size());
    d.sqs.send("drone-interruptions",
               R"({"version":"0","id":"e-1","detail-type":"EC2 Spot Instance Interruption )"
               R"(Warning","source":"aws.ec2","account":"123456789012",)"
               R"("time":"2026-11-30T12:00:00Z","region":"us-east-1","resources":[],)"
               R"("detail":{"instance-id":")" +
                       victim.instanceId + R"(","instance-action":"terminate"}})");
    const auto sent = std::chrono::steady_clock::now();
    REQUIRE_MESSAGE(test::waitFor(
                            [&] {
                                for (const auto& s : d.servers()) {
                                    if (s.name == victim.name && s.state == ServerState::Draining &&
                                        s.reclaimNotice != WallTime{})
                                        return static_cast<int>(
                                                       d.ec2->calls("RunInstances").size()) >
                                               runsBefore;
                                }
                                return false;
                            },
                            10s),
                    daemon->output());
    const double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
    MESSAGE("drained and replacement RunInstances sent " << took << " s after the warning");
    CHECK(took < 2.0);
    CHECK(test::waitFor([&] { return d.sqs.deleted() == 1; }, 5s));
    CHECK(d.sqs.signatureFailures() == 0);

    // The instance then goes: a state-change notice closes the row at once.
    REQUIRE(d.ec2->reclaimSpot(victim.instanceId));
    d.sqs.send("drone-interruptions",
               R"({"version":"0","id":"e-2","detail-type":"EC2 Instance State-change )"
               R"(Notification","source":"aws.ec2","account":"123456789012",)"
               R"("time":"2026-11-30T12:02:00Z","region":"us-east-1","resources":[],)"
               R"("detail":{"instance-id":")" +
                       victim.instanceId + R"(","state":"shutting-down"}})");
    REQUIRE_MESSAGE(test::waitFor(
                            [&] {
                                for (const auto& s : d.servers()) {
                                    if (s.name == victim.name)
                                        return s.state == ServerState::Terminated;
                                }
                                return false;
                            },
                            10s),
                    daemon->output());
    for (const auto& s : d.servers()) {
        if (s.name == victim.name)
            CHECK(s.error.find("spot interruption warning") != std::string::npos);
    }
    CHECK(test::waitFor([&] { return d.sqs.deleted() == 2; }, 5s));
    CHECK(d.sqs.signatureFailures() == 0);
    daemon->signal(SIGTERM);
    CHECK(daemon->wait(40s) == 0);
}

TEST_CASE("a server running 2 stages of 2 builds vanishes with Server.SpotInstanceTermination: "
          "both builds recorded as lost, each cancelled and restarted once, also across "
          "restarts") {
    SpotDaemon d(1);
    d.drone.setStages(pending(2));
    auto e = d.env();
    e["DRONE_POOL_MAX"] = "1";
    e["DRONE_AGENT_CONCURRENCY"] = "2";
    e["DRONE_RESTART_LOST_BUILDS"] = "true";
    e.erase("AWS_ENDPOINT_URL_SQS");
    auto daemon = d.start(e);
    REQUIRE_MESSAGE(test::waitFor([&] { return d.inState(ServerState::Running) == 1; }, 60s),
                    daemon->output());
    const Server victim = d.servers().at(0);
    d.drone.setStages({{.id = 1,
                        .buildId = 101,
                        .status = "running",
                        .machine = victim.name,
                        .os = "linux",
                        .arch = "amd64"},
                       {.id = 2,
                        .buildId = 102,
                        .status = "running",
                        .machine = victim.name,
                        .os = "linux",
                        .arch = "amd64"}});
    d.drone.addBuild("octocat/hello",
                     {.number = 7, .stages = {{.status = "running", .machine = victim.name}}});
    d.drone.addBuild("octocat/world",
                     {.number = 9, .stages = {{.status = "running", .machine = victim.name}}});
    const int queueReads = d.drone.queueRequests();
    REQUIRE(test::waitFor([&] { return d.drone.queueRequests() >= queueReads + 2; }, 10s));
    daemon->signal(SIGTERM);
    REQUIRE(daemon->wait(40s) == 0);

    // EC2 takes the spot capacity back while the daemon is down; the next
    // start's sweep finds the instance gone with EC2's reason.
    REQUIRE(d.ec2->reclaimSpot(victim.instanceId));
    daemon = d.start(e);
    REQUIRE_MESSAGE(test::waitFor(
                            [&] {
                                return d.drone.restarts("octocat/hello", 7) == 1 &&
                                       d.drone.restarts("octocat/world", 9) == 1;
                            },
                            30s),
                    daemon->output());
    std::optional<Server> gone;
    REQUIRE(test::waitFor(
            [&] {
                for (const auto& s : d.servers()) {
                    if (s.name == victim.name && s.lostBuilds.size() == 2 &&
                        s.lostBuilds[0].outcome == "restarted" &&
                        s.lostBuilds[1].outcome == "restarted")
                        gone = s;
                }
                return gone.has_value();
            },
            10s));
    CHECK(gone->state == ServerState::Terminated);
    CHECK(gone->error.find("Server.SpotInstanceTermination") != std::string::npos);
    CHECK(gone->lostBuilds[0].restartedAs > 0);
    auto metrics = d.api("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->body.find("autoscaler_stages_lost_total{pool=\"default\"} 2") !=
          std::string::npos);
    daemon->signal(SIGTERM);
    REQUIRE(daemon->wait(40s) == 0);

    // Another restart restarts nothing again.
    daemon = d.start(e);
    const int reads = d.drone.queueRequests();
    REQUIRE_MESSAGE(test::waitFor([&] { return d.drone.queueRequests() >= reads + 3; }, 30s),
                    daemon->output());
    CHECK(d.drone.restarts("octocat/hello", 7) == 1);
    CHECK(d.drone.restarts("octocat/world", 9) == 1);
    int cancels = 0;
    for (const auto& call : d.drone.buildCalls())
        cancels += call.method == "DELETE" ? 1 : 0;
    CHECK(cancels == 2);
    CHECK(d.ec2->signatureFailures() == 0);
    daemon->signal(SIGTERM);
    CHECK(daemon->wait(40s) == 0);
}

} // namespace
} // namespace autoscale
