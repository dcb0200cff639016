// SPDX-License-Identifier: Apache-2.0
/// \file
/// The simulation: trace parsing (errors name their line), the virtual clock,
/// the simulated queue and cloud, hand-computed runs of both policies
/// (waits, percentiles, instance-hours, idle instance-hours). The policy
/// comparisons on whole traces take a minute and live in
/// tests/integration/simulation_traces_test.cpp.

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <doctest/doctest.h>

#include <autoscale/simulation.h>

namespace autoscale {
namespace {

using namespace std::chrono_literals;

TEST_CASE("a trace parses, blank lines skipped, defaults for os, arch and labels") {
    const auto trace = parseTrace("{\"t\": 0, \"duration\": 60}\n"
                                  "\n"
                                  "{\"t\": 1.5, \"duration\": 2, \"os\": \"windows\", \"arch\": "
                                  "\"arm64\", \"labels\": {\"gpu\": \"yes\"}}\r\n");
    REQUIRE(trace);
    REQUIRE(trace->size() == 2);
    CHECK((*trace)[0] == TraceStage{.t = 0, .duration = 60});
    CHECK((*trace)[1].t == 1.5);
    CHECK((*trace)[1].os == "windows");
    CHECK((*trace)[1].arch == "arm64");
    CHECK((*trace)[1].labels.at("gpu") == "yes");
}

TEST_CASE("a malformed trace line is reported with its line number") {
    const auto error = [](std::string_view text) {
        auto r = parseTrace(text);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == Errc::Parse);
        return r.error().message;
    };
    const std::string ok = "{\"t\": 0, \"duration\": 1}\n";
    CHECK(error(ok + ok + "{\"t\": 0, \"duration\": \n").starts_with("line 3: not JSON"));
    CHECK(error(ok + "[1, 2]\n") == "line 2: not a JSON object");
    CHECK(error(ok + "\n{\"duration\": 1}\n") == "line 3: missing \"t\"");
    CHECK(error("{\"t\": \"soon\", \"duration\": 1}") ==
          "line 1: \"t\" is not a number of seconds");
    CHECK(error("{\"t\": 0, \"duration\": -1}")
                  .starts_with("line 1: \"duration\" must be between"));
    CHECK(error("{\"t\": 1e300, \"duration\": 1}").starts_with("line 1: \"t\" must be between"));
    CHECK(error("{\"t\": 7776001, \"duration\": 1}") ==
          "line 1: \"t\" must be between 0 and 7776000 seconds");
    CHECK(error("{\"t\": 0, \"duration\": 604801}") ==
          "line 1: \"duration\" must be between 0 and 604800 seconds");
    CHECK(error(ok + "{\"t\": 0, \"duration\": 1, \"os\": 3}") == "line 2: \"os\" is not a string");
    CHECK(error("{\"t\": 0, \"duration\": 1, \"labels\": []}") ==
          "line 1: \"labels\" is not an object");
    CHECK(error("{\"t\": 0, \"duration\": 1, \"labels\": {\"a\": 1}}") ==
          "line 1: label \"a\" is not a string");
    CHECK(error(std::string("{\"t\": 0,\0 \"duration\": 1}", 24)).starts_with("line 1: not JSON"));
}

TEST_CASE("an unreadable trace file is an I/O error naming the file") {
    auto r = readTraceFile("/nonexistent/trace.jsonl");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Io);
    CHECK(r.error().message.find("/nonexistent/trace.jsonl") != std::string::npos);
}

TEST_CASE("the virtual clock moves only forward, and sleepFor returns at once") {
    SimClock clock;
    CHECK(clock.now() == simulationEpoch());
    CHECK(clock.steadyNow() == SteadyTime{});
    clock.advanceTo(simulationEpoch() + 90s);
    CHECK(clock.elapsedSeconds() == doctest::Approx(90));
    clock.advanceTo(simulationEpoch() + 10s); // Ignored.
    CHECK(clock.now() == simulationEpoch() + 90s);
    CHECK(clock.sleepFor(1h, std::stop_token{}));
    CHECK(clock.steadyNow() == SteadyTime{} + 1h + 90s);
    std::stop_source stop;
    stop.request_stop();
    CHECK_FALSE(clock.sleepFor(1h, stop.get_token()));
    CHECK(clock.steadyNow() == SteadyTime{} + 1h + 90s);
}

