// SPDX-License-Identifier: Apache-2.0
// End to end: the `autoscaler` binary against the fake Drone, the fake EC2
// (verifying every signature) and real sshd hosts standing in for instances.

#include <atomic>
#include <csignal>
#include <fstream>
#include <random>
#include <thread>

#include <doctest/doctest.h>

#include <autoscale/http.h>
#include <autoscale/json.h>
#include <autoscale/ssh.h>

#include "daemon_harness.h"
#include "doctest_support.h"
#include "fake_drone.h"
#include "fake_ec2.h"
#include "process.h"
#include "sshd_harness.h"
#include "temp_dir.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

constexpr const char* kRpcSecret = test::kDaemonRpcSecret;

struct Daemon {
    test::TempDir dir;
    std::vector<std::unique_ptr<test::SshdHarness>> hosts;
    std::unique_ptr<Clock> clock = makeSystemClock();
    std::unique_ptr<test::FakeEc2> ec2;
    test::FakeDrone drone;
    int port = test::freePort();
    std::unique_ptr<HttpClient> http =
            makeCurlHttpClient(HttpOptions{.totalTimeout = 5000ms, .protocols = "http"}).value();

    explicit Daemon(int hostCount, std::vector<std::string> addresses = {}) {
        for (auto& address : test::startSshHosts(dir, hostCount, hosts))
            addresses.push_back(std::move(address));
        ec2 = std::make_unique<test::FakeEc2>(
                *clock, test::FakeEc2Options{.pendingFor = 300ms, .privateAddresses = addresses});
    }

    std::map<std::string, std::string> env() const {
        return test::daemonEnv(drone, *ec2, dir, port);
    }

    std::unique_ptr<test::BackgroundProcess> start(const std::map<std::string, std::string>& e,
                                                   const std::string& log = "daemon.log") {
        return test::startDaemon(dir, e, log);
    }

    Result<HttpResponse> api(const std::string& method, const std::string& path,
                             const std::string& token = test::FakeDrone::kAdminToken) {
        return test::daemonApi(*http, port, method, path, token);
    }

    /// The status of a request, or -1 when the daemon did not answer.
    int status(const std::string& method, const std::string& path, const std::string& token = "") {
        auto r = api(method, path, token);
        return r ? r->status : -1;
    }

    std::vector<Server> servers() { return test::daemonServers(*http, port); }

    int inState(ServerState state) {
        int n = 0;
        for (const auto& s : servers())
            n += s.state == state ? 1 : 0;
        return n;
    }
};

std::vector<Stage> pending(int n) {
    return test::pendingStages(n);
}

