// SPDX-License-Identifier: Apache-2.0
/// \file
/// The engine's helper classes on their own: the cloud classifier and orphan
/// marks, creation back-off, busy servers, stage watching, runner health and
/// the executors. Frozen clock; the thread pool is waited on with deadlines.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "doctest_support.h"
#include "engine/busy_tracker.h"
#include "engine/cloud_sweep.h"
#include "engine/creation_backoff.h"
#include "engine/executor.h"
#include "engine/runner_health.h"
#include "engine/stage_watch.h"
#include "fake_clock.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

Server row(const std::string& name, ServerState state, const std::string& instanceId,
           WallTime created = WallTime{}) {
    Server s;
    s.name = name;
    s.state = state; // Test data.
    s.instanceId = instanceId;
    s.created = created;
    return s;
}

Instance instance(const std::string& id, const std::string& serverName,
                  InstanceState state = InstanceState::Running) {
    return Instance{.id = id, .serverName = serverName, .state = state};
}

std::vector<std::string> ids(const std::vector<Instance>& instances) {
    std::vector<std::string> out;
    for (const auto& i : instances)
        out.push_back(i.id);
    return out;
}

Stage stage(std::int64_t id, const std::string& status, const std::string& machine = "") {
    return Stage{.id = id, .status = status, .machine = machine};
}

// ---- cloud classifier -------------------------------------------------------

TEST_CASE("classifyCloud: a live row claims its instance by id, else by name") {
    const WallTime now{std::chrono::hours{1000}};
    const std::vector<Server> rows{
            row("agent-a", ServerState::Running, "i-a", now - 1h),
            row("agent-b", ServerState::Creating, ""),                // Claims by name only.
            row("agent-c", ServerState::Terminated, "i-c", now - 1h), // Claims nothing.
    };
    const std::vector<Instance> cloud{
            instance("i-a", "agent-a"),
            instance("i-b", "agent-b"),
            instance("i-c", "agent-c"),
            instance("i-x", "agent-x"),
            instance("i-y", "agent-y", InstanceState::ShuttingDown),
            instance("i-z", "agent-z", InstanceState::Terminated),
            instance("i-s", "", InstanceState::Stopped),
    };
    const CloudFindings found = classifyCloud(rows, cloud, now, 2min);
    CHECK(ids(found.unknown) == std::vector<std::string>{"i-c", "i-x", "i-y", "i-s"});
    CHECK(found.vanished.empty());
    CHECK(found.adoptable == std::vector<Adoptable>{{.server = "agent-b", .instanceId = "i-b"}});
}

TEST_CASE("classifyCloud: an id held by a terminated row is unknown even if the name is live") {
    const std::vector<Server> rows{row("agent-old", ServerState::Terminated, "i-1"),
                                   row("agent-new", ServerState::Running, "i-2")};
    const CloudFindings found =
            classifyCloud(rows, std::vector{instance("i-1", "agent-new")}, WallTime{}, 0ms);
    CHECK(ids(found.unknown) == std::vector<std::string>{"i-1"});
}

TEST_CASE("classifyCloud: vanished means booting..draining, instance gone or going, past "
          "the grace") {
    const WallTime now{std::chrono::hours{1000}};
    const std::vector<Server> rows{
            row("booting", ServerState::Booting, "i-1", now - 2min),
            row("installing", ServerState::Installing, "i-2", now - 2min),
            row("running", ServerState::Running, "i-3", now - 2min),
            row("draining", ServerState::Draining, "i-4", now - 2min),
            row("young", ServerState::Running, "i-5", now - 2min + 1ms), // Within the grace.
            row("terminating", ServerState::Terminating, "i-6", now - 1h),
            row("error", ServerState::Error, "i-7", now - 1h),
            row("shutting", ServerState::Running, "i-8", now - 1h),
            row("stopped", ServerState::Running, "i-9", now - 1h),
            row("present", ServerState::Running, "i-10", now - 1h),
    };
    const std::vector<Instance> cloud{instance("i-8", "shutting", InstanceState::ShuttingDown),
                                      instance("i-9", "stopped", InstanceState::Stopped),
                                      instance("i-10", "present")};
    const CloudFindings found = classifyCloud(rows, cloud, now, 2min);
    CHECK(found.vanished ==
          std::vector<std::string>{"booting", "installing", "running", "draining", "shutting"});
    CHECK(found.unknown.empty());
}