PoolSettings linuxPool() {
    return PoolSettings{.min = 0, .max = 2, .concurrency = 1};
}

TEST_CASE("runners take pending stages the way Drone does") {
    SimClock clock;
    SimQueue queue({{.t = 0, .duration = 100},
                    {.t = 0, .duration = 50},
                    {.t = 10, .duration = 10},
                    {.t = 0, .duration = 5, .os = "windows"}},
                   linuxPool(), clock);
    queue.update();
    CHECK(queue.pendingCount() == 3);
    CHECK(queue.nextEvent() == simulationEpoch() + 10s);

    queue.addRunner("agent-a", 2); // Takes the two oldest linux stages at once.
    auto stages = queue.stages().value();
    REQUIRE(stages.size() == 3);
    int running = 0;
    for (const auto& s : stages) {
        if (s.status == "running") {
            ++running;
            CHECK(s.machine == "agent-a");
            CHECK(s.os == "linux");
        } else {
            CHECK(s.os == "windows"); // No runner of this pool takes it.
            CHECK(s.machine.empty());
        }
    }
    CHECK(running == 2);

    clock.advanceTo(simulationEpoch() + 10s);
    queue.update();
    CHECK(queue.pendingCount() == 2); // The t=10 stage waits: both slots are busy.
    CHECK(queue.nextEvent() == simulationEpoch() + 50s);

    clock.advanceTo(simulationEpoch() + 50s);
    queue.update(); // The 50 s stage completes; the waiting one starts at 50 s.
    CHECK(queue.completed() == 1);
    CHECK(queue.runningCount() == 2);

    queue.drainRunner("agent-a");
    clock.advanceTo(simulationEpoch() + 100s);
    queue.update();
    CHECK(queue.completed() == 3);
    CHECK(queue.runningCount() == 0);
    CHECK(queue.finished()); // Only the windows stage is left, and nothing takes it.
    CHECK(queue.pendingCount() == 1);

    auto waits = queue.waits();
    std::sort(waits.begin(), waits.end());
    CHECK(waits == std::vector<double>{0, 0, 40});
    CHECK(queue.busySeconds() == doctest::Approx(100)); // Busy from 0 to 100.
}

TEST_CASE("a draining runner takes nothing; a removed runner's stages run again") {
    SimClock clock;
    SimQueue queue({{.t = 0, .duration = 100}, {.t = 5, .duration = 10}}, linuxPool(), clock);
    queue.update();
    queue.addRunner("agent-a", 1);
    CHECK(queue.runningCount() == 1);
    queue.drainRunner("agent-a");
    clock.advanceTo(simulationEpoch() + 30s);
    queue.update();
    CHECK(queue.pendingCount() == 1);
    queue.removeRunner("agent-a"); // Terminated under a running stage.
    CHECK(queue.restarted() == 1);
    CHECK(queue.pendingCount() == 2);
    CHECK(queue.busySeconds() == doctest::Approx(30));
    queue.addRunner("agent-b", 1); // Takes the oldest: the cut-short stage.
    const auto stages = queue.stages().value();
    const auto it = std::find_if(stages.begin(), stages.end(),
                                 [](const Stage& s) { return s.status == "running"; });
    REQUIRE(it != stages.end());
    CHECK(it->id == 1);
    CHECK(it->machine == "agent-b");
    clock.advanceTo(simulationEpoch() + 100s);
    queue.update(); // The first run's completion time passes: stale, ignored.
    CHECK(queue.completed() == 0);
    clock.advanceTo(simulationEpoch() + 130s);
    queue.update();
    CHECK(queue.completed() == 1);
}