TEST_CASE("the daemon scales up on demand, installs over SSH, scales down idle servers") {
    Daemon d(3);
    d.drone.setStages(pending(6));
    auto daemon = d.start(d.env());
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(test::waitFor([&] { return d.ec2->calls("RunInstances").size() >= 3; }, 20s));
    const auto firstThree = std::chrono::steady_clock::now() - t0;
    MESSAGE("3 RunInstances after " << std::chrono::duration<double>(firstThree).count() << " s");
    CHECK(firstThree < 4s); // Target 2 s from the stages appearing; process start included.
    const auto runs = d.ec2->calls("RunInstances");
    REQUIRE(runs.size() == 3);
    for (const auto& call : runs) {
        CHECK(call.param("MetadataOptions.HttpTokens") == "required");
        CHECK(call.param("MetadataOptions.HttpPutResponseHopLimit") == "1");
        CHECK(call.param("ClientToken").size() >= 16);
        CHECK(call.param("ImageId") == "ami-0123456789abcdef0");
    }
    CHECK(d.ec2->signatureFailures() == 0);
    bool tagged = false;
    for (const auto& [id, instance] : d.ec2->instances()) {
        CHECK(instance.tags.contains("drone-autoscaler:pool"));
        CHECK(instance.tags.contains("drone-autoscaler:server"));
        CHECK(instance.tags.at("drone-autoscaler:owner") == d.drone.host());
        CHECK(instance.tags.at("Name") == instance.tags.at("drone-autoscaler:server"));
        tagged = true;
    }
    CHECK(tagged);

    REQUIRE_MESSAGE(test::waitFor([&] { return d.inState(ServerState::Running) == 3; }, 60s),
                    d.dir.file("daemon.log") << "\n"
                                             << daemon->output());
    for (const auto& host : d.hosts) {
        CHECK(host->containers().size() == 1);
        for (const auto& command : host->commands())
            CHECK(command.command.find(kRpcSecret) == std::string::npos);
        CHECK(host->readFile("home/.drone-runner/agent.env").find(kRpcSecret) != std::string::npos);
    }
    CHECK(daemon->output().find(kRpcSecret) == std::string::npos);
    CHECK(daemon->output().find(test::kTestSecretKey) == std::string::npos);

    // Two stages run on two servers; the queue is otherwise empty: the idle
    // one goes after DRONE_POOL_IDLE_TIMEOUT, the busy ones stay.
    auto up = d.servers();
    REQUIRE(up.size() == 3);
    d.drone.setStages({Stage{.id = 1,
                             .status = "running",
                             .machine = up[0].name,
                             .os = "linux",
                             .arch = "amd64"},
                       Stage{.id = 2,
                             .status = "running",
                             .machine = up[1].name,
                             .os = "linux",
                             .arch = "amd64"}});
    REQUIRE(test::waitFor([&] { return d.inState(ServerState::Terminated) == 1; }, 30s));
    auto after = d.servers();
    for (const auto& s : after) {
        if (s.name == up[2].name)
            CHECK(s.state == ServerState::Terminated);
        else
            CHECK(s.state == ServerState::Running);
    }
    const auto terminations = d.ec2->calls("TerminateInstances");
    REQUIRE(terminations.size() == 1);
    CHECK(terminations[0].param("InstanceId.1") == up[2].instanceId);

    // The API: authorisation, pause, metrics, health.
    CHECK(d.status("GET", "/api/servers") == 401);
    CHECK(d.api("GET", "/api/servers", test::FakeDrone::kUserToken)->status == 403);
    CHECK(d.api("GET", "/api/servers", "wrong")->status == 401);
    CHECK(d.status("GET", "/api/servers/agent-nope", test::FakeDrone::kAdminToken) == 404);
    const auto one = d.api("GET", "/api/servers/" + up[0].name);
    REQUIRE(one);
    CHECK(one->body.find("PRIVATE KEY") == std::string::npos);
    // drone/autoscaler's state names on the wire, ours in `phase`: the
    // terminated server reads `stopped`, so `drone server ls` hides it.
    CHECK(one->body.find(R"("state":"running","name":")" + up[0].name) != std::string::npos);
    CHECK(one->body.find(R"("phase":"running")") != std::string::npos);
    const auto gone = d.api("GET", "/api/servers/" + up[2].name);
    REQUIRE(gone);
    CHECK(gone->body.find(R"("state":"stopped","name":")" + up[2].name) != std::string::npos);
    CHECK(gone->body.find(R"("phase":"terminated")") != std::string::npos);
    const auto all = d.api("GET", "/api/servers");
    REQUIRE(all);
    CHECK(all->body.find("\"state\":\"terminated\"") == std::string::npos);
    CHECK(all->body.find(R"("state":"stopped","name":")" + up[2].name) != std::string::npos);
    CHECK(d.status("GET", "/healthz") == 200);
    CHECK(d.status("POST", "/api/pause", test::FakeDrone::kAdminToken) == 204);
    CHECK(d.api("GET", "/varz", "")->body.find("\"paused\":true") != std::string::npos);
    CHECK(d.status("POST", "/api/resume", test::FakeDrone::kAdminToken) == 204);
    CHECK(d.api("GET", "/varz", "")->body.find("\"paused\":false") != std::string::npos);
    const auto metrics = d.api("GET", "/metrics", "");
    REQUIRE(metrics);
    CHECK(metrics->body.find("drone_server_count{pool=\"default\"} 2") != std::string::npos);
    CHECK(metrics->body.find(
                  "autoscaler_reaction_time_seconds_bucket{pool=\"default\",le=\"30\"} ") !=
          std::string::npos);
    CHECK(metrics->body.find("autoscaler_ec2_calls_total{pool=\"default\",action=\"RunInstances\","
                             "code=\"ok\"} 3") != std::string::npos);
    const auto planned = d.api("GET", "/api/plan");
    REQUIRE(planned);
    CHECK(planned->body.find("\"running\":2") != std::string::npos);

    // A second daemon on the same database refuses to start.
    auto second = d.start(d.env(), "second.log");
    CHECK(second->wait(20s) == 1);
    CHECK(second->output().find("another autoscaler is already running") != std::string::npos);

    // `drone server destroy` on a busy server: drone/autoscaler's words on the
    // wire, shutdown while its stage runs, then stopping, then stopped.
    const auto destroyed = d.api("DELETE", "/api/servers/" + up[0].name);
    REQUIRE(destroyed);
    CHECK(destroyed->status == 200);
    CHECK(destroyed->body.find(R"("state":"shutdown")") != std::string::npos);
    const auto wireState = [&] {
        const auto r = d.api("GET", "/api/servers/" + up[0].name);
        if (!r || r->status != 200)
            return std::string("?");
        const auto row = parseServerJson(r->body);
        return row ? std::string(droneStateOf(row->state)) : std::string("?");
    };
    CHECK(wireState() == "shutdown"); // Its stage still runs: drained, not terminated.
    d.drone.setStages({Stage{
            .id = 2, .status = "running", .machine = up[1].name, .os = "linux", .arch = "amd64"}});
    std::vector<std::string> seen{"shutdown"};
    REQUIRE(test::waitFor(
            [&] {
                const std::string now = wireState();
                if (now != seen.back())
                    seen.push_back(now);
                return now == "stopped";
            },
            30s));
    const std::vector<std::string> order{"shutdown", "stopping", "stopped"};
    std::size_t at = 0;
    for (const auto& state : seen) { // In order, nothing else, possibly too quick to see.
        while (at < order.size() && order[at] != state)
            ++at;
        CHECK_MESSAGE(at < order.size(), "unexpected or out-of-order state " << state);
    }

    // An empty queue: everything goes.
    d.drone.setStages({});
    REQUIRE(test::waitFor([&] { return d.inState(ServerState::Terminated) == 3; }, 30s));

    daemon->signal(SIGTERM);
    CHECK(daemon->wait(40s) == 0);
}

TEST_CASE("bad configuration exits 2 naming every bad variable before any cloud call") {
    Daemon d(0);
    auto e = d.env();
    e["DRONE_POOL_MIN"] = "abc";
    e["DRONE_INTERVAL"] = "soon";
    e.erase("DRONE_AGENT_TOKEN");
    auto daemon = d.start(e);
    CHECK(daemon->wait(20s) == 2);
    const std::string out = daemon->output();
    CHECK(out.find("DRONE_POOL_MIN") != std::string::npos);
    CHECK(out.find("DRONE_INTERVAL") != std::string::npos);
    CHECK(out.find("DRONE_AGENT_TOKEN") != std::string::npos);
    CHECK(out.find(test::FakeDrone::kAdminToken) == std::string::npos);
    CHECK(d.ec2->calls().empty());
    CHECK(d.drone.queueRequests() == 0);
}

TEST_CASE("a malformed queue never terminates anything and never stops the daemon") {
    Daemon d(1);
    auto e = d.env();
    e["DRONE_POOL_MIN"] = "1";
    auto daemon = d.start(e);
    REQUIRE_MESSAGE(test::waitFor([&] { return d.inState(ServerState::Running) == 1; }, 60s),
                    daemon->output());
    CHECK(d.status("GET", "/healthz") == 200);
    d.drone.setRawQueue(200, R"([{"id":1,"status":"pend)");
    const auto calls = d.drone.queueRequests();
    REQUIRE(test::waitFor([&] { return d.drone.queueRequests() >= calls + 4; }, 20s));
    CHECK(d.ec2->calls("TerminateInstances").empty());
    CHECK(daemon->running());
    CHECK(d.inState(ServerState::Running) == 1);
    REQUIRE(test::waitFor([&] { return d.status("GET", "/healthz") == 503; }, 20s));
    CHECK(d.api("GET", "/healthz", "")->body.find("not valid JSON") != std::string::npos);
    daemon->signal(SIGTERM);
    CHECK(daemon->wait(40s) == 0);
}

TEST_CASE("autoscaler-admin against a running daemon") {
    test::SilentListener silent; // Instances answer TCP, never SSH: nothing leaves 127.0.0.1.
    Daemon d(0, {"127.0.0.1:" + std::to_string(silent.port())});
    auto daemon = d.start(d.env());
    REQUIRE(test::waitFor([&] { return d.status("GET", "/healthz") == 200; }, 20s));
    const std::string admin = test::testEnv("AUTOSCALER_ADMIN_BIN");
    const std::string url = "http://127.0.0.1:" + std::to_string(d.port);
    const std::map<std::string, std::string> env = {{"DRONE_AUTOSCALER", url},
                                                    {"DRONE_TOKEN", test::FakeDrone::kAdminToken}};
    auto run = [&](std::vector<std::string> args, const std::map<std::string, std::string>& e) {
        args.insert(args.begin(), admin);
        return test::runProcess(args, e, 30s);
    };

    const auto empty = run({"servers", "ls"}, env);
    CHECK(empty.exitCode == 0);
    CHECK(empty.out.starts_with("NAME"));
    const auto created = run({"servers", "create"}, env);
    REQUIRE(created.exitCode == 0);
    CHECK(created.out.starts_with("created agent-"));
    const std::string name = created.out.substr(8, created.out.size() - 9);
    const auto table = run({"servers", "ls"}, env);
    CHECK(table.exitCode == 0);
    CHECK(table.out.find(name) != std::string::npos);
    const auto json = run({"--json", "servers", "ls"}, env);
    CHECK(json.exitCode == 0);
    const auto parsed = parseServersJson(json.out);
    REQUIRE(parsed);
    REQUIRE(parsed->size() == 1);
    CHECK((*parsed)[0].name == name);
    const auto info = run({"servers", "info", name}, env);
    CHECK(info.exitCode == 0);
    CHECK(info.out.find("Name: " + name) != std::string::npos);
    CHECK(table.out.starts_with("NAME"));
    CHECK(table.out.find("  STATE  ") != std::string::npos);
    CHECK(table.out.find("  PHASE  ") != std::string::npos);
    // Instances here never answer SSH: the row stays before `running`.
    CHECK(info.out.find("\nState: ") != std::string::npos);
    CHECK(info.out.find("\nPhase: ") != std::string::npos);
    for (const char* ours : {"State: booting", "State: installing", "State: draining"})
        CHECK(info.out.find(ours) == std::string::npos);

    CHECK(run({"pause"}, env).exitCode == 0);
    CHECK(d.api("GET", "/varz", "")->body.find("\"paused\":true") != std::string::npos);
    CHECK(run({"resume"}, env).exitCode == 0);
    CHECK(d.api("GET", "/varz", "")->body.find("\"paused\":false") != std::string::npos);
    const auto plan = run({"plan", "--json"}, env);
    CHECK(plan.exitCode == 0);
    CHECK(plan.out.find("\"reasons\"") != std::string::npos);

    const auto unknown = run({"servers", "destroy", "agent-nope"}, env);
    CHECK(unknown.exitCode == 1);
    CHECK(unknown.err.find("404") != std::string::npos);
    CHECK(run({"frobnicate"}, env).exitCode == 2);
    CHECK(run({"servers", "ls"}, {}).exitCode == 2);
    const auto wrong = run({"--token", "wrong-token", "servers", "ls"}, env);
    CHECK(wrong.exitCode == 1);
    CHECK(wrong.err.find("rejected by the Drone server") != std::string::npos);
    CHECK(wrong.err.find("wrong-token") == std::string::npos);
    const auto user = run({"--token", test::FakeDrone::kUserToken, "servers", "ls"}, env);
    CHECK(user.exitCode == 1);
    CHECK(user.err.find("not a Drone admin token") != std::string::npos);
    CHECK(run({"servers", "ls", "--help"}, env).exitCode == 0);

    const auto destroyed = run({"servers", "destroy", name}, env);
    CHECK(destroyed.exitCode == 0);
    CAPTURE(destroyed.out);
    // drone/autoscaler's state, then our phase: a booting or installing row
    // goes to terminating (`stopping`), a pending one straight to `stopped`.
    CHECK((destroyed.out == name + ": stopping (terminating)\n" ||
           destroyed.out == name + ": stopped (terminated)\n"));

    // The image's HEALTHCHECK: ":PORT" (all addresses) is reached on loopback.
    const std::vector<std::string> healthcheck = {test::testEnv("AUTOSCALER_BIN"), "healthcheck"};
    const std::map<std::string, std::string> listen = {
            {"DRONE_HTTP_PORT", ":" + std::to_string(d.port)}};
    const auto healthy = test::runProcess(healthcheck, listen, 30s);
    CHECK(healthy.exitCode == 0);
    CHECK(healthy.out == "OK\n");
    daemon->signal(SIGTERM);
    CHECK(daemon->wait(40s) == 0);
    const auto gone = test::runProcess(healthcheck, listen, 30s);
    CHECK(gone.exitCode == 1);
    CHECK(gone.err.find("cannot reach the autoscaler") != std::string::npos);
}

TEST_CASE("SIGTERM during installs exits 0 at once; the installs resume at the next start") {
    // Instances that answer TCP and never SSH: every install stays in flight.
    test::SilentListener silent;
    Daemon d(0, {"127.0.0.1:" + std::to_string(silent.port())});
    d.drone.setStages(pending(4));
    auto daemon = d.start(d.env());
    REQUIRE_MESSAGE(test::waitFor([&] { return d.inState(ServerState::Installing) == 2; }, 30s),
                    daemon->output());
    // Two more cycles: the installs have started and are waiting for SSH.
    const auto calls = d.drone.queueRequests();
    REQUIRE(test::waitFor([&] { return d.drone.queueRequests() >= calls + 2; }, 10s));
    const auto before = d.servers();
    const auto launched = d.ec2->calls("RunInstances").size();

    const auto t0 = std::chrono::steady_clock::now();
    daemon->signal(SIGTERM);
    const int status = daemon->wait(15s);
    const auto took = std::chrono::steady_clock::now() - t0;
    MESSAGE("SIGTERM to exit with 2 installs in flight: "
            << std::chrono::duration<double>(took).count() << " s");
    CHECK_MESSAGE(status == 0, daemon->output());
    CHECK_MESSAGE(took < 3s, daemon->output()); // `docker stop` allows 10 s before SIGKILL.
    CHECK(daemon->output().find("in-flight work asked to stop") != std::string::npos);
    CHECK(daemon->output().find("abandoned") == std::string::npos); // Stopped, not left behind.
    CHECK(daemon->output().find("exiting;") == std::string::npos);
    CHECK(daemon->output().find("\"stopped\"") != std::string::npos);

    // The rows were left installing; the next start resumes them, creating nothing.
    auto again = d.start(d.env(), "again.log");
    REQUIRE(test::waitFor([&] { return d.status("GET", "/healthz") == 200; }, 20s));
    const auto after = d.servers();
    REQUIRE(after.size() == before.size());
    for (std::size_t i = 0; i < after.size(); ++i) {
        CHECK(after[i].name == before[i].name);
        CHECK(after[i].instanceId == before[i].instanceId);
        CHECK(after[i].state == ServerState::Installing);
        CHECK(after[i].error.empty());
    }
    CHECK(d.ec2->calls("RunInstances").size() == launched);
    again->signal(SIGTERM);
    CHECK(again->wait(15s) == 0);
}

int liveInstances(const test::FakeEc2& ec2) {
    int n = 0;
    for (const auto& [id, instance] : ec2.instances())
        n += instance.state == "pending" || instance.state == "running" ? 1 : 0;
    return n;
}

/// No orphan: the store knows every live instance of the fake, and holds rows.
bool everyLiveInstanceKnown(Daemon& d) {
    const auto rows = d.servers();
    if (rows.empty())
        return false;
    for (const auto& [instanceId, instance] : d.ec2->instances()) {
        if (instance.state != "pending" && instance.state != "running")
            continue;
        const std::string& id = instanceId; // clang 14 captures no structured binding.
        const bool found = std::any_of(rows.begin(), rows.end(), [&](const Server& s) {
            return s.instanceId == id && s.state != ServerState::Terminated;
        });
        if (!found)
            return false;
    }
    return true;
}

TEST_CASE("kill -9 at random moments across 8 restarts never exceeds MAX nor leaks") {
    test::SilentListener silent; // Instances that never finish installing: all stay live.
    Daemon d(0, {"127.0.0.1:" + std::to_string(silent.port())});
    d.drone.setStages(pending(8));
    std::atomic<bool> watching{true};
    std::atomic<int> maxLive{0};
    std::thread watcher([&] {
        while (watching) {
            maxLive = std::max(maxLive.load(), liveInstances(*d.ec2));
            std::this_thread::sleep_for(5ms); // Sampling the fake's table.
        }
    });
    std::mt19937 rng(1127);
    for (int restart = 0; restart < 8; ++restart) {
        auto daemon = d.start(d.env(), "run" + std::to_string(restart) + ".log");
        // A random moment: the daemon is killed wherever it is.
        std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 1500));
        daemon->signal(SIGKILL);
        daemon->wait(10s);
        CHECK(liveInstances(*d.ec2) <= 4);
    }
    auto last = d.start(d.env(), "last.log");
    const auto known = [&d] {
        return everyLiveInstanceKnown(d);
    };
    CHECK_MESSAGE(test::waitFor(known, 30s), last->output());
    watching = false;
    watcher.join();
    MESSAGE("RunInstances calls: " << d.ec2->calls("RunInstances").size()
                                   << ", most live at once: " << maxLive.load());
    CHECK(maxLive <= 4);
    CHECK(liveInstances(*d.ec2) <= 4);
    last->signal(SIGTERM);
    CHECK(last->wait(40s) == 0);
}

TEST_CASE("throttling and a type out of capacity: the fallback type fills the pool") {
    Daemon d(2);
    d.ec2->faults([](test::FakeEc2Faults& f) {
        f.throttleEvery = 2;
        f.capacityByType["t3.medium"] = "InsufficientInstanceCapacity";
    });
    d.drone.setStages(pending(4));
    auto e = d.env();
    e["DRONE_POOL_MAX"] = "2";
    e["DRONE_AMAZON_INSTANCE_ALT"] = "t3.large";
    auto daemon = d.start(e);
    REQUIRE_MESSAGE(test::waitFor([&] { return d.inState(ServerState::Running) == 2; }, 90s),
                    daemon->output());
    for (const auto& s : d.servers())
        CHECK(s.size == "t3.large");
    int medium = 0;
    int throttled = 0;
    for (const auto& call : d.ec2->calls("RunInstances")) {
        medium += call.param("InstanceType") == "t3.medium" ? 1 : 0;
        throttled += call.errorCode == "RequestLimitExceeded" ? 1 : 0;
    }
    MESSAGE("t3.medium attempts: " << medium << ", throttled RunInstances: " << throttled);
    CHECK(throttled > 0);
    CHECK(medium <= 2); // The failed type is remembered, not retried in a loop.
    const auto calls = d.drone.queueRequests();
    REQUIRE(test::waitFor([&] { return d.drone.queueRequests() >= calls + 5; }, 30s));
    int mediumLater = 0;
    for (const auto& call : d.ec2->calls("RunInstances"))
        mediumLater += call.param("InstanceType") == "t3.medium" ? 1 : 0;
    CHECK(mediumLater == medium);
    daemon->signal(SIGTERM);
    CHECK(daemon->wait(40s) == 0);
}

// ---- several pools -----------------------------------------------------------

/// The issue's three pools: amd64 (t3.medium, max 3), arm64 (t4g.medium, its
/// own AMI, max 2) and gpu (labels gpu: "yes", g4dn.xlarge, max 1), fleet max 5,
/// concurrency 1.
constexpr const char* kThreePools = R"(version: 1
max: 5
pools:
  - name: amd64
    platform: {os: linux, arch: amd64}
    min: 0
    max: 3
    concurrency: 1
    amazon:
      instance_types: [t3.medium]
  - name: arm64
    platform: {os: linux, arch: arm64}
    min: 0
    max: 2
    concurrency: 1
    amazon:
      image: ami-0def5678def5678de
      instance_types: [t4g.medium]
  - name: gpu
    platform: {os: linux, arch: amd64}
    labels: {gpu: "yes"}
    min: 0
    max: 1
    concurrency: 1
    amazon:
      instance_types: [g4dn.xlarge]
)";