TEST_CASE("classifyCloud: adoptable are creating rows and error rows with a client token") {
    Server creating = row("agent-1", ServerState::Creating, "");
    Server errorWithToken = row("agent-2", ServerState::Error, "");
    errorWithToken.clientToken = "tok";
    const Server errorWithoutToken = row("agent-3", ServerState::Error, "");
    const Server withId = row("agent-4", ServerState::Creating, "i-4");
    const std::vector<Server> rows{creating, errorWithToken, errorWithoutToken, withId};
    const std::vector<Instance> cloud{instance("i-1", "agent-1", InstanceState::Pending),
                                      instance("i-2", "agent-2"), instance("i-3", "agent-3"),
                                      instance("i-4", "agent-4")};
    const CloudFindings found = classifyCloud(rows, cloud, WallTime{}, 0ms);
    CHECK(found.adoptable == std::vector<Adoptable>{{.server = "agent-1", .instanceId = "i-1"},
                                                    {.server = "agent-2", .instanceId = "i-2"}});
    CHECK(instanceTaggedFor("agent-3", cloud)->id == "i-3");
    CHECK(instanceTaggedFor("agent-9", cloud) == nullptr);
    CHECK(instanceTaggedFor("agent-1",
                            std::vector{instance("i-1", "agent-1", InstanceState::Terminated)}) ==
          nullptr);
}

TEST_CASE("orphan marks: terminated at the second sighting, kept when termination fails") {
    OrphanMarks marks;
    auto v = marks.next(std::vector{instance("i-1", ""), instance("i-2", "")});
    CHECK(v.terminate.empty());
    CHECK(v.marked == std::vector<std::string>{"i-1", "i-2"});
    // i-2 was claimed meanwhile; i-3 is new.
    v = marks.next(std::vector{instance("i-1", ""), instance("i-3", "")});
    CHECK(v.terminate == std::vector<std::string>{"i-1"});
    CHECK(v.marked == std::vector<std::string>{"i-3"});
    marks.keep(v.terminate); // TerminateInstances failed.
    v = marks.next(std::vector{instance("i-1", ""), instance("i-2", ""), instance("i-3", "")});
    CHECK(v.terminate == std::vector<std::string>{"i-1", "i-3"});
    CHECK(v.marked == std::vector<std::string>{"i-2"});
}

// ---- creation back-off ------------------------------------------------------

TEST_CASE("creation back-off doubles from the initial delay up to the cap, and resets") {
    test::FakeClock clock;
    CreationBackoff backoff(30s, 10min, clock);
    CHECK(backoff.failures() == 0);
    CHECK_FALSE(backoff.remaining());
    CHECK(backoff.failed() == 30s);
    CHECK(backoff.remaining() == 30s);
    clock.advance(30s - 1ns);
    CHECK(backoff.remaining() == 1ns);
    clock.advance(1ns);
    CHECK_FALSE(backoff.remaining());
    CHECK(backoff.failed() == 60s);
    CHECK(backoff.failed() == 120s);
    CHECK(backoff.failed() == 240s);
    CHECK(backoff.failed() == 480s);
    CHECK(backoff.failed() == 10min);
    for (int i = 0; i < 40; ++i)
        (void)backoff.failed(); // The exponent is capped: no overflow.
    CHECK(backoff.failed() == 10min);
    CHECK(backoff.failures() == 47);
    backoff.succeeded();
    CHECK(backoff.failures() == 0);
    CHECK_FALSE(backoff.remaining());
    CHECK(backoff.failed() == 30s);
}

// ---- busy servers -----------------------------------------------------------

TEST_CASE("a server is busy when a pending or running stage names it, nothing else") {
    CHECK(stageNamesServer(stage(1, "running", "a"), "a"));
    CHECK(stageNamesServer(stage(1, "pending", "a"), "a"));
    CHECK_FALSE(stageNamesServer(stage(1, "success", "a"), "a"));
    CHECK_FALSE(stageNamesServer(stage(1, "running", "b"), "a"));
    CHECK_FALSE(stageNamesServer(stage(1, "pending"), ""));
    const std::vector<Stage> stages{stage(1, "running", "a"), stage(2, "pending", "b"),
                                    stage(3, "failure", "c"), stage(4, "pending"),
                                    stage(5, "running", "a")};
    CHECK(busyServerNames(stages) == BusyNames{"a", "b"});
}

// ---- stage watching ---------------------------------------------------------