TEST_CASE("simulated instances boot after their boot time and take their runner with them") {
    SimClock clock;
    SimQueue queue({}, linuxPool(), clock);
    SimProvider cloud({.boot = 60s, .bootJitter = 0ms}, clock, queue);
    auto a = cloud.create({.serverName = "agent-a", .clientToken = "tok-a"});
    REQUIRE(a);
    CHECK(a->state == InstanceState::Pending);
    CHECK(cloud.create({.serverName = "agent-a", .clientToken = "tok-a"})->id == a->id);
    CHECK(cloud.launched() == 1);
    clock.advanceTo(simulationEpoch() + 59s);
    CHECK(cloud.describe(a->id)->state == InstanceState::Pending);
    clock.advanceTo(simulationEpoch() + 60s);
    const auto running = cloud.describe(a->id).value();
    CHECK(running.state == InstanceState::Running);
    CHECK_FALSE(running.publicIp.empty());
    CHECK(cloud.list()->size() == 1);

    SimInstaller installer(queue, 2);
    Server server{.name = "agent-a", .capacity = 0};
    REQUIRE(installer.install(server, std::stop_token{}));
    CHECK(queue.hasRunner("agent-a"));
    CHECK(installer.ping(server));

    auto b = cloud.create({.serverName = "agent-b", .clientToken = "tok-b"});
    REQUIRE(b);
    CHECK(cloud.peak() == 2);
    clock.advanceTo(simulationEpoch() + 600s);
    const std::array ids{a->id, std::string("i-unknown")};
    REQUIRE(cloud.destroy(ids));
    CHECK_FALSE(queue.hasRunner("agent-a"));
    CHECK(installer.ping(server).error().code == Errc::NotFound);
    CHECK(cloud.live() == 1);
    CHECK(cloud.describe(a->id)->state == InstanceState::Terminated);
    CHECK(cloud.describe("i-nope").error().code == Errc::NotFound);
    // a: 0..600 s; b: 60..700 s.
    clock.advanceTo(simulationEpoch() + 700s);
    CHECK(cloud.instanceSeconds() == doctest::Approx(600 + 640));
}

TEST_CASE("boot jitter stays within its bound; capacity failures happen at their rate") {
    SimClock clock;
    SimQueue queue({}, linuxPool(), clock);
    SimProvider cloud({.boot = 60s, .bootJitter = 30s, .capacityFailureRate = 0.5, .seed = 7},
                      clock, queue);
    int ok = 0;
    std::vector<std::string> ids;
    for (int i = 0; i < 400; ++i) {
        auto r = cloud.create(
                {.serverName = "s" + std::to_string(i), .clientToken = "t" + std::to_string(i)});
        if (r) {
            ++ok;
            ids.push_back(r->id);
        } else {
            CHECK(r.error().code == Errc::Capacity);
        }
    }
    CHECK(cloud.capacityFailures() == 400 - ok);
    CHECK(ok > 140);
    CHECK(ok < 260);
    clock.advanceTo(simulationEpoch() + 59s);
    for (const auto& id : ids)
        CHECK(cloud.describe(id)->state == InstanceState::Pending);
    clock.advanceTo(simulationEpoch() + 90s);
    for (const auto& id : ids)
        CHECK(cloud.describe(id)->state == InstanceState::Running);
}

TEST_CASE("percentiles are nearest-rank") {
    CHECK(percentile({}, 0.5) == 0);
    CHECK(percentile({7}, 0.95) == 7);
    CHECK(percentile({270, 70, 170}, 0.5) == 170);
    CHECK(percentile({270, 70, 170}, 0.95) == 270);
    std::vector<double> hundred;
    for (int i = 1; i <= 100; ++i)
        hundred.push_back(i);
    CHECK(percentile(hundred, 0.95) == 95);
    CHECK(percentile(hundred, 0.5) == 50);
    CHECK(percentile(hundred, 0) == 1);
    CHECK(percentile(hundred, 1) == 100);
}

SimulationOptions tinyPool(Policy policy) {
    SimulationOptions o;
    o.pool.min = 0;
    o.pool.max = 1;
    o.pool.concurrency = 1;
    o.pool.policy = policy;
    o.cloud.boot = 60s;
    o.pricePerHour = 3.6; // One cent per instance-second... per 10 s: easy arithmetic.
    return o;
}

TEST_CASE("default policy, one server, three stages: every figure by hand") {
    // t=0: the cycle sees 3 pending, creates one server (MAX 1); it runs at
    // 60 s, the cycle at 60 s moves it to installing, the one at 70 s starts
    // the runner. Stages start at 70, 170, 270 and end at 370.
    const std::vector<TraceStage> trace{
            {.t = 0, .duration = 100}, {.t = 0, .duration = 100}, {.t = 0, .duration = 100}};
    const auto r = runSimulation(trace, tinyPool(Policy::Default)).value();
    CHECK(r.builds == 3);
    CHECK(r.notRun == 0);
    CHECK(r.waitP50 == doctest::Approx(170));
    CHECK(r.waitP95 == doctest::Approx(270));
    CHECK(r.waitMax == doctest::Approx(270));
    CHECK(r.instanceHours * 3600 == doctest::Approx(370));    // Launched at 0, counted to 370.
    CHECK(r.idleInstanceHours * 3600 == doctest::Approx(70)); // Booting and installing.
    CHECK(r.costUsd == doctest::Approx(370 * 3.6 / 3600));
    CHECK(r.peakServers == 1);
    CHECK(r.serversLaunched == 1);
    CHECK(r.simulatedSeconds == doctest::Approx(370));
}