Stage stageOn(std::int64_t id, const std::string& os, const std::string& arch,
              std::map<std::string, std::string> labels = {}) {
    return {.id = id, .status = "pending", .os = os, .arch = arch, .labels = std::move(labels)};
}

/// 4 amd64, 3 arm64, 2 gpu and 1 windows stage pending.
std::vector<Stage> mixedStages() {
    std::vector<Stage> out;
    std::int64_t id = 0;
    for (int i = 0; i < 4; ++i)
        out.push_back(stageOn(++id, "linux", "amd64"));
    for (int i = 0; i < 3; ++i)
        out.push_back(stageOn(++id, "linux", "arm64"));
    for (int i = 0; i < 2; ++i)
        out.push_back(stageOn(++id, "linux", "amd64", {{"gpu", "yes"}}));
    out.push_back(stageOn(++id, "windows", "amd64"));
    return out;
}

/// Live instances of the fake by the pool tag.
std::map<std::string, int> livePerPool(const test::FakeEc2& ec2) {
    std::map<std::string, int> out;
    for (const auto& [id, instance] : ec2.instances()) {
        if (instance.state != "pending" && instance.state != "running")
            continue;
        const auto tag = instance.tags.find("drone-autoscaler:pool");
        ++out[tag == instance.tags.end() ? std::string("?") : tag->second];
    }
    return out;
}