TEST_CASE("stage watch: young waiting stages, served ones, and the reaction time") {
    StageWatch watch(30s);
    const WallTime t0{std::chrono::hours{1000}};
    const std::vector<Stage> two{stage(1, "pending"), stage(2, "pending"),
                                 stage(3, "pending", "agent-a"), stage(4, "running", "agent-a")};
    CHECK(watch.observe(two, t0) == 2);
    CHECK(watch.observe(two, t0 + 30s - 1ms) == 2);
    std::vector<Stage> three = two;
    three.push_back(stage(5, "pending"));
    CHECK(watch.observe(three, t0 + 30s) == 1); // 1 and 2 waited the whole delay.
    CHECK(watch.observe(three, t0 - 1s) == 0);  // A wall clock gone back: long enough.
    watch.served(2, t0 + 40s);                  // The two oldest get capacity.
    Histogram h = watch.reaction();
    CHECK(h.count == 2);
    CHECK(h.sum == doctest::Approx(80.0));
    watch.served(5, t0 + 50s); // Only stage 5 is left to serve.
    h = watch.reaction();
    CHECK(h.count == 3);
    CHECK(h.sum == doctest::Approx(100.0));
    // A stage that left and came back counts as new.
    CHECK(watch.observe(std::vector{stage(5, "pending")}, t0 + 60s) == 0);
    CHECK(watch.observe(std::vector{stage(1, "pending")}, t0 + 60s) == 1);
}

// ---- runner health ----------------------------------------------------------

TEST_CASE("runner health: the first ping one interval after first sight, failures counted") {
    RunnerHealth health(1min);
    const SteadyTime t0{};
    CHECK_FALSE(health.due("a", t0));
    CHECK_FALSE(health.due("a", t0 + 1min - 1ns));
    CHECK(health.due("a", t0 + 1min));
    CHECK_FALSE(health.due("a", t0 + 1min));
    CHECK(health.failed("a") == 1);
    CHECK(health.failed("a") == 2);
    health.healthy("a");
    CHECK(health.failed("a") == 1);
    health.forget("a");
    CHECK(health.failed("a") == 1);
    CHECK_FALSE(health.due("a", t0 + 10min)); // Forgotten: first sight again.
}

// ---- executors --------------------------------------------------------------

TEST_CASE("the inline executor runs each task at once on the caller's thread") {
    auto executor = makeInlineExecutor();
    std::thread::id ranOn;
    bool stopped = true;
    executor->submit([&](const std::stop_token& stop) {
        ranOn = std::this_thread::get_id();
        stopped = stop.stop_requested();
    });
    CHECK(ranOn == std::this_thread::get_id());
    CHECK_FALSE(stopped);
    executor->stop();
    executor->submit([&](const std::stop_token& stop) { stopped = stop.stop_requested(); });
    CHECK(stopped);
}

TEST_CASE("the thread pool runs every task on its workers, at most that many at once") {
    auto executor = makeThreadPoolExecutor(3);
    InFlight inFlight;
    std::mutex mutex;
    std::condition_variable cv;
    int running = 0;
    int most = 0;
    bool release = false;
    std::atomic<int> done{0};
    for (int i = 0; i < 9; ++i) {
        const std::string name = "agent-" + std::to_string(i);
        REQUIRE(inFlight.begin(name));
        CHECK_FALSE(inFlight.begin(name)); // One task per server.
        executor->submit([&, name](const std::stop_token&) {
            {
                std::unique_lock lock(mutex);
                most = std::max(most, ++running);
                cv.notify_all();
                cv.wait_for(lock, 10s, [&] { return release || running == 3; });
                --running;
            }
            ++done;
            inFlight.end(name);
        });
    }
    {
        std::unique_lock lock(mutex);
        CHECK(cv.wait_for(lock, 10s, [&] { return most == 3; }));
        release = true;
        cv.notify_all();
    }
    CHECK(inFlight.waitIdleFor(10s));
    CHECK(done == 9);
    CHECK(most == 3);
    CHECK_FALSE(inFlight.contains("agent-0"));
}

TEST_CASE("stopping the thread pool asks a running task to stop and joins it") {
    auto executor = makeThreadPoolExecutor(1);
    std::mutex mutex;
    std::condition_variable_any cv;
    bool started = false;
    std::atomic<bool> sawStop{false};
    executor->submit([&](const std::stop_token& stop) {
        std::unique_lock lock(mutex);
        started = true;
        cv.notify_all();
        cv.wait_for(lock, stop, 10s, [] { return false; });
        sawStop = stop.stop_requested();
    });
    {
        std::unique_lock lock(mutex);
        REQUIRE(cv.wait_for(lock, 10s, [&] { return started; }));
    }
    executor->stop(); // Joins.
    CHECK(sawStop);
}

} // namespace
} // namespace autoscale
