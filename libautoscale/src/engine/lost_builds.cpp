// SPDX-License-Identifier: Apache-2.0
/// \file
/// Lost builds: mapping Drone's incomplete stages to a server's builds, and the
/// at-most-once restarter (intent in the row before the POST).

#include "lost_builds.h"

#include <algorithm>
#include <set>
#include <utility>

namespace autoscale {

namespace {

/// Lost swaps tolerated in a row before handle() gives up with Errc::Conflict.
constexpr int kMaxSwapAttempts = 20;

bool sameBuild(const LostBuild& a, const LostBuild& b) {
    if (a.repo.empty() && b.repo.empty())
        return a.stage == b.stage;
    return a.repo == b.repo && a.number == b.number;
}

LostBuild* findBuild(Server& row, const LostBuild& build) {
    const auto it = std::ranges::find_if(row.lostBuilds,
                                         [&](const LostBuild& b) { return sameBuild(b, build); });
    return it == row.lostBuilds.end() ? nullptr : &*it;
}

/// Splits "owner/name" at its first '/'.
std::pair<std::string, std::string> splitRepo(const std::string& repo) {
    const auto slash = repo.find('/');
    if (slash == std::string::npos)
        return {repo, {}};
    return {repo.substr(0, slash), repo.substr(slash + 1)};
}

} // namespace

std::vector<LostBuild> recordLostBuilds(const std::vector<IncompleteStage>& stages,
                                        const std::string& serverName) {
    std::vector<LostBuild> out;
    if (serverName.empty())
        return out;
    for (const auto& stage : stages) {
        if (stage.stageMachine != serverName || stage.repoNamespace.empty() ||
            stage.repoName.empty() || stage.buildNumber <= 0)
            continue;
        LostBuild build{.repo = stage.repoNamespace + "/" + stage.repoName,
                        .number = stage.buildNumber};
        if (std::ranges::none_of(out, [&](const LostBuild& b) { return sameBuild(b, build); }))
            out.push_back(std::move(build));
    }
    return out;
}

std::vector<LostBuild> lostBuildsFromQueue(const std::vector<Stage>& queue,
                                           const std::string& serverName) {
    std::vector<LostBuild> out;
    std::set<std::int64_t> builds;
    if (serverName.empty())
        return out;
    for (const auto& stage : queue) {
        if (stage.machine != serverName || (stage.status != "running" && stage.status != "pending"))
            continue;
        if (!builds.insert(stage.buildId).second)
            continue;
        out.push_back(LostBuild{.stage = stage.id, .outcome = std::string(kOutcomeDroneOss)});
    }
    return out;
}

bool mergeLostBuilds(std::vector<LostBuild>& existing, const std::vector<LostBuild>& found) {
    bool added = false;
    for (const auto& build : found) {
        if (std::ranges::any_of(existing, [&](const LostBuild& b) { return sameBuild(b, build); }))
            continue;
        existing.push_back(build);
        added = true;
    }
    return added;
}

LostBuildRestarter::LostBuildRestarter(Store& store, DroneClient& drone, Logger logger,
                                       bool enabled)
    : store_(store)
    , drone_(drone)
    , logger_(std::move(logger))
    , enabled_(enabled) {
}

Result<bool> LostBuildRestarter::setOutcome(Server& row, const LostBuild& build,
                                            std::string_view expected, std::string_view outcome,
                                            std::int64_t restartedAs) {
    for (int attempt = 0; attempt < kMaxSwapAttempts; ++attempt) {
        LostBuild* entry = findBuild(row, build);
        if (entry == nullptr || entry->outcome != expected)
            return false;
        Server next = row;
        LostBuild* target = findBuild(next, build);
        target->outcome = std::string(outcome);
        target->restartedAs = restartedAs;
        auto written = store_.update(next);
        if (written) {
            row = std::move(*written);
            return true;
        }
        if (written.error().code != Errc::Conflict)
            return written.error();
        auto reread = store_.find(row.name);
        if (!reread)
            return reread.error();
        row = std::move(*reread);
    }
    return makeError(Errc::Conflict,
                     "lost builds of " + row.name + ": the row kept changing under the restarter");
}

Result<Server> LostBuildRestarter::handle(const std::string& serverName) {
    auto found = store_.find(serverName);
    if (!found)
        return found.error();
    Server row = std::move(*found);
    const std::vector<LostBuild> snapshot = row.lostBuilds;
    for (const LostBuild& build : snapshot) {
        const std::vector<LogField> where = {{"server", serverName},
                                             {"repo", build.repo},
                                             {"build", std::to_string(build.number)}};
        if (build.outcome == kOutcomeRestarting) {
            // Left by a process that died after its intent: never restart again.
            auto set = setOutcome(row, build, kOutcomeRestarting, kOutcomeInterrupted);
            if (!set)
                return set.error();
            if (*set)
                logger_.warn("lost build not restarted: restart interrupted", where);
            continue;
        }
        if (!build.outcome.empty())
            continue;
        if (!enabled_ || build.repo.empty() || build.number <= 0) {
            const std::string_view outcome =
                    enabled_ ? std::string_view("not restarted: the build is not known")
                             : kOutcomeDisabled;
            auto set = setOutcome(row, build, "", outcome);
            if (!set)
                return set.error();
            if (*set)
                logger_.info("lost build not restarted", where);
            continue;
        }
        // The intent, before anything is sent: only the writer whose swap wins goes on.
        auto claimed = setOutcome(row, build, "", kOutcomeRestarting);
        if (!claimed)
            return claimed.error();
        if (!*claimed)
            continue;
        const auto [owner, name] = splitRepo(build.repo);
        if (auto cancelled = drone_.cancelBuild(owner, name, build.number); !cancelled) {
            const Error& error = cancelled.error();
            // Nothing was restarted yet: a passing failure gives the build back for later.
            const std::string outcome = error.retryable()
                                                ? std::string()
                                                : "not restarted: cancel failed: " + error.message;
            auto set = setOutcome(row, build, kOutcomeRestarting, outcome);
            if (!set)
                return set.error();
            auto fields = where;
            fields.push_back({"error", error.message});
            logger_.warn(error.retryable() ? "cancel of lost build failed; will retry"
                                           : "lost build not restarted: cancel failed",
                         std::move(fields));
            continue;
        }
        auto restarted = drone_.restartBuild(owner, name, build.number);
        if (!restarted) {
            const Error& error = restarted.error();
            // At most once: even a transport error is final (the POST may have arrived).
            auto set =
                    setOutcome(row, build, kOutcomeRestarting, "not restarted: " + error.message);
            if (!set)
                return set.error();
            auto fields = where;
            fields.push_back({"error", error.message});
            logger_.warn("lost build not restarted: restart failed", std::move(fields));
            continue;
        }
        auto set = setOutcome(row, build, kOutcomeRestarting, kOutcomeRestarted, *restarted);
        if (set && !*set) // Another restarter took our intent for a dead one's: correct it.
            set = setOutcome(row, build, kOutcomeInterrupted, kOutcomeRestarted, *restarted);
        if (!set)
            return set.error();
        auto fields = where;
        fields.push_back({"new_build", std::to_string(*restarted)});
        logger_.info("lost build restarted", std::move(fields));
    }
    return row;
}

} // namespace autoscale