TEST_CASE("three pools: each launches its own type and AMI, within its max and the fleet's; "
          "the windows stage is unroutable") {
    Daemon d(5);
    std::ofstream(d.dir.file("pools.yml")) << kThreePools;
    auto env = d.env();
    env["DRONE_POOL_FILE"] = d.dir.file("pools.yml");
    d.drone.setStages(mixedStages());
    std::atomic<bool> watching{true};
    std::atomic<int> maxLive{0};
    std::atomic<bool> poolOver{false};
    std::thread watcher([&] {
        while (watching) {
            const auto live = livePerPool(*d.ec2);
            int total = 0;
            for (const auto& [pool, n] : live)
                total += n;
            maxLive = std::max(maxLive.load(), total);
            const auto of = [&live](const char* pool) {
                const auto it = live.find(pool);
                return it == live.end() ? 0 : it->second;
            };
            if (of("amd64") > 3 || of("arm64") > 2 || of("gpu") > 1)
                poolOver = true;
            std::this_thread::sleep_for(5ms); // Sampling the fake's table.
        }
    });
    auto daemon = d.start(env);
    const auto runningPerPool = [&] {
        std::map<std::string, int> out;
        for (const auto& s : d.servers()) {
            if (s.state == ServerState::Running)
                ++out[s.pool];
        }
        return out;
    };
    // The fleet's max binds (the pools want 3 + 2 + 1): 2 amd64, 2 arm64, 1 gpu.
    const std::map<std::string, int> expected{{"amd64", 2}, {"arm64", 2}, {"gpu", 1}};
    CHECK_MESSAGE(test::waitFor([&] { return runningPerPool() == expected; }, 60s),
                  daemon->output());

    for (const auto& call : d.ec2->calls("RunInstances")) {
        if (call.status != 200)
            continue;
        const std::string pool = call.param("TagSpecification.1.Tag.2.Value");
        INFO("RunInstances: " << call.instanceType() << " " << call.param("ImageId"));
        if (call.instanceType() == "t4g.medium") {
            CHECK(call.param("ImageId") == "ami-0def5678def5678de");
        } else {
            CHECK((call.instanceType() == "t3.medium" || call.instanceType() == "g4dn.xlarge"));
            CHECK(call.param("ImageId") == "ami-0123456789abcdef0");
        }
    }
    std::map<std::string, std::string> typeOfPool;
    for (const auto& [id, instance] : d.ec2->instances())
        typeOfPool[instance.tags.at("drone-autoscaler:pool")] = instance.instanceType;
    CHECK(typeOfPool == std::map<std::string, std::string>{{"amd64", "t3.medium"},
                                                           {"arm64", "t4g.medium"},
                                                           {"gpu", "g4dn.xlarge"}});

    // /api/servers shows each server's pool; the names carry it.
    for (const auto& s : d.servers()) {
        CHECK(!s.pool.empty());
        CHECK(s.name.starts_with(s.pool + "-"));
    }
    // The plan: one object per pool and the windows stage unroutable.
    const auto plan = d.api("GET", "/api/plan");
    REQUIRE(plan);
    CHECK(plan->body.find("\"pools\":[") != std::string::npos);
    CHECK(plan->body.find("\"unroutable\":1") != std::string::npos);
    CHECK(plan->body.find("\"os\":\"windows\"") != std::string::npos);
    const auto one = d.api("GET", "/api/plan?pool=arm64");
    REQUIRE(one);
    const auto arm = parsePlanJson(one->body);
    REQUIRE(arm);
    CHECK(arm->pool == "arm64");
    CHECK(arm->pending + arm->running == 3);
    CHECK(d.status("GET", "/api/plan?pool=nope", test::FakeDrone::kAdminToken) == 404);
    // Metrics: per-pool series and the unroutable gauge.
    // The gauges are counted at the end of a cycle: wait for one.
    CHECK(test::waitFor(
            [&] {
                const auto m = d.api("GET", "/metrics", "");
                return m && m->body.find("autoscaler_servers{pool=\"gpu\",state=\"running\"} 1") !=
                                    std::string::npos;
            },
            10s));
    const auto metrics = d.api("GET", "/metrics", "");
    REQUIRE(metrics);
    CHECK(metrics->body.find("autoscaler_unroutable_stages 1") != std::string::npos);
    CHECK(metrics->body.find("autoscaler_pending_stages{pool=\"amd64\"}") != std::string::npos);
    CHECK(metrics->body.find("autoscaler_ec2_calls_total{pool=\"arm64\",action=\"RunInstances\"") !=
          std::string::npos);
    // A server asked for a full pool is refused; an unknown pool is 404.
    CHECK(d.status("POST", "/api/servers?pool=gpu", test::FakeDrone::kAdminToken) == 409);
    CHECK(d.status("POST", "/api/servers?pool=nope", test::FakeDrone::kAdminToken) == 404);
    // The log warns once about the windows stage.
    CHECK(daemon->output().find("no pool serves this stage") != std::string::npos);

    watching = false;
    watcher.join();
    MESSAGE("most live at once: " << maxLive.load());
    CHECK(maxLive <= 5);
    CHECK_FALSE(poolOver.load());
    daemon->signal(SIGTERM);
    CHECK(daemon->wait(40s) == 0);
}

