// SPDX-License-Identifier: Apache-2.0
/// \file
/// Drone's dispatch rule over one queue read: the stage-alone match, then the
/// `limit` and `throttle` hold-backs, counted per group in one sorted pass.

#include "autoscale/dispatch.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace autoscale {

namespace {

bool isIncomplete(const Stage& stage) {
    return stage.status == "pending" || stage.status == "running";
}

/// The incomplete stages of one group (a repo, or a repo and a stage name),
/// sorted by id, with how many of the first i are running.
struct Group {
    std::vector<std::int64_t> ids{};
    std::vector<bool> running{};
    std::vector<int> runningBefore{}; ///< runningBefore[i]: running among the first i.

    void finish() {
        std::vector<std::size_t> order(ids.size());
        for (std::size_t i = 0; i < order.size(); ++i)
            order[i] = i;
        std::sort(order.begin(), order.end(),
                  [this](std::size_t a, std::size_t b) { return ids[a] < ids[b]; });
        std::vector<std::int64_t> sortedIds;
        std::vector<bool> sortedRunning;
        sortedIds.reserve(order.size());
        sortedRunning.reserve(order.size());
        for (const auto i : order) {
            sortedIds.push_back(ids[i]);
            sortedRunning.push_back(running[i]);
        }
        ids = std::move(sortedIds);
        running = std::move(sortedRunning);
        runningBefore.assign(ids.size() + 1, 0);
        for (std::size_t i = 0; i < ids.size(); ++i)
            runningBefore[i + 1] = runningBefore[i] + (running[i] ? 1 : 0);
    }

    /// Siblings with a lower id (Drone skips a sibling with the same id).
    [[nodiscard]] int before(std::int64_t id) const {
        return static_cast<int>(std::lower_bound(ids.begin(), ids.end(), id) - ids.begin());
    }

    /// Running siblings with a higher id.
    [[nodiscard]] int runningAfter(std::int64_t id) const {
        const auto upper = static_cast<std::size_t>(std::upper_bound(ids.begin(), ids.end(), id) -
                                                    ids.begin());
        return runningBefore.back() - runningBefore[upper];
    }
};

/// Whether a stage is subject to the hold-backs at all: pending, not yet
/// accepted by a runner, and given to ours if it were not held back.
bool mayBeHeld(const Stage& stage, Dispatch match) {
    return match == Dispatch::Given && stage.status == "pending" && stage.machine.empty() &&
           (stage.limit > 0 || stage.throttle > 0);
}

} // namespace

std::string_view nameOf(Dispatch reason) {
    switch (reason) {
    case Dispatch::Given:
        return "given";
    case Dispatch::Status:
        return "status";
    case Dispatch::Kind:
        return "kind";
    case Dispatch::Platform:
        return "platform";
    case Dispatch::Labels:
        return "labels";
    case Dispatch::Limit:
        return "limit";
    case Dispatch::Throttle:
        return "throttle";
    }
    return "unknown";
}

Dispatch runnerMatch(const Stage& stage, const PoolSettings& runner) {
    const std::string_view kind = stage.kind.empty() ? kRunnerKind : std::string_view(stage.kind);
    const std::string_view type = stage.type.empty() ? kRunnerType : std::string_view(stage.type);
    if (kind != kRunnerKind || type != kRunnerType)
        return Dispatch::Kind;
    const bool platformSpecific = !runner.os.empty() || !runner.arch.empty() ||
                                  !runner.variant.empty() || !runner.kernel.empty();
    if (platformSpecific) {
        if (stage.os != runner.os || stage.arch != runner.arch)
            return Dispatch::Platform;
        if (!stage.variant.empty() && stage.variant != runner.variant)
            return Dispatch::Platform;
        if (!stage.kernel.empty() && stage.kernel != runner.kernel)
            return Dispatch::Platform;
    }
    if ((!stage.labels.empty() || !runner.labels.empty()) && stage.labels != runner.labels)
        return Dispatch::Labels;
    return Dispatch::Given;
}