TEST_CASE("classic policy with drone/autoscaler's timings: every figure by hand") {
    // Plans at 300 s (one interval after start), 600 s, ... The 300 s plan
    // inserts a pending row; the 10 s allocator loop creates it at 310 s; it
    // runs at 370 s, installs at 380 s: stage 1 waits 380 s and ends at 980 s.
    // Min age 55 m counts from the row (300 s): the 3600 s plan drains and
    // terminates it. Stage 2 arrives at 4000 s, the 4200 s plan asks for a
    // server, created at 4210 s, running at 4270 s, installed at 4280 s:
    // it waits 280 s and ends at 4380 s.
    const std::vector<TraceStage> trace{{.t = 0, .duration = 600}, {.t = 4000, .duration = 100}};
    const auto r = runSimulation(trace, withClassicTimings(tinyPool(Policy::Classic))).value();
    CHECK(r.policy == Policy::Classic);
    CHECK(r.builds == 2);
    CHECK(r.waitP50 == doctest::Approx(280));
    CHECK(r.waitP95 == doctest::Approx(380));
    CHECK(r.waitMax == doctest::Approx(380));
    CHECK(r.serversLaunched == 2);
    CHECK(r.instanceHours * 3600 == doctest::Approx((3600 - 310) + (4380 - 4210)));
    CHECK(r.idleInstanceHours * 3600 == doctest::Approx((3600 - 310) + (4380 - 4210) - 700));
    CHECK(r.peakServers == 1);
}

TEST_CASE("when no server ever comes up, the run gives up after the drain limit") {
    // Every create fails (capacity): the engine marks the row error, backs
    // off and reaps it, again and again. Nothing runs; nothing is billed.
    auto o = withClassicTimings(tinyPool(Policy::Classic));
    o.cloud.capacityFailureRate = 0.999999;
    o.drainLimit = 2h;
    const auto r = runSimulation({{.t = 0, .duration = 10}}, o).value();
    CHECK(r.builds == 0);
    CHECK(r.notRun == 1);
    CHECK(r.serversLaunched == 0);
    CHECK(r.instanceHours == 0);
    CHECK(r.simulatedSeconds == doctest::Approx(2 * 3600));
}

TEST_CASE("from a cold start the default policy pre-provisions MIN; classic does not") {
    auto d = tinyPool(Policy::Default);
    d.pool.min = 1;
    d.pool.max = 2;
    d.warmStart = false;
    const std::vector<TraceStage> trace{{.t = 600, .duration = 60}};
    const auto r = runSimulation(trace, d).value();
    CHECK(r.waitMax == 0); // The MIN server was up long before.
    CHECK(r.instanceHours * 3600 == doctest::Approx(660));
    CHECK(r.idleInstanceHours * 3600 == doctest::Approx(600));
    const auto c = runSimulation(trace, withClassicTimings(d)).value();
    // Arrives at 600 s: plan at 600 s (pending seen), create at 610 s, runs at 670, installs at
    // 680.
    CHECK(c.waitMax == doctest::Approx(80));
    CHECK(c.instanceHours * 3600 == doctest::Approx(740 - 610));
}

TEST_CASE("a warm start launches MIN servers at the start under both policies") {
    auto d = tinyPool(Policy::Default);
    d.pool.min = 1;
    d.pool.max = 2;
    const std::vector<TraceStage> trace{{.t = 600, .duration = 60}};
    const auto c = runSimulation(trace, withClassicTimings(d)).value();
    CHECK(c.waitMax == 0);                                 // The MIN server was up long before.
    CHECK(c.serversLaunched == 1);                         // Classic creates nothing more...
    CHECK(c.instanceHours * 3600 == doctest::Approx(660)); // ...and drains nothing below MIN.
    const auto r = runSimulation(trace, d).value();
    CHECK(r.instanceHours == doctest::Approx(c.instanceHours));
}

