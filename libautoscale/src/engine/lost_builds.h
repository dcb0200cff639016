// SPDX-License-Identifier: Apache-2.0
/// \file
/// Builds lost with a server (private to libautoscale): which builds ran on a server that
/// was reclaimed or vanished, and the restarter that cancels and restarts each of them
/// exactly once through Drone's API, recording the outcome on the server's row.
///
/// At most once, across daemon restarts and replicas: before the restart POST, the
/// build's outcome is set to kOutcomeRestarting in the row (compare-and-swap on the row
/// version), and only the writer whose swap won sends the POST. A row found with
/// kOutcomeRestarting was left by a process that died between that write and recording
/// Drone's answer: the POST may or may not have reached Drone, so the build is never
/// restarted again; it is recorded as kOutcomeInterrupted for the operator to check.

#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <autoscale/drone.h>
#include <autoscale/log.h>
#include <autoscale/model.h>
#include <autoscale/result.h>
#include <autoscale/store.h>

namespace autoscale {

/// LostBuild::outcome values (besides "" for "not handled yet").
inline constexpr std::string_view kOutcomeRestarted = "restarted";
/// The intent, written before the restart POST; never left there by a live restarter.
inline constexpr std::string_view kOutcomeRestarting = "restarting";
inline constexpr std::string_view kOutcomeDisabled = "not restarted: disabled";
inline constexpr std::string_view kOutcomeDroneOss =
        "not restarted: Drone OSS has no incomplete-builds API";
inline constexpr std::string_view kOutcomeInterrupted =
        "not restarted: the daemon stopped between deciding to restart and Drone's answer; "
        "the build may or may not have been restarted (never retried)";

/// The builds whose stages ran on `serverName` (stage_machine), one LostBuild per
/// (repository, build number), in the order they first appear; `stage` is 0 (the v2 rows
/// carry no stage id) and `outcome` is "" (not handled yet).
std::vector<LostBuild> recordLostBuilds(const std::vector<IncompleteStage>& stages,
                                        const std::string& serverName);

/// When Drone has no incomplete-builds API (DroneClient::incompleteBuilds answered
/// Errc::Unsupported): one LostBuild per build id of the queue's stages that ran on
/// `serverName`, with `stage` set to the first such stage's id, no repository or number,
/// and the outcome kOutcomeDroneOss, so the loss is still recorded and says why nothing
/// was restarted.
std::vector<LostBuild> lostBuildsFromQueue(const std::vector<Stage>& queue,
                                           const std::string& serverName);

/// Adds `found` to `existing` without duplicates (same repository and number, or for
/// rows without a repository the same stage id); existing entries keep their outcome.
/// Returns true when something was added.
bool mergeLostBuilds(std::vector<LostBuild>& existing, const std::vector<LostBuild>& found);

/// Cancels and restarts, once each, the lost builds recorded on a server row.
///
/// Thread-compatible: one restarter per thread (it uses one DroneClient). Several
/// restarters, in one process or several, may work on the same store at once: the
/// compare-and-swap on the row makes each build's restart happen at most once. Borrows
/// `store`, `drone` and the logger's sink, which must outlive it.
class LostBuildRestarter {
public:
    /// With `enabled` false (DRONE_RESTART_LOST_BUILDS unset) every unhandled build is
    /// recorded as kOutcomeDisabled and Drone is not called.
    LostBuildRestarter(Store& store, DroneClient& drone, Logger logger, bool enabled);

    /// Handles every LostBuild of row `serverName` whose outcome is "" (and records
    /// kOutcomeInterrupted for those left at kOutcomeRestarting by a dead process):
    /// writes kOutcomeRestarting, cancels the build (DELETE), restarts it (POST) and
    /// records "restarted" with the new number, or "not restarted: <why>". A cancel that
    /// failed for a retryable reason (transport, timeout, 5xx) before the POST puts the
    /// outcome back to "" so that a later call tries again. Logs one line per build.
    /// Returns the row as last written. Errors: the store's (Errc::NotFound for no such
    /// row, Errc::Conflict only after repeated lost swaps, ...); Drone's errors are
    /// recorded in the row, not returned.
    [[nodiscard]] Result<Server> handle(const std::string& serverName);

private:
    /// Sets the outcome of `build` in `row` from `expected` to `outcome` by
    /// compare-and-swap, re-reading on a lost swap; false when the entry no longer has
    /// `expected` (another writer handled it).
    Result<bool> setOutcome(Server& row, const LostBuild& build, std::string_view expected,
                            std::string_view outcome, std::int64_t restartedAs = 0);

    Store& store_;
    DroneClient& drone_;
    Logger logger_;
    bool enabled_;
};

} // namespace autoscale
