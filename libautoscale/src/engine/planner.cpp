// SPDX-License-Identifier: Apache-2.0
/// \file
/// The two planning policies. Pure functions: no clock, no I/O.

#include "autoscale/planner.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <unordered_set>
#include <utility>

#include <autoscale/store.h>
#include <autoscale/values.h>

#include "engine/busy_tracker.h"

namespace autoscale {

namespace {

int capacityOf(const Server& server, const PoolSettings& pool) {
    return server.capacity > 0 ? server.capacity : pool.concurrency;
}

std::string formatAgo(WallTime now, WallTime then) {
    return formatGoDuration(std::chrono::duration_cast<std::chrono::milliseconds>(now - then));
}

/// The planner's inputs, borrowed.
struct View {
    const PoolSettings& pool;
    std::span<const Server> servers;
    std::span<const Stage> stages;
    WallTime now;
    const PlanHistory& history;
};

/// Counts the matching stages by status.
void countStages(const View& input, Plan& out) {
    for (const auto& stage : input.stages) {
        if (!stageMatches(stage, input.pool))
            continue;
        if (stage.status == "pending") {
            ++out.pending;
        } else if (stage.status == "running") {
            ++out.running;
        }
    }
}

/// When a server last had work (or came up, if it never had any).
WallTime idleSince(const Server& server) {
    WallTime since = server.started != WallTime{} ? server.started : server.created;
    return std::max(since, server.lastBusy);
}

std::string plural(int n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

Plan planDefault(const View& input) {
    const PoolSettings& pool = input.pool;
    Plan out{.pool = pool.name, .policy = Policy::Default};
    countStages(input, out);
    for (const auto& server : input.servers) {
        // A server under a reclaim notice is going: it counts neither against
        // MAX nor as capacity, so its replacement is launched at once.
        if (countsAgainstCaps(server))
            ++out.live;
        if (providesCapacity(server.state) && server.reclaimNotice == WallTime{}) {
            ++out.servers;
            out.capacity += capacityOf(server, pool);
        }
    }
    const int concurrency = std::max(pool.concurrency, 1);
    const int demand = out.running + out.pending + pool.buffer;
    const int needed = (demand + concurrency - 1) / concurrency;
    out.wanted = std::clamp(needed, pool.min, std::max(pool.max, pool.min));
    const std::string inputs =
            std::to_string(out.running) + " running + " + std::to_string(out.pending) +
            " pending + buffer " + std::to_string(pool.buffer) + " = " +
            plural(demand, "slot", "slots") + ", " + plural(needed, "server", "servers") +
            " at concurrency " + std::to_string(concurrency);

    // One stage at a time may wait up to DRONE_POOL_LAUNCH_DELAY for a
    // running stage to finish before a server is launched for it: a runner
    // finishing a stage takes the next within seconds, and a server launched
    // for it would come up to nothing. A second waiting stage (a burst), or
    // one with nothing running, launches at once.
    const int waiting =
            std::clamp(input.history.youngPending, 0, std::min({out.pending, out.running, 1}));
    const int launchFor = demand - waiting;
    const int wantedNow = std::clamp((launchFor + concurrency - 1) / concurrency, pool.min,
                                     std::max(pool.max, pool.min));
    const std::string delay = formatGoDuration(
            std::chrono::duration_cast<std::chrono::milliseconds>(pool.launchDelay));
    if (out.wanted > out.servers && wantedNow <= out.servers) {
        out.reasons.push_back("create none yet: " + inputs + "; " +
                              plural(waiting, "stage has", "stages have") +
                              " waited less than DRONE_POOL_LAUNCH_DELAY=" + delay +
                              " for a running stage to finish");
        return out;
    }
    if (out.wanted > out.servers) {
        const int want = wantedNow - out.servers;
        const int room = std::max(pool.max - out.live, 0);
        out.create = std::min(want, room);
        std::string why = inputs + "; min " + std::to_string(pool.min) + ", max " +
                          std::to_string(pool.max) + " -> want " + std::to_string(out.wanted) +
                          ", have " + std::to_string(out.servers);
        if (wantedNow < out.wanted) {
            why += "; " + plural(waiting, "stage has", "stages have") +
                   " waited less than DRONE_POOL_LAUNCH_DELAY=" + delay;
        }
        if (out.create < want) {
            why += "; only " + std::to_string(out.create) +
                   " more fit under DRONE_POOL_MAX=" + std::to_string(pool.max) + " (" +
                   std::to_string(out.live) +
                   " live, counting draining, terminating and error servers)";
        }
        out.reasons.push_back(out.create > 0 ? "create " + std::to_string(out.create) + ": " + why
                                             : "create none: " + why);
        return out;
    }

    if (out.servers > out.wanted) {
        const int excess = out.servers - out.wanted;
        // With a demand history (the engine's), servers beyond the slots in
        // use plus a reserve for a burst go as soon as they are idle; without
        // one (a one-shot `plan`), only servers idle for IDLE_TIMEOUT do.
        int settled = 0;
        int keep = out.servers;
        if (input.history.burstReserve) {
            const int slots = demand + std::max(*input.history.burstReserve, 0);
            keep = std::clamp((slots + concurrency - 1) / concurrency, pool.min,
                              std::max(pool.max, pool.min));
            settled = std::max(out.servers - keep, 0);
        }
        struct Candidate {
            const Server* server;
            WallTime since;
        };
        std::vector<Candidate> candidates;
        const BusyNames busyNames = busyServerNames(input.stages);
        int busy = 0;
        int young = 0;
        int fresh = 0;
        for (const auto& server : input.servers) {
            if (server.state != ServerState::Running)
                continue;
            if (busyNames.contains(server.name)) {
                ++busy;
                continue;
            }
            if (input.now - server.created < pool.minAge) {
                ++young;
                continue;
            }
            candidates.push_back({&server, idleSince(server)});
        }
        std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
            if (a.since != b.since)
                return a.since < b.since;
            return a.server->name < b.server->name;
        });
        const std::string timeout = formatGoDuration(
                std::chrono::duration_cast<std::chrono::milliseconds>(pool.idleTimeout));
        int drained = 0;
        for (const auto& c : candidates) {
            const bool timedOut = input.now - c.since >= pool.idleTimeout;
            if (drained >= excess || (drained >= settled && !timedOut)) {
                if (!timedOut)
                    ++fresh;
                continue;
            }
            ++drained;
            const Server& s = *c.server;
            out.drain.push_back(s.name);
            if (timedOut) {
                std::string reason = "drain ";
                reason.append(s.name)
                        .append(": idle for ")
                        .append(formatAgo(input.now, c.since))
                        .append(" (idle timeout ")
                        .append(timeout)
                        .append("); ")
                        .append(inputs)
                        .append(" -> want ")
                        .append(std::to_string(out.wanted))
                        .append(", have ")
                        .append(std::to_string(out.servers));
                out.reasons.push_back(std::move(reason));
            } else {
                out.reasons.push_back(
                        "drain " + s.name + ": idle for " + formatAgo(input.now, c.since) +
                        ", beyond demand plus burst reserve: " + inputs + ", reserve " +
                        plural(*input.history.burstReserve, "slot", "slots") + " -> keep " +
                        std::to_string(keep) + ", have " + std::to_string(out.servers));
            }
        }
        if (drained < excess) {
            const std::string idle =
                    input.history.burstReserve
                            ? std::to_string(fresh) + " idle kept for the burst reserve of " +
                                      plural(*input.history.burstReserve, "slot", "slots")
                            : std::to_string(fresh) + " idle for less than DRONE_POOL_IDLE_TIMEOUT";
            out.reasons.push_back("keep " + std::to_string(excess - drained) +
                                  " surplus: " + std::to_string(busy) + " busy, " +
                                  std::to_string(young) + " younger than DRONE_POOL_MIN_AGE, " +
                                  idle + ", others not running yet");
        }
        return out;
    }