TEST_CASE("impossible options are refused") {
    auto o = tinyPool(Policy::Default);
    o.interval = 0ms;
    CHECK(runSimulation({}, o).error().code == Errc::InvalidArgument);
    o = tinyPool(Policy::Default);
    o.cloud.capacityFailureRate = 1;
    CHECK(runSimulation({}, o).error().code == Errc::InvalidArgument);
    o = tinyPool(Policy::Default);
    o.pool.concurrency = 0;
    CHECK(runSimulation({}, o).error().code == Errc::InvalidArgument);
}

TEST_CASE("a run repeats exactly") {
    std::vector<TraceStage> trace;
    for (int i = 0; i < 200; ++i)
        trace.push_back({.t = i * 37.0, .duration = 300 + i % 7 * 60.0});
    SimulationOptions o;
    o.pool.max = 6;
    const auto a = runSimulation(trace, o).value();
    const auto b = runSimulation(trace, o).value();
    CHECK(a.builds == 200);
    CHECK(a.instanceHours == b.instanceHours);
    CHECK(a.idleInstanceHours == b.idleInstanceHours);
    CHECK(a.waitP95 == b.waitP95);
    CHECK(a.serversLaunched == b.serversLaunched);
}

TEST_CASE("the JSON object, the table and the chart") {
    SimulationResult r;
    r.builds = 3;
    r.stages = 3;
    r.waitP50 = 170;
    r.waitP95 = 270;
    r.waitMax = 270;
    r.instanceHours = 0.5;
    r.idleInstanceHours = 0.25;
    r.costUsd = 0.0208;
    r.peakServers = 2;
    r.concurrency = 1;
    r.simulatedSeconds = 7200;
    r.samples = {{.t = 0, .servers = 2, .demand = 0}, {.t = 3600, .servers = 2, .demand = 4}};
    CHECK(simulationJson(r) ==
          "{\"builds\":3,\"wait_p50_s\":170.0,\"wait_p95_s\":270.0,\"wait_max_s\":270.0,"
          "\"instance_hours\":0.500,\"idle_instance_hours\":0.250,\"cost_usd\":0.02,"
          "\"peak_servers\":2}");
    const auto table = formatSimulationTable({{"default", r}, {"classic", r}});
    CHECK(table.find("\nwait p95" + std::string(22, ' ') + "4m30s" + std::string(9, ' ') +
                     "4m30s\n") != std::string::npos);
    CHECK(table.find("stages run") != std::string::npos);
    const auto chart = formatSimulationChart(r);
    std::size_t lines = 0;
    std::size_t start = 0;
    while (start < chart.size()) {
        const auto end = chart.find('\n', start);
        CHECK(end - start <= 80);
        ++lines;
        start = end + 1;
    }
    CHECK(lines == 7); // Title, 4 rows (demand clipped at twice the servers), axis, labels.
    CHECK(chart.find("   4 |") != std::string::npos);
    CHECK(chart.find('!') != std::string::npos); // Demand above the servers in the 2nd hour.
    CHECK(chart.find("o") != std::string::npos); // Idle servers in the first.
}

// ---- pools (a fleet) --------------------------------------------------------

PoolSettings platformPool(std::string name, std::string arch,
                          std::map<std::string, std::string> labels = {}) {
    return PoolSettings{.name = std::move(name),
                        .arch = std::move(arch),
                        .labels = std::move(labels),
                        .min = 0,
                        .max = 1,
                        .concurrency = 1};
}

TEST_CASE("with pools, a runner takes only the stages routed to its pool; others are unroutable") {
    SimClock clock;
    SimQueue queue({{.t = 0, .duration = 10},
                    {.t = 0, .duration = 10, .arch = "arm64"},
                    {.t = 0, .duration = 10, .labels = {{"gpu", "yes"}}},
                    {.t = 0, .duration = 10, .os = "windows"}},
                   std::vector<PoolSettings>{platformPool("amd64", "amd64"),
                                             platformPool("arm64", "arm64"),
                                             platformPool("gpu", "amd64", {{"gpu", "yes"}})},
                   clock);
    queue.update();
    CHECK(queue.routeOf(0) == 0);
    CHECK(queue.routeOf(1) == 1);
    CHECK(queue.routeOf(2) == 2);
    CHECK(queue.routeOf(3) == -1);
    CHECK(queue.unroutableArrived() == 1);
    queue.addRunner("arm-a", 4, 1); // Four free slots, yet only the arm64 stage is its.
    CHECK(queue.runningCount() == 1);
    const auto stages = queue.stages().value();
    for (const auto& st : stages) {
        if (st.status == "running")
            CHECK(st.arch == "arm64");
    }
    queue.addRunner("amd-a", 4, 0);
    queue.addRunner("gpu-a", 1, 2);
    CHECK(queue.runningCount() == 3);
    clock.advanceTo(simulationEpoch() + 10s);
    queue.update();
    CHECK(queue.completed(0) == 1);
    CHECK(queue.completed(1) == 1);
    CHECK(queue.completed(2) == 1);
    CHECK(queue.pendingCount() == 1); // The windows stage, which nobody serves...
    CHECK(queue.finished());          // ...is not waited for.
    CHECK(queue.waits().size() == 3);
    CHECK(queue.waits(1).size() == 1);
    CHECK(queue.busySeconds(1) == doctest::Approx(10));
}

