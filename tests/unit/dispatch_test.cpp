// SPDX-License-Identifier: Apache-2.0
// Drone's dispatch rule (harness/harness scheduler/queue/queue.go): which
// stages are demand for our docker runners, and why the others are not.

#include <random>
#include <vector>

#include <doctest/doctest.h>

#include <autoscale/dispatch.h>
#include <autoscale/model.h>
#include <autoscale/planner.h>

#include "doctest_support.h"

namespace autoscale {
namespace {

const PoolSettings kPool{}; // linux/amd64, no variant, kernel or labels.

Stage pending(std::int64_t id) {
    return Stage{.id = id, .status = "pending", .os = "linux", .arch = "amd64"};
}

/// A stage of repo 7 named "test" with `concurrency: limit`.
Stage limited(std::int64_t id, const char* status, int limit) {
    Stage s = pending(id);
    s.status = status;
    s.repoId = 7;
    s.name = "test";
    s.limit = limit;
    return s;
}

std::vector<Dispatch> verdicts(const std::vector<Stage>& queue, const PoolSettings& pool = kPool) {
    return classifyQueue(queue, pool);
}

TEST_CASE("kind and type must be pipeline/docker, empty meaning exactly that") {
    Stage s = pending(1);
    CHECK(runnerMatch(s, kPool) == Dispatch::Given);
    s.kind = "pipeline";
    s.type = "docker";
    CHECK(runnerMatch(s, kPool) == Dispatch::Given);
    for (const char* type : {"exec", "kubernetes", "ssh", "digitalocean", "vm"}) {
        CAPTURE(type);
        s.type = type;
        CHECK(runnerMatch(s, kPool) == Dispatch::Kind);
    }
    s.type = "";
    s.kind = "secret";
    CHECK(runnerMatch(s, kPool) == Dispatch::Kind);
    s.kind = "";
    s.type = "Docker"; // Drone compares exactly.
    CHECK(runnerMatch(s, kPool) == Dispatch::Kind);
}

TEST_CASE("os and arch must be equal; variant and kernel only when the stage sets them") {
    Stage s = pending(1);
    s.arch = "arm64";
    CHECK(runnerMatch(s, kPool) == Dispatch::Platform);
    s = pending(1);
    s.os = "windows";
    CHECK(runnerMatch(s, kPool) == Dispatch::Platform);

    // A stage with a variant goes only to a runner with that variant.
    s = pending(1);
    s.variant = "v8";
    CHECK(runnerMatch(s, kPool) == Dispatch::Platform);
    PoolSettings v8 = kPool;
    v8.variant = "v8";
    CHECK(runnerMatch(s, v8) == Dispatch::Given);
    s.variant = "v7";
    CHECK(runnerMatch(s, v8) == Dispatch::Platform);
    // A stage without one goes to a runner with any variant (drone/autoscaler
    // required equality and left these stages out).
    s.variant = "";
    CHECK(runnerMatch(s, v8) == Dispatch::Given);

    s = pending(1);
    s.kernel = "1809";
    CHECK(runnerMatch(s, kPool) == Dispatch::Platform);
    PoolSettings k1809 = kPool;
    k1809.kernel = "1809";
    CHECK(runnerMatch(s, k1809) == Dispatch::Given);
    s.kernel = "";
    CHECK(runnerMatch(s, k1809) == Dispatch::Given);

    // A runner that states no platform takes any.
    PoolSettings anywhere = kPool;
    anywhere.os.clear();
    anywhere.arch.clear();
    s = pending(1);
    s.os = "windows";
    s.arch = "arm64";
    s.variant = "v8";
    CHECK(runnerMatch(s, anywhere) == Dispatch::Given);
}

TEST_CASE("labels must be exactly equal when either side has any") {
    Stage s = pending(1);
    s.labels = {{"gpu", "yes"}};
    CHECK(runnerMatch(s, kPool) == Dispatch::Labels);
    PoolSettings gpu = kPool;
    gpu.labels = {{"gpu", "yes"}};
    CHECK(runnerMatch(s, gpu) == Dispatch::Given);
    CHECK(runnerMatch(pending(2), gpu) == Dispatch::Labels);
    s.labels = {{"gpu", "yes"}, {"disk", "big"}};
    CHECK(runnerMatch(s, gpu) == Dispatch::Labels);
    s.labels = {{"gpu", "no"}};
    CHECK(runnerMatch(s, gpu) == Dispatch::Labels);
}

TEST_CASE("a running stage of the same repo and name holds a stage at its limit") {
    CHECK(verdicts({limited(1, "running", 1), limited(2, "pending", 1)}) ==
          std::vector{Dispatch::Given, Dispatch::Limit});
    // At limit 2 one running stage leaves room for one more.
    CHECK(verdicts(
                  {limited(1, "running", 2), limited(2, "pending", 2), limited(3, "pending", 2)}) ==
          std::vector{Dispatch::Given, Dispatch::Given, Dispatch::Limit});
    // A running stage counts even when it came later (a higher id).
    CHECK(verdicts({limited(1, "pending", 1), limited(9, "running", 1)}) ==
          std::vector{Dispatch::Limit, Dispatch::Given});
    // A later pending stage does not count: the first in line goes.
    CHECK(verdicts({limited(1, "pending", 1), limited(2, "pending", 1)}) ==
          std::vector{Dispatch::Given, Dispatch::Limit});
}

TEST_CASE("the limit counts only the same repo and the same stage name") {
    Stage otherRepo = limited(1, "running", 1);
    otherRepo.repoId = 8;
    Stage otherName = limited(2, "running", 1);
    otherName.name = "build";
    CHECK(verdicts({otherRepo, otherName, limited(3, "pending", 1)}) ==
          std::vector{Dispatch::Given, Dispatch::Given, Dispatch::Given});
    // Siblings are every incomplete stage, whatever runner they are for.
    Stage exec = limited(1, "running", 0);
    exec.type = "exec";
    CHECK(verdicts({exec, limited(2, "pending", 1)}) ==
          std::vector{Dispatch::Kind, Dispatch::Limit});
    // Finished stages are not siblings.
    CHECK(verdicts({limited(1, "success", 1), limited(2, "pending", 1)}) ==
          std::vector{Dispatch::Status, Dispatch::Given});
}

TEST_CASE("a stage a runner has accepted, or that runs, is never held back") {
    Stage accepted = limited(3, "pending", 1);
    accepted.machine = "agent-1";
    CHECK(verdicts({limited(1, "running", 1), limited(2, "running", 1), accepted}) ==
          std::vector{Dispatch::Given, Dispatch::Given, Dispatch::Given});
}

TEST_CASE("the repo's throttle counts the stages of the repo that come before") {
    auto repoStage = [](std::int64_t id, const char* status, const char* name) {
        Stage s = pending(id);
        s.status = status;
        s.repoId = 7;
        s.name = name;
        s.throttle = 2;
        return s;
    };
    CHECK(verdicts({repoStage(1, "running", "a"), repoStage(2, "pending", "b"),
                    repoStage(3, "pending", "c"), repoStage(4, "pending", "d")}) ==
          std::vector{Dispatch::Given, Dispatch::Given, Dispatch::Throttle, Dispatch::Throttle});
    // Drone counts only earlier ids: a running stage with a higher id does not throttle.
    CHECK(verdicts({repoStage(1, "pending", "a"), repoStage(5, "running", "b")}) ==
          std::vector{Dispatch::Given, Dispatch::Given});
    Stage other = repoStage(1, "running", "a");
    other.repoId = 8;
    Stage other2 = repoStage(2, "running", "a");
    other2.repoId = 8;
    CHECK(verdicts({other, other2, repoStage(3, "pending", "b")}) ==
          std::vector{Dispatch::Given, Dispatch::Given, Dispatch::Given});
}

TEST_CASE("a stage over both limit and throttle is counted once, as limit") {
    Stage a = limited(1, "running", 1);
    Stage b = limited(2, "pending", 1);
    b.throttle = 1;
    CHECK(verdicts({a, b}) == std::vector{Dispatch::Given, Dispatch::Limit});
}

/// Drone's hold-backs read literally, one stage at a time over the whole
/// queue (O(n²)): the reference the grouped pass must agree with.
Dispatch naiveHoldBack(const std::vector<Stage>& queue, std::size_t at, Dispatch match) {
    const Stage& stage = queue[at];
    if (match != Dispatch::Given || stage.status != "pending" || !stage.machine.empty())
        return match;
    auto incomplete = [](const Stage& s) {
        return s.status == "pending" || s.status == "running";
    };
    if (stage.limit > 0) {
        int count = 0;
        for (const auto& sibling : queue) {
            if (!incomplete(sibling) || sibling.repoId != stage.repoId ||
                sibling.name != stage.name)
                continue;
            if (sibling.id < stage.id || (sibling.id > stage.id && sibling.status == "running"))
                ++count;
        }
        if (count >= stage.limit)
            return Dispatch::Limit;
    }
    if (stage.throttle > 0) {
        int before = 0;
        for (const auto& sibling : queue) {
            if (incomplete(sibling) && sibling.repoId == stage.repoId && sibling.id < stage.id)
                ++before;
        }
        if (before >= stage.throttle)
            return Dispatch::Throttle;
    }
    return match;
}

TEST_CASE("the hold-backs agree with the rule read one stage at a time, on random queues") {
    std::mt19937 rng(20261130);
    PoolSettings arm;
    arm.name = "arm64";
    arm.arch = "arm64";
    const std::vector<PoolSettings> pools = {kPool, arm};
    const std::vector<const char*> statuses = {"pending", "pending", "running", "success"};
    const std::vector<const char*> names = {"a", "b", "c"};
    int held = 0;
    for (int round = 0; round < 300; ++round) {
        std::vector<Stage> queue;
        const auto size = 1 + rng() % 40;
        for (std::uint32_t i = 0; i < size; ++i) {
            Stage s = pending(1 + static_cast<std::int64_t>(rng() % 60)); // Ids may repeat.
            s.status = statuses[rng() % statuses.size()];
            s.repoId = static_cast<std::int64_t>(rng() % 3);
            s.name = names[rng() % names.size()];
            s.arch = rng() % 3 == 0 ? "arm64" : "amd64";
            if (rng() % 8 == 0)
                s.type = "exec";
            if (rng() % 6 == 0)
                s.machine = "agent-1";
            s.limit = static_cast<int>(rng() % 3);
            s.throttle = rng() % 4 == 0 ? static_cast<int>(1 + rng() % 3) : 0;
            queue.push_back(s);
        }
        const RoutedQueue routed = routeQueue(queue, pools);
        const std::vector<Dispatch> one = classifyQueue(queue, kPool);
        for (std::size_t i = 0; i < queue.size(); ++i) {
            CAPTURE(round);
            CAPTURE(i);
            const Stage& s = queue[i];
            const bool incomplete = s.status == "pending" || s.status == "running";
            Dispatch match = incomplete ? runnerMatch(s, kPool) : Dispatch::Status;
            int pool = -1;
            if (match == Dispatch::Given) {
                pool = 0;
            } else if (incomplete && runnerMatch(s, arm) == Dispatch::Given) {
                match = Dispatch::Given;
                pool = 1;
            }
            CHECK(routed.pool[i] == pool);
            const Dispatch want = naiveHoldBack(queue, i, match);
            CHECK(routed.verdict[i] == want);
            held += want == Dispatch::Limit || want == Dispatch::Throttle ? 1 : 0;
            const Dispatch alone = incomplete ? runnerMatch(s, kPool) : Dispatch::Status;
            CHECK(one[i] == naiveHoldBack(queue, i, alone));
        }
    }
    CHECK(held > 100); // The random queues do exercise the hold-backs.
}

/// The acceptance queue of issue 12: 4 docker, 3 exec, 2 variant v8, and 3
/// stages named `test` with limit 1 behind one running.
std::vector<Stage> acceptanceQueue() {
    std::vector<Stage> queue;
    std::int64_t id = 1;
    queue.push_back(limited(id++, "running", 1));
    for (int i = 0; i < 4; ++i)
        queue.push_back(pending(id++));
    for (int i = 0; i < 3; ++i) {
        Stage s = pending(id++);
        s.type = "exec";
        queue.push_back(s);
    }
    for (int i = 0; i < 2; ++i) {
        Stage s = pending(id++);
        s.variant = "v8";
        queue.push_back(s);
    }
    for (int i = 0; i < 3; ++i)
        queue.push_back(limited(id++, "pending", 1));
    return queue;
}

TEST_CASE("keepDispatched keeps the demand in order and counts the rest by reason") {
    std::vector<Stage> queue = acceptanceQueue();
    const StagesLeftOut out = keepDispatched(queue, kPool);
    CHECK(out == StagesLeftOut{.kind = 3, .platform = 2, .limit = 3});
    CHECK(out.total() == 8);
    REQUIRE(queue.size() == 5);
    CHECK(queue[0].status == "running");
    for (std::size_t i = 1; i < queue.size(); ++i)
        CHECK(queue[i].id == static_cast<std::int64_t>(i + 1));
    CHECK(formatLeftOut(out) == "8 left out by Drone's dispatch rule: 3 kind/type (not docker), "
                                "2 platform, 3 limit");
    CHECK(formatLeftOut({}) == "none left out");

    // With DRONE_AGENT_VERSION=v8 the variant stages are demand too (and the
    // others, which set no variant, still are): 6 pending, 1 running.
    std::vector<Stage> again = acceptanceQueue();
    PoolSettings v8 = kPool;
    v8.variant = "v8";
    CHECK(keepDispatched(again, v8) == StagesLeftOut{.kind = 3, .limit = 3});
    CHECK(again.size() == 7);
}

TEST_CASE("the acceptance queue wants 3 servers, or 4 with the variant served") {
    PoolSettings pool = kPool;
    pool.min = 0;
    pool.max = 20;
    pool.concurrency = 2;
    const auto planned = [&pool] {
        return plan(PlanInput{.pool = pool, .stages = matchingStages(acceptanceQueue(), pool)});
    };
    Plan p = planned();
    CHECK(p.pending == 4);
    CHECK(p.running == 1);
    CHECK(p.wanted == 3);
    pool.variant = "v8";
    p = planned();
    CHECK(p.pending == 6);
    CHECK(p.running == 1);
    CHECK(p.wanted == 4);
}

TEST_CASE("the names of the reasons") {
    CHECK(nameOf(Dispatch::Given) == "given");
    CHECK(nameOf(Dispatch::Kind) == "kind");
    CHECK(nameOf(Dispatch::Platform) == "platform");
    CHECK(nameOf(Dispatch::Labels) == "labels");
    CHECK(nameOf(Dispatch::Limit) == "limit");
    CHECK(nameOf(Dispatch::Throttle) == "throttle");
    CHECK(nameOf(Dispatch::Status) == "status");
}

} // namespace
} // namespace autoscale