namespace {

/// The second half of the rule: turns Given into Limit or Throttle for the
/// pending stages held back by their siblings (every incomplete stage of the
/// queue, whatever runner it is for).
void holdBack(std::span<const Stage> queue, std::vector<Dispatch>& out) {
    // Drone counts siblings among every incomplete stage of the queue.
    std::map<std::pair<std::int64_t, std::string_view>, Group> byName;
    std::map<std::int64_t, Group> byRepo;
    for (const auto& stage : queue) {
        if (!isIncomplete(stage))
            continue;
        const bool running = stage.status == "running";
        Group& named = byName[{stage.repoId, stage.name}];
        named.ids.push_back(stage.id);
        named.running.push_back(running);
        Group& repo = byRepo[stage.repoId];
        repo.ids.push_back(stage.id);
        repo.running.push_back(running);
    }
    for (auto& [key, group] : byName)
        group.finish();
    for (auto& [key, group] : byRepo)
        group.finish();

    for (std::size_t i = 0; i < queue.size(); ++i) {
        const Stage& stage = queue[i];
        if (!mayBeHeld(stage, out[i]))
            continue;
        if (stage.limit > 0) {
            const Group& named = byName.at({stage.repoId, stage.name});
            if (named.before(stage.id) + named.runningAfter(stage.id) >= stage.limit) {
                out[i] = Dispatch::Limit;
                continue;
            }
        }
        if (stage.throttle > 0 && byRepo.at(stage.repoId).before(stage.id) >= stage.throttle)
            out[i] = Dispatch::Throttle;
    }
}

} // namespace

std::vector<Dispatch> classifyQueue(std::span<const Stage> queue, const PoolSettings& runner) {
    std::vector<Dispatch> out;
    out.reserve(queue.size());
    bool anyHeld = false;
    for (const auto& stage : queue) {
        const Dispatch d = isIncomplete(stage) ? runnerMatch(stage, runner) : Dispatch::Status;
        anyHeld = anyHeld || mayBeHeld(stage, d);
        out.push_back(d);
    }
    if (anyHeld)
        holdBack(queue, out);
    return out;
}

RoutedQueue routeQueue(std::span<const Stage> queue, std::span<const PoolSettings> pools) {
    RoutedQueue routed;
    routed.pool.assign(queue.size(), -1);
    routed.verdict.reserve(queue.size());
    bool anyHeld = false;
    for (std::size_t i = 0; i < queue.size(); ++i) {
        const Stage& stage = queue[i];
        Dispatch d = Dispatch::Status;
        if (isIncomplete(stage)) {
            d = pools.empty() ? Dispatch::Platform : runnerMatch(stage, pools.front());
            for (std::size_t p = 0; p < pools.size(); ++p) {
                const Dispatch match = p == 0 ? d : runnerMatch(stage, pools[p]);
                if (match == Dispatch::Given) {
                    d = match;
                    routed.pool[i] = static_cast<int>(p);
                    break;
                }
            }
        }
        anyHeld = anyHeld || mayBeHeld(stage, d);
        routed.verdict.push_back(d);
    }
    if (anyHeld)
        holdBack(queue, routed.verdict);
    return routed;
}

bool isUnroutable(const Stage& stage, Dispatch verdict, int pool) {
    return pool < 0 && stage.status == "pending" &&
           (verdict == Dispatch::Platform || verdict == Dispatch::Labels);
}

void countLeftOut(StagesLeftOut& counts, Dispatch reason) {
    switch (reason) {
    case Dispatch::Given:
        return;
    case Dispatch::Status:
        ++counts.status;
        return;
    case Dispatch::Kind:
        ++counts.kind;
        return;
    case Dispatch::Platform:
        ++counts.platform;
        return;
    case Dispatch::Labels:
        ++counts.labels;
        return;
    case Dispatch::Limit:
        ++counts.limit;
        return;
    case Dispatch::Throttle:
        ++counts.throttle;
        return;
    }
}

std::string formatLeftOut(const StagesLeftOut& counts) {
    if (counts.total() == 0)
        return "none left out";
    std::string out = std::to_string(counts.total()) + " left out by Drone's dispatch rule:";
    const std::array<std::pair<int, const char*>, 7> reasons{{
            {counts.kind, "kind/type (not docker)"},
            {counts.platform, "platform"},
            {counts.labels, "labels"},
            {counts.limit, "limit"},
            {counts.throttle, "throttle"},
            {counts.status, "not pending or running"},
            {counts.routed, "for another pool"},
    }};
    bool first = true;
    for (const auto& [n, why] : reasons) {
        if (n == 0)
            continue;
        out += (first ? " " : ", ") + std::to_string(n) + " " + why;
        first = false;
    }
    return out;
}

StagesLeftOut keepDispatched(std::vector<Stage>& queue, const PoolSettings& runner) {
    const std::vector<Dispatch> verdicts = classifyQueue(queue, runner);
    StagesLeftOut counts;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < queue.size(); ++i) {
        countLeftOut(counts, verdicts[i]);
        if (verdicts[i] != Dispatch::Given)
            continue;
        if (kept != i)
            queue[kept] = std::move(queue[i]);
        ++kept;
    }
    queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(kept), queue.end());
    return counts;
}

} // namespace autoscale