TEST_CASE("a reclaimed spot instance's stages rerun from the start, their wait from the reclaim") {
    SimClock clock;
    // A stage far longer than the instance lives (one reclaim an hour).
    SimQueue queue({{.t = 0, .duration = 1e6}}, linuxPool(), clock);
    // About one reclaim an hour: the first comes at a seeded, exponential time.
    SimProvider cloud({.boot = 0s, .market = "spot", .interruptionsPerHour = 1}, clock, queue);
    const auto a = cloud.create({.serverName = "agent-a", .clientToken = "tok-a"}).value();
    CHECK(a.market == "spot");
    const auto at = cloud.nextReclaim();
    REQUIRE(at.has_value());
    CHECK(*at > simulationEpoch());
    queue.update();
    queue.addRunner("agent-a", 1);
    CHECK(queue.runningCount() == 1);
    clock.advanceTo(*at - 1s);
    CHECK(cloud.reclaimDue() == 0);
    clock.advanceTo(*at);
    queue.update();
    CHECK(queue.completed() == 0);
    CHECK(cloud.reclaimDue() == 1);
    CHECK(cloud.interruptions() == 1);
    CHECK(cloud.live() == 0);
    const auto gone = cloud.describe(a.id).value();
    CHECK(gone.state == InstanceState::Terminated);
    CHECK(gone.stateReason == "Server.SpotInstanceTermination");
    CHECK_FALSE(queue.hasRunner("agent-a"));
    CHECK(queue.rerun() == 1);
    CHECK(queue.restarted() == 1);
    CHECK(queue.pendingCount() == 1);
    const auto reclaimedAt = clock.now();
    clock.advanceTo(reclaimedAt + 30s);
    queue.addRunner("agent-b", 1);
    const auto waits = queue.waits();
    REQUIRE(waits.size() == 1);
    CHECK(waits[0] == doctest::Approx(30)); // From the reclaim, not from t = 0.
    CHECK(cloud.instanceSeconds("spot") ==
          doctest::Approx(std::chrono::duration<double>(*at - simulationEpoch()).count()));
    CHECK(cloud.instanceSeconds("on-demand") == 0);
}

TEST_CASE("reclaim times are seeded: a run repeats; on-demand instances are never reclaimed") {
    const auto firstReclaim = [](std::string market) {
        SimClock clock;
        SimQueue queue({}, linuxPool(), clock);
        SimProvider cloud({.seed = 7, .market = std::move(market), .interruptionsPerHour = 2},
                          clock, queue);
        (void)cloud.create({.serverName = "a", .clientToken = "a"}).value();
        return cloud.nextReclaim();
    };
    REQUIRE(firstReclaim("spot").has_value());
    CHECK(firstReclaim("spot") == firstReclaim("spot"));
    CHECK_FALSE(firstReclaim("on-demand").has_value());
}

TEST_CASE("a spot outage falls back to on-demand, or refuses for capacity without the fallback") {
    SimClock clock;
    SimQueue queue({}, linuxPool(), clock);
    SimProvider fallback({.market = "spot", .spotOutages = {{100, 200}}}, clock, queue);
    SimProvider strict({.market = "spot", .spotFallback = false, .spotOutages = {{100, 200}}},
                       clock, queue);
    CHECK(fallback.create({.serverName = "a", .clientToken = "a"})->market == "spot");
    clock.advanceTo(simulationEpoch() + 100s);
    CHECK(fallback.create({.serverName = "b", .clientToken = "b"})->market == "on-demand");
    CHECK(fallback.create({.serverName = "c", .clientToken = "c", .onDemandAllowed = false})
                  .error()
                  .code == Errc::Capacity);
    const auto refused = strict.create({.serverName = "d", .clientToken = "d"});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::Capacity);
    CHECK(strict.spotRefusals() == 1);
    clock.advanceTo(simulationEpoch() + 200s); // The span is [start, end).
    CHECK(strict.create({.serverName = "e", .clientToken = "e"})->market == "spot");
}

