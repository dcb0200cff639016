// SPDX-License-Identifier: Apache-2.0
// The planner's two policies, table-driven, with boundaries at one second
// before and exactly at IDLE_TIMEOUT and MIN_AGE.

#include <doctest/doctest.h>

#include <autoscale/planner.h>

#include "doctest_support.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

const WallTime kNow = WallTime{std::chrono::seconds{1'800'000'000}};

Stage stage(const char* status, const char* machine = "", const char* arch = "amd64") {
    return Stage{.status = status, .machine = machine, .os = "linux", .arch = arch};
}

std::vector<Stage> stages(int pending, int running = 0) {
    std::vector<Stage> out;
    for (int i = 0; i < pending; ++i)
        out.push_back(stage("pending"));
    for (int i = 0; i < running; ++i)
        out.push_back(stage("running"));
    return out;
}

Server server(const std::string& name, ServerState state, std::chrono::seconds age = 2h,
              std::chrono::seconds idle = 2h) {
    return Server{.name = name,
                  .state = state,
                  .capacity = 2,
                  .created = kNow - age,
                  .started = kNow - age + 1min,
                  .lastBusy = kNow - idle};
}

PoolSettings pool(int min, int max, Policy policy = Policy::Default) {
    return PoolSettings{.min = min, .max = max, .concurrency = 2, .policy = policy};
}

Plan run(PoolSettings p, std::vector<Server> servers, std::vector<Stage> queue) {
    return plan(PlanInput{.pool = std::move(p),
                          .servers = std::move(servers),
                          .stages = std::move(queue),
                          .now = kNow});
}

TEST_CASE("default: acceptance figures of the foundation issue") {
    std::vector<Stage> queue = stages(5);
    queue.push_back(stage("pending", "", "arm64"));
    queue.push_back(stage("pending", "", "arm64"));
    Stage gpu = stage("pending");
    gpu.labels = {{"gpu", "yes"}};
    queue.push_back(gpu);
    const Plan p = run(pool(0, 4), {}, queue);
    CHECK(p.pending == 5);
    CHECK(p.create == 3);
    CHECK(run(pool(0, 4), {}, stages(9)).create == 4);
}

TEST_CASE("default: the minimum is created at start with nothing queued") {
    const Plan p = run(pool(2, 4), {}, {});
    CHECK(p.create == 2);
    REQUIRE(p.reasons.size() == 1);
    CHECK(p.reasons[0].starts_with("create 2: "));
}

TEST_CASE("default: the buffer creates capacity with nothing pending") {
    PoolSettings p = pool(0, 4);
    p.buffer = 3;
    CHECK(run(p, {}, {}).create == 2);
    CHECK(run(p, {server("a", ServerState::Running)}, stages(0, 1)).create == 1);
}

TEST_CASE("default: error and draining servers are not capacity but count against MAX") {
    const std::vector<Server> servers = {server("e1", ServerState::Error),
                                         server("d1", ServerState::Draining)};
    const Plan p = run(pool(0, 4), servers, stages(8));
    CHECK(p.servers == 0);
    CHECK(p.capacity == 0);
    CHECK(p.live == 2);
    CHECK(p.wanted == 4);
    CHECK(p.create == 2);
    CHECK(p.reasons[0].find("only 2 more fit under DRONE_POOL_MAX=4") != std::string::npos);
}

TEST_CASE("default: MAX reached creates nothing") {
    std::vector<Server> servers;
    for (int i = 0; i < 4; ++i)
        servers.push_back(server("s" + std::to_string(i), ServerState::Running));
    const Plan p = run(pool(0, 4), servers, stages(20, 8));
    CHECK(p.create == 0);
    CHECK(p.drain.empty());
}

TEST_CASE("default: servers being created count as capacity") {
    const std::vector<Server> servers = {
            server("a", ServerState::Pending), server("b", ServerState::Creating),
            server("c", ServerState::Booting), server("d", ServerState::Installing)};
    const Plan p = run(pool(0, 8), servers, stages(8));
    CHECK(p.capacity == 8);
    CHECK(p.create == 0);
}

TEST_CASE("default: IDLE_TIMEOUT boundary, one second before and at") {
    PoolSettings p = pool(0, 4);
    p.idleTimeout = 10min;
    CHECK(run(p, {server("a", ServerState::Running, 2h, 10min - 1s)}, {}).drain.empty());
    const Plan at = run(p, {server("a", ServerState::Running, 2h, 10min)}, {});
    REQUIRE(at.drain.size() == 1);
    CHECK(at.drain[0] == "a");
    CHECK(at.reasons[0].starts_with("drain a: idle for 10m0s"));
}

TEST_CASE("default: MIN_AGE boundary, one second before and at") {
    PoolSettings p = pool(0, 4);
    p.minAge = 55min;
    p.idleTimeout = 0s;
    CHECK(run(p, {server("a", ServerState::Running, 55min - 1s, 55min - 1s)}, {}).drain.empty());
    CHECK(run(p, {server("a", ServerState::Running, 55min, 55min)}, {}).drain.size() == 1);
}

TEST_CASE("default: never drains a server a pending or running stage names") {
    PoolSettings p = pool(0, 4);
    p.idleTimeout = 0s;
    const std::vector<Server> servers = {server("busy-run", ServerState::Running),
                                         server("busy-pend", ServerState::Running),
                                         server("idle", ServerState::Running)};
    // 1 running on busy-run, 1 accepted but still pending on busy-pend: want 1 server.
    const Plan plan1 =
            run(p, servers, {stage("running", "busy-run"), stage("pending", "busy-pend")});
    CHECK(plan1.wanted == 1);
    CHECK(plan1.drain == std::vector<std::string>{"idle"});
    CHECK(plan1.reasons.back().find("2 busy") != std::string::npos);
}

TEST_CASE("default: drains the servers idle longest first, never below MIN") {
    PoolSettings p = pool(1, 4);
    const std::vector<Server> servers = {server("a", ServerState::Running, 3h, 20min),
                                         server("b", ServerState::Running, 3h, 2h),
                                         server("c", ServerState::Running, 3h, 1h)};
    const Plan out = run(p, servers, {});
    CHECK(out.wanted == 1);
    CHECK(out.drain == std::vector<std::string>{"b", "c"});
}

TEST_CASE("default: only running servers are drained") {
    PoolSettings p = pool(0, 4);
    p.idleTimeout = 0s;
    const Plan out = run(p, {server("boot", ServerState::Booting)}, {});
    CHECK(out.drain.empty());
}

TEST_CASE("default: stages of other pools are ignored") {
    const Plan out = run(pool(0, 4), {}, {stage("pending", "", "arm64"), stage("killed")});
    CHECK(out.pending == 0);
    CHECK(out.create == 0);
}

Plan runWith(PoolSettings p, std::vector<Server> servers, std::vector<Stage> queue,
             PlanHistory history) {
    return plan(PlanInput{.pool = std::move(p),
                          .servers = std::move(servers),
                          .stages = std::move(queue),
                          .now = kNow,
                          .history = history});
}

TEST_CASE("default: with a burst reserve, idle servers beyond demand plus reserve go at once") {
    // 4 running servers, one stage on "a"; "b", "c", "d" idle for 1 to 3 min,
    // far below IDLE_TIMEOUT (10 m).
    const std::vector<Server> servers = {server("a", ServerState::Running, 3h, 0s),
                                         server("b", ServerState::Running, 3h, 3min),
                                         server("c", ServerState::Running, 3h, 1min),
                                         server("d", ServerState::Running, 3h, 2min)};
    const std::vector<Stage> queue = {stage("running", "a")};
    // No history (a one-shot plan): only the idle timeout drains.
    CHECK(run(pool(0, 8), servers, queue).drain.empty());
    // Reserve 0: 1 slot in use -> keep 1 server; the three idle ones go, idle longest first.
    Plan out = runWith(pool(0, 8), servers, queue, {.burstReserve = 0});
    CHECK(out.drain == std::vector<std::string>{"b", "d", "c"});
    CHECK(out.reasons[0].find("beyond demand plus burst reserve") != std::string::npos);
    // Reserve 3: 1 + 3 = 4 slots -> keep 2 servers; two go.
    out = runWith(pool(0, 8), servers, queue, {.burstReserve = 3});
    CHECK(out.drain == std::vector<std::string>{"b", "d"});
    CHECK(out.reasons.back().find("1 idle kept for the burst reserve of 3 slots") !=
          std::string::npos);
    // Reserve 7: 8 slots -> keep all 4.
    CHECK(runWith(pool(0, 8), servers, queue, {.burstReserve = 7}).drain.empty());
    // MIN still holds: keep 3.
    CHECK(runWith(pool(3, 8), servers, queue, {.burstReserve = 0}).drain ==
          std::vector<std::string>{"b"});
    // MIN_AGE still holds.
    PoolSettings young = pool(0, 8);
    young.minAge = 4h;
    CHECK(runWith(young, servers, queue, {.burstReserve = 0}).drain.empty());
}

TEST_CASE("default: the reserve keeps a server, the idle timeout still drains it") {
    const std::vector<Server> servers = {server("a", ServerState::Running, 3h, 10min),
                                         server("b", ServerState::Running, 3h, 1min)};
    const Plan out = runWith(pool(0, 8), servers, {}, {.burstReserve = 4});
    CHECK(out.drain == std::vector<std::string>{"a"}); // Idle for IDLE_TIMEOUT.
}

TEST_CASE("default: one stage younger than LAUNCH_DELAY waits for a running stage; more launch") {
    const std::vector<Server> servers = {server("a", ServerState::Running, 3h, 0s)};
    std::vector<Stage> queue = {stage("running", "a"), stage("running", "a"), stage("pending")};
    // One young waiting stage, two running: no launch yet.
    Plan out = runWith(pool(1, 8), servers, queue, {.youngPending = 1});
    CHECK(out.create == 0);
    CHECK(out.pending == 1);
    CHECK(out.reasons[0].find("create none yet") != std::string::npos);
    CHECK(out.reasons[0].find("waited less than DRONE_POOL_LAUNCH_DELAY=30s") != std::string::npos);
    // Waited long enough: launches.
    CHECK(runWith(pool(1, 8), servers, queue, {.youngPending = 0}).create == 1);
    // Two young waiting stages, four running on two full servers: one waits,
    // the other launches (a burst is not left to wait on completions).
    const std::vector<Server> full = {server("a", ServerState::Running, 3h, 0s),
                                      server("b", ServerState::Running, 3h, 0s)};
    const std::vector<Stage> burst = {stage("running", "a"), stage("running", "a"),
                                      stage("running", "b"), stage("running", "b"),
                                      stage("pending"),      stage("pending")};
    CHECK(runWith(pool(1, 8), full, burst, {.youngPending = 2}).create == 1);
    CHECK(runWith(pool(1, 8), full, burst, {.youngPending = 1}).create == 1);
    CHECK(runWith(pool(1, 8), full, burst, {.youngPending = 0}).create == 1);
    // Nothing running: nothing will free a slot, so young stages launch at once.
    CHECK(runWith(pool(0, 8), {}, stages(3), {.youngPending = 3}).create == 2);
    // Classic ignores the history.
    CHECK(runWith(pool(0, 8, Policy::Classic), {}, stages(3), {.youngPending = 3}).create == 2);
}

// drone/autoscaler's arithmetic (reference §2.4), quirks included.

TEST_CASE("classic: worked example, scale up") {
    const std::vector<Server> servers = {server("a", ServerState::Running),
                                         server("b", ServerState::Running)};
    const Plan p = run(pool(2, 4, Policy::Classic), servers, stages(4, 3));
    CHECK(p.capacity == 4);
    CHECK(p.create == 2);
}

TEST_CASE("classic: worked example, scale down newest first") {
    std::vector<Server> servers;
    for (int i = 0; i < 4; ++i)
        servers.push_back(
                server("s" + std::to_string(i), ServerState::Running, std::chrono::hours{4 - i}));
    servers[0].name = "oldest";
    const Plan p = run(pool(2, 4, Policy::Classic), servers, {stage("running", "oldest")});
    // free = 8 - 1 = 7; diff = ceil(-7/2) = -3; serverFloor(4, 3, 2) = 2.
    CHECK(p.drain == std::vector<std::string>{"s3", "s2"});
}

TEST_CASE("classic: no pre-provisioning to MIN") {
    CHECK(run(pool(2, 4, Policy::Classic), {}, {}).create == 0);
}

TEST_CASE("classic: the buffer only reduces free slots (PR #94)") {
    PoolSettings p = pool(0, 4, Policy::Classic);
    p.concurrency = 1;
    p.buffer = 1;
    Server one = server("a", ServerState::Running);
    one.capacity = 1;
    const Plan out = run(p, {one}, stages(0, 1));
    CHECK(out.create == 0);
    CHECK(out.drain.empty());
}

TEST_CASE("classic: error servers count as capacity and starve the queue") {
    std::vector<Server> servers;
    for (int i = 0; i < 4; ++i)
        servers.push_back(server("e" + std::to_string(i), ServerState::Error));
    const Plan p = run(pool(0, 4, Policy::Classic), servers, stages(3));
    CHECK(p.capacity == 8);
    CHECK(p.create == 0);
    // Our policy would replace them as soon as they are terminated.
    CHECK(run(pool(0, 4), servers, stages(3)).capacity == 0);
}

TEST_CASE("classic: creation is capped at MAX") {
    const Plan p =
            run(pool(0, 4, Policy::Classic), {server("a", ServerState::Running)}, stages(20));
    CHECK(p.create == 3);
}

TEST_CASE("classic: scale-down is all-or-nothing against MIN") {
    // 3 servers, only 2 running; diff = ceil(-6/2) = -3; serverFloor(3, 3, 1) = 2;
    // 2 running - 2 < 1: abort.
    const std::vector<Server> servers = {server("a", ServerState::Running),
                                         server("b", ServerState::Running),
                                         server("c", ServerState::Booting)};
    const Plan p = run(pool(1, 4, Policy::Classic), servers, {});
    CHECK(p.drain.empty());
    CHECK(p.reasons[0].find("below min") != std::string::npos);
}

TEST_CASE("classic: MIN_AGE boundary from creation time") {
    PoolSettings p = pool(0, 4, Policy::Classic);
    p.minAge = 55min;
    CHECK(run(p, {server("a", ServerState::Running, 55min - 1s)}, {}).drain.empty());
    CHECK(run(p, {server("a", ServerState::Running, 55min)}, {}).drain.size() == 1);
}

TEST_CASE("classic: busy servers are skipped, pending machine included (PR #133)") {
    const std::vector<Server> servers = {server("a", ServerState::Running, 3h),
                                         server("b", ServerState::Running, 2h)};
    const Plan p = run(pool(0, 4, Policy::Classic), servers, {stage("pending", "b")});
    // free = 4; diff = ceil((1 - 4)/2) = ceil(-1.5) = -1; drain 1: b is newest but busy.
    CHECK(p.drain == std::vector<std::string>{"a"});
}

TEST_CASE("isBusy looks only at pending and running stages") {
    const Server s = server("x", ServerState::Running);
    CHECK(isBusy(s, {stage("running", "x")}));
    CHECK(isBusy(s, {stage("pending", "x")}));
    CHECK_FALSE(isBusy(s, {stage("success", "x")}));
    CHECK_FALSE(isBusy(s, {stage("running", "y")}));
}

} // namespace
} // namespace autoscale
