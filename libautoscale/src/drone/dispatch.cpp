// SPDX-License-Identifier: Apache-2.0
/// \file
/// Drone's dispatch rule over one queue read: the stage-alone match, then the
/// `limit` and `throttle` hold-backs, counted per group in one sorted pass.

#include "autoscale/dispatch.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace autoscale {

namespace {

bool isIncomplete(const Stage& stage) {
    return stage.status == "pending" || stage.status == "running";
}

/// The incomplete stages of one group (a repo, or a repo and a stage name),
/// sorted by id, with how many of the first i are running.
struct Group {
    std::vector<std::pair<std::int64_t, bool>> members{}; ///< (id, running), sorted by finish().
    std::vector<int> runningBefore{}; ///< runningBefore[i]: running among the first i.

    void finish() {
        std::sort(members.begin(), members.end());
        runningBefore.assign(members.size() + 1, 0);
        for (std::size_t i = 0; i < members.size(); ++i)
            runningBefore[i + 1] = runningBefore[i] + (members[i].second ? 1 : 0);
    }

    /// Siblings with a lower id (Drone skips a sibling with the same id).
    [[nodiscard]] int before(std::int64_t id) const {
        const auto lower =
                std::lower_bound(members.begin(), members.end(), id,
                                 [](const auto& m, std::int64_t v) { return m.first < v; });
        return static_cast<int>(lower - members.begin());
    }

    /// Running siblings with a higher id.
    [[nodiscard]] int runningAfter(std::int64_t id) const {
        const auto upper =
                std::upper_bound(members.begin(), members.end(), id,
                                 [](std::int64_t v, const auto& m) { return v < m.first; });
        return runningBefore.back() -
               runningBefore[static_cast<std::size_t>(upper - members.begin())];
    }
};

/// The groups of one repo that some held-back candidate needs: the repo's
/// (for `throttle`) and its pipelines' by name (for `limit`).
struct RepoGroups {
    bool throttled = false;
    Group repo{};
    std::unordered_map<std::string_view, Group> byName{};
};

/// Whether a stage is subject to the hold-backs at all: pending, not yet
/// accepted by a runner, and given to ours if it were not held back.
bool mayBeHeld(const Stage& stage, Dispatch match) {
    // Cheapest tests first: most stages have neither a limit nor a throttle.
    return (stage.limit > 0 || stage.throttle > 0) && match == Dispatch::Given &&
           stage.machine.empty() && stage.status == "pending";
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
    // Only the groups a candidate needs are built: a queue of 50,000 stages
    // has few pipelines with a limit and fewer throttled repos.
    std::unordered_map<std::int64_t, RepoGroups> repos;
    for (std::size_t i = 0; i < queue.size(); ++i) {
        const Stage& stage = queue[i];
        if (!mayBeHeld(stage, out[i]))
            continue;
        RepoGroups& groups = repos[stage.repoId];
        groups.throttled = groups.throttled || stage.throttle > 0;
        if (stage.limit > 0)
            groups.byName.try_emplace(stage.name);
    }
    // Drone counts siblings among every incomplete stage of the queue,
    // whatever runner it is for.
    for (const auto& stage : queue) {
        const auto groups = repos.find(stage.repoId);
        if (groups == repos.end() || !isIncomplete(stage))
            continue;
        const std::pair<std::int64_t, bool> member{stage.id, stage.status == "running"};
        if (groups->second.throttled)
            groups->second.repo.members.push_back(member);
        if (!groups->second.byName.empty()) {
            if (const auto named = groups->second.byName.find(stage.name);
                named != groups->second.byName.end())
                named->second.members.push_back(member);
        }
    }
    for (auto& [repoId, groups] : repos) {
        groups.repo.finish();
        for (auto& [name, group] : groups.byName)
            group.finish();
    }

    for (std::size_t i = 0; i < queue.size(); ++i) {
        const Stage& stage = queue[i];
        if (!mayBeHeld(stage, out[i]))
            continue;
        const RepoGroups& groups = repos.at(stage.repoId);
        if (stage.limit > 0) {
            const Group& named = groups.byName.at(stage.name);
            if (named.before(stage.id) + named.runningAfter(stage.id) >= stage.limit) {
                out[i] = Dispatch::Limit;
                continue;
            }
        }
        if (stage.throttle > 0 && groups.repo.before(stage.id) >= stage.throttle)
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

std::string describePlatform(const Stage& stage) {
    std::string out = stage.os;
    out += '/';
    out += stage.arch;
    if (!stage.variant.empty()) {
        out += '/';
        out += stage.variant;
    }
    if (!stage.kernel.empty()) {
        out += " kernel ";
        out += stage.kernel;
    }
    bool first = true;
    for (const auto& [key, value] : stage.labels) {
        out += first ? " labels " : ",";
        out += key;
        out += ':';
        out += value;
        first = false;
    }
    return out;
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