TEST_CASE("a spot run costs its fraction of on-demand; an on-demand run is unchanged") {
    const std::vector<TraceStage> trace{{.t = 0, .duration = 100}, {.t = 0, .duration = 100}};
    SimulationOptions o = tinyPool(Policy::Default);
    const auto onDemand = runSimulation(trace, o).value();
    CHECK_FALSE(onDemand.spot);
    CHECK(onDemand.costUsd == doctest::Approx(onDemand.instanceHours * 3.6));
    CHECK(simulationJson(onDemand).find("interruptions") == std::string::npos);
    o.cloud.market = "spot";
    o.spotPriceFraction = 0.25;
    const auto spot = runSimulation(trace, o).value();
    CHECK(spot.spot);
    CHECK(spot.instanceHours == doctest::Approx(onDemand.instanceHours));
    CHECK(spot.spotInstanceHours == doctest::Approx(spot.instanceHours));
    CHECK(spot.onDemandInstanceHours == 0);
    CHECK(spot.onDemandCostUsd == doctest::Approx(onDemand.costUsd));
    CHECK(spot.costUsd == doctest::Approx(onDemand.costUsd * 0.25));
    CHECK(simulationJson(spot).find("\"interruptions\":0,\"stages_rerun\":0") != std::string::npos);
}

TEST_CASE("in a spot outage the fallback keeps to on_demand_max, as the daemon does") {
    const std::vector<TraceStage> trace{{.t = 0, .duration = 600},
                                        {.t = 0, .duration = 600},
                                        {.t = 0, .duration = 600},
                                        {.t = 0, .duration = 600}};
    SimulationOptions o = tinyPool(Policy::Default);
    o.pool.max = 4;
    o.pool.concurrency = 1;
    o.cloud.market = "spot";
    o.cloud.spotOutages = {{0, 100000}};
    const auto uncapped = runSimulation(trace, o).value();
    CHECK(uncapped.builds == 4);
    CHECK(uncapped.peakServers == 4);
    o.cloud.onDemandMax = 1;
    const auto capped = runSimulation(trace, o).value();
    CHECK(capped.builds == 4); // One after the other, on the one on-demand server.
    CHECK(capped.peakServers == 1);
    CHECK(capped.spotInstanceHours == 0);
    CHECK(capped.waitMax > uncapped.waitMax);
}

TEST_CASE("frequent reclaims: every stage still runs, some rerun, and waits grow") {
    std::vector<TraceStage> trace;
    for (int i = 0; i < 40; ++i)
        trace.push_back({.t = i * 120.0, .duration = 600});
    SimulationOptions o = tinyPool(Policy::Default);
    o.pool.max = 4;
    o.pool.concurrency = 2;
    const auto calm = runSimulation(trace, o).value();
    o.cloud.market = "spot";
    o.cloud.interruptionsPerHour = 3;
    const auto rough = runSimulation(trace, o).value();
    CHECK(rough.builds == 40);
    CHECK(rough.interruptions > 0);
    CHECK(rough.rerun > 0);
    CHECK(rough.rerun <= rough.restarted);
    CHECK(rough.waitMax >= calm.waitMax);
}

std::vector<SimulationOptions> threePools(int maxEach) {
    std::vector<SimulationOptions> pools;
    for (const auto& [name, arch, labels] :
         std::vector<std::tuple<std::string, std::string, std::map<std::string, std::string>>>{
                 {"amd64", "amd64", {}},
                 {"arm64", "arm64", {}},
                 {"gpu", "amd64", {{"gpu", "yes"}}}}) {
        SimulationOptions o;
        o.pool = platformPool(name, arch, labels);
        o.pool.max = maxEach;
        o.cloud.boot = 60s;
        pools.push_back(o);
    }
    return pools;
}