TEST_CASE("kill -9 at random moments across 8 restarts with two pools busy: no pool above its "
          "max, the fleet never above its max, no orphan") {
    test::SilentListener silent; // Instances that never finish installing: all stay live.
    Daemon d(0, {"127.0.0.1:" + std::to_string(silent.port())});
    std::ofstream(d.dir.file("pools.yml")) << R"(version: 1
max: 5
pools:
  - name: amd64
    platform: {os: linux, arch: amd64}
    min: 0
    max: 3
  - name: arm64
    platform: {os: linux, arch: arm64}
    min: 0
    max: 3
    amazon: {image: ami-0def5678def5678de, instance_types: [t4g.medium]}
)";
    auto env = d.env();
    env["DRONE_POOL_FILE"] = d.dir.file("pools.yml");
    std::vector<Stage> stages;
    for (int i = 0; i < 8; ++i)
        stages.push_back(stageOn(i + 1, "linux", i % 2 == 0 ? "amd64" : "arm64"));
    d.drone.setStages(stages);
    std::atomic<bool> watching{true};
    std::atomic<int> maxLive{0};
    std::atomic<int> maxPool{0};
    std::thread watcher([&] {
        while (watching) {
            int total = 0;
            for (const auto& [pool, n] : livePerPool(*d.ec2)) {
                total += n;
                maxPool = std::max(maxPool.load(), n);
            }
            maxLive = std::max(maxLive.load(), total);
            std::this_thread::sleep_for(5ms); // Sampling the fake's table.
        }
    });
    std::mt19937 rng(2213);
    for (int restart = 0; restart < 8; ++restart) {
        auto daemon = d.start(env, "pools" + std::to_string(restart) + ".log");
        std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 1500));
        daemon->signal(SIGKILL);
        daemon->wait(10s);
    }
    auto last = d.start(env, "pools-last.log");
    const auto known = [&d] {
        return everyLiveInstanceKnown(d);
    };
    CHECK_MESSAGE(test::waitFor(known, 30s), last->output());
    // Both pools got servers.
    const auto live = livePerPool(*d.ec2);
    CHECK(live.contains("amd64"));
    CHECK(live.contains("arm64"));
    watching = false;
    watcher.join();
    MESSAGE("RunInstances calls: " << d.ec2->calls("RunInstances").size() << ", most live at once: "
                                   << maxLive.load() << ", most in one pool: " << maxPool.load());
    CHECK(maxLive <= 5);
    CHECK(maxPool <= 3);
    last->signal(SIGTERM);
    CHECK(last->wait(40s) == 0);
}

} // namespace
} // namespace autoscale