    out.reasons.push_back("no change: " + inputs + "; have " + std::to_string(out.servers) +
                          " (min " + std::to_string(pool.min) + ", max " +
                          std::to_string(pool.max) + ")");
    return out;
}

Plan planClassic(const View& input) {
    const PoolSettings& pool = input.pool;
    Plan out{.pool = pool.name, .policy = Policy::Classic};
    countStages(input, out);
    // drone/autoscaler counts every row that is not stopped, error rows included.
    for (const auto& server : input.servers) {
        if (server.state == ServerState::Terminated)
            continue;
        ++out.servers;
        out.capacity += capacityOf(server, pool);
    }
    out.live = out.servers;
    const int concurrency = std::max(pool.concurrency, 1);
    const int count = out.servers;
    const int free = std::max(out.capacity - out.running - pool.buffer, 0);
    const auto diff = static_cast<int>(
            std::ceil(static_cast<double>(out.pending - free) / static_cast<double>(concurrency)));
    const std::string inputs = "classic: capacity " + std::to_string(out.capacity) + " - " +
                               std::to_string(out.running) + " running - buffer " +
                               std::to_string(pool.buffer) + " = " + std::to_string(free) +
                               " free; ceil((" + std::to_string(out.pending) + " pending - " +
                               std::to_string(free) + ") / " + std::to_string(concurrency) +
                               ") = " + std::to_string(diff);
    out.wanted = count;
    if (diff > 0) {
        const int n = count + diff >= pool.max ? pool.max - count : diff;
        out.create = std::max(n, 0);
        out.wanted = count + out.create;
        out.reasons.push_back("create " + std::to_string(out.create) + ": " + inputs + "; " +
                              std::to_string(count) + " servers, max " + std::to_string(pool.max));
        return out;
    }
    if (diff == 0) {
        out.reasons.push_back("no change: " + inputs);
        return out;
    }
    // serverFloor
    int n = -diff;
    if (pool.min > count - n)
        n = count - pool.min;
    n = std::max(n, 0);
    if (n == 0) {
        out.reasons.push_back("no change: " + inputs + "; " + std::to_string(count) +
                              " servers already at min " + std::to_string(pool.min));
        return out;
    }
    // mark(n): running servers, newest first; all-or-nothing against min.
    std::vector<const Server*> running;
    for (const auto& server : input.servers) {
        if (server.state == ServerState::Running)
            running.push_back(&server);
    }
    std::stable_sort(running.begin(), running.end(),
                     [](const Server* a, const Server* b) { return a->created > b->created; });
    if (static_cast<int>(running.size()) - n < pool.min) {
        out.reasons.push_back("no change: " + inputs + "; draining " + std::to_string(n) + " of " +
                              std::to_string(running.size()) +
                              " running servers would go below min " + std::to_string(pool.min));
        return out;
    }
    const BusyNames busyNames = busyServerNames(input.stages);
    for (const Server* server : running) {
        if (std::cmp_greater_equal(out.drain.size(), n))
            break;
        if (busyNames.contains(server->name))
            continue;
        if (input.now < server->created + pool.minAge)
            continue;
        out.drain.push_back(server->name);
        out.reasons.push_back(
                "drain " + server->name + ": " + inputs + "; newest idle server " +
                "past min age " +
                formatGoDuration(
                        std::chrono::duration_cast<std::chrono::milliseconds>(pool.minAge)));
    }
    out.wanted = count - static_cast<int>(out.drain.size());
    if (out.drain.empty())
        out.reasons.push_back("no change: " + inputs + "; no idle server past min age");
    return out;
}

} // namespace

bool isBusy(const Server& server, const std::vector<Stage>& stages) {
    return std::any_of(stages.begin(), stages.end(),
                       [&](const Stage& stage) { return stageNamesServer(stage, server.name); });
}

Plan plan(const PoolSettings& pool, std::span<const Server> servers, std::span<const Stage> stages,
          WallTime now, const PlanHistory& history) {
    const View view{pool, servers, stages, now, history};
    return pool.policy == Policy::Classic ? planClassic(view) : planDefault(view);
}

Plan plan(const PlanInput& input) {
    return plan(input.pool, input.servers, input.stages, input.now, input.history);
}

} // namespace autoscale