TEST_CASE("a fleet run: each pool serves its stages, unroutable ones are listed, totals add up") {
    const std::vector<TraceStage> trace{{.t = 0, .duration = 100},
                                        {.t = 0, .duration = 100, .arch = "arm64"},
                                        {.t = 0, .duration = 300, .labels = {{"gpu", "yes"}}},
                                        {.t = 50, .duration = 10, .os = "windows"}};
    const auto r = runFleetSimulation(trace, threePools(1), std::nullopt).value();
    REQUIRE(r.pools.size() == 3);
    CHECK(r.pools[0].first == "amd64");
    CHECK(r.pools[2].first == "gpu");
    for (const auto& pool : r.pools) {
        CAPTURE(pool.first);
        const SimulationResult& p = pool.second;
        CHECK(p.stages == 1);
        CHECK(p.builds == 1);
        CHECK(p.serversLaunched == 1);
        // Created at 0, running at 60 s, installed by the cycle at 60 or 70 s.
        CHECK(p.waitMax >= 60);
        CHECK(p.waitMax <= 70);
    }
    CHECK(r.total.stages == 4);
    CHECK(r.total.builds == 3);
    CHECK(r.total.unroutable == 1);
    CHECK(r.total.notRun == 0);
    REQUIRE(r.unroutable.size() == 1);
    CHECK(r.unroutable[0].os == "windows");
    CHECK(r.total.instanceHours ==
          doctest::Approx(r.pools[0].second.instanceHours + r.pools[1].second.instanceHours +
                          r.pools[2].second.instanceHours));
    CHECK(r.total.peakServers == 3);
    // Every instance lives to the end of the run; the gpu one ran 300 s, amd64's 100 s.
    CHECK(r.pools[0].second.idleInstanceHours * 3600 ==
          doctest::Approx(r.pools[2].second.idleInstanceHours * 3600 + 200));
    const std::string json = fleetSimulationJson(r);
    CHECK(json.starts_with("{\"pools\":[{\"name\":\"amd64\",\"builds\":1,"));
    CHECK(json.find("\"total\":{\"builds\":3,") != std::string::npos);
    CHECK(json.find("\"fleet_max\":null") != std::string::npos);
    CHECK(json.find("\"unroutable\":[{\"t\":50.0,\"os\":\"windows\",\"arch\":\"amd64\","
                    "\"labels\":{}}]") != std::string::npos);
}

TEST_CASE("a fleet run never has more live servers than the fleet max, and repeats exactly") {
    std::vector<TraceStage> trace;
    for (int i = 0; i < 12; ++i) {
        trace.push_back({.t = i * 5.0, .duration = 400});
        trace.push_back({.t = i * 5.0, .duration = 400, .arch = "arm64"});
        trace.push_back({.t = i * 5.0, .duration = 400, .labels = {{"gpu", "yes"}}});
    }
    const auto pools = threePools(3);
    const auto free = runFleetSimulation(trace, pools, std::nullopt).value();
    CHECK(free.total.peakServers == 9);
    const auto capped = runFleetSimulation(trace, pools, 4).value();
    CHECK(capped.total.peakServers <= 4);
    CHECK(capped.total.builds == 36);
    for (const auto& pool : capped.pools) {
        CAPTURE(pool.first);
        const SimulationResult& p = pool.second;
        CHECK(p.builds == 12);
        CHECK(p.peakServers >= 1);
    }
    CHECK(capped.total.waitP95 > free.total.waitP95);
    const auto again = runFleetSimulation(trace, pools, 4).value();
    CHECK(fleetSimulationJson(again) == fleetSimulationJson(capped));
}

TEST_CASE("a fleet needs a pool; on-demand prices are known for the example types") {
    CHECK(runFleetSimulation({}, {}, std::nullopt).error().code == Errc::InvalidArgument);
    auto bad = threePools(1);
    bad[1].cloud.market = "reserved";
    CHECK(runFleetSimulation({}, bad, std::nullopt).error().code == Errc::InvalidArgument);
    CHECK(onDemandPricePerHour("t3.medium") == 0.0416);
    CHECK(onDemandPricePerHour("t4g.medium") == 0.0336);
    CHECK(onDemandPricePerHour("g4dn.xlarge") == 0.526);
    CHECK(onDemandPricePerHour("c6i.large").has_value());
    CHECK(onDemandPricePerHour("m6i.large").has_value());
    CHECK(onDemandPricePerHour("t3a.medium").has_value());
    CHECK_FALSE(onDemandPricePerHour("x2iedn.32xlarge").has_value());
}

} // namespace
} // namespace autoscale
