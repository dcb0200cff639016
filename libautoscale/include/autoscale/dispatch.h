// SPDX-License-Identifier: Apache-2.0
/// \file
/// Drone's dispatch rule: which stages of GET /api/queue Drone gives to one of
/// our runners. The planner, `autoscaler-cli plan`, `simulate` and pool routing
/// count demand with these functions and nothing else.
///
/// The rule as Drone's scheduler applies it (harness/harness, branch `drone`,
/// scheduler/queue/queue.go, `signal()`), for a runner that polls with kind
/// `pipeline`, type `docker` and the pool's platform and labels:
/// - kind and type equal, an empty kind meaning `pipeline` and an empty type
///   `docker`;
/// - when the runner states a platform (any of os, arch, variant, kernel; ours
///   always states os and arch): os and arch equal, variant equal only if the
///   stage sets one, kernel equal only if the stage sets one;
/// - labels exactly equal when either side has any;
/// - a pending stage with a concurrency `limit` is held back while the stages
///   of the same repo with the same name that come before it (lower id) or are
///   running number `limit` or more;
/// - a pending stage of a repo with a `throttle` is held back while the stages
///   of that repo that come before it number `throttle` or more.
///
/// Siblings for `limit` and `throttle` are every pending or running stage of
/// the queue, whatever runner they are for, as in Drone. A pending stage that
/// a runner has already accepted (`machine` set) was dispatched: it is never
/// held back. A running stage is judged by kind, platform and labels only.

#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <autoscale/model.h>

namespace autoscale {

/// The kind and type our runner (drone-runner-docker) polls for.
inline constexpr std::string_view kRunnerKind = "pipeline";
inline constexpr std::string_view kRunnerType = "docker";

/// Why a stage is, or is not, demand for a pool's runners.
enum class Dispatch {
    Given,    ///< Pending: Drone gives it to our runner. Running: it runs on one like ours.
    Status,   ///< Neither pending nor running.
    Kind,     ///< Not kind `pipeline` type `docker`.
    Platform, ///< os/arch differ, or the stage sets a variant or kernel the runner lacks.
    Labels,   ///< Labels not exactly equal.
    Limit,    ///< Held back by the pipeline's concurrency limit.
    Throttle, ///< Held back by the repository's throttle.
};

/// Lower-case name: "given", "status", "kind", "platform", "labels", "limit",
/// "throttle".
std::string_view nameOf(Dispatch reason);

/// The part of the rule that looks at the stage alone: kind/type, platform and
/// labels. Returns Given, Kind, Platform or Labels (in that order of checks);
/// the status is not looked at.
Dispatch runnerMatch(const Stage& stage, const PoolSettings& runner);

/// The whole rule over the whole queue: one verdict per stage, in the order of
/// `queue`. O(n) when no stage has a limit or throttle, O(n log n) otherwise.
std::vector<Dispatch> classifyQueue(std::span<const Stage> queue, const PoolSettings& runner);

/// Drone's rule over the pools of a fleet, in routing order (the pool file's).
struct RoutedQueue {
    /// Per stage of the queue: the index of the first pool whose runners Drone
    /// would give it to (kind/type, platform, labels), or -1 when none would.
    std::vector<int> pool{};
    /// Per stage: Given when it is demand for its pool; Limit or Throttle when
    /// it is routed but held back; Status for a stage neither pending nor
    /// running; for a stage no pool takes, why the first pool does not.
    std::vector<Dispatch> verdict{};
};

/// Routes every stage of the whole queue: each goes to the first pool, in
/// order, that Drone's dispatch rule would give it to; hold-backs count
/// siblings across the whole queue. O(n × pools) plus the hold-back pass.
RoutedQueue routeQueue(std::span<const Stage> queue, std::span<const PoolSettings> pools);

/// A pending stage of our kind that no pool serves (its platform or labels
/// match none): reported as unroutable, never silently ignored.
bool isUnroutable(const Stage& stage, Dispatch verdict, int pool);

/// What a stage asks for, for people: "linux/arm64", "linux/arm/v7",
/// "linux/arm64/v8 kernel 6.1 labels gpu:yes,size:large".
std::string describePlatform(const Stage& stage);

/// Adds one stage's verdict to the counts (Given adds nothing).
void countLeftOut(StagesLeftOut& counts, Dispatch reason);

/// Removes from `queue` (the whole queue, in place, order kept) every stage that
/// is not demand for the pool's runners and says how many went, by reason.
StagesLeftOut keepDispatched(std::vector<Stage>& queue, const PoolSettings& runner);

/// One line for people: "none left out", or e.g. "8 left out by Drone's
/// dispatch rule: 3 kind/type (not docker), 2 platform, 3 limit" (reasons with
/// a count of zero are not named).
std::string formatLeftOut(const StagesLeftOut& counts);

} // namespace autoscale
