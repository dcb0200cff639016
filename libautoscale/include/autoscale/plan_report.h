// SPDX-License-Identifier: Apache-2.0
/// \file
/// One planning cycle as `autoscaler-cli plan` and GET /api/plan show it: the
/// inputs read, the plan, and what the cloud has that the store does not.

#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include <autoscale/model.h>
#include <autoscale/provider.h>
#include <autoscale/queue.h>
#include <autoscale/result.h>

namespace autoscale {

struct PlanReport {
    Plan plan{};
    PoolSettings pool{};
    int stagesTotal = 0;   ///< Every incomplete stage in the queue.
    int stagesMatched = 0; ///< Those this pool serves.
    std::vector<Server> servers{};
    bool cloudChecked = false;
    std::vector<Instance> unknownInstances{}; ///< Tagged as ours, unknown to the store.
    /// In a fleet: the live servers the fleet's max leaves this pool this
    /// cycle (fleetShares()); nullopt without a fleet max.
    std::optional<int> share{};
};

/// One planning cycle of a fleet, as the daemon's Fleet decides it.
struct FleetPlanReport {
    std::vector<PlanReport> pools{}; ///< Pool order (the pool file's).
    std::vector<Stage> unroutable{}; ///< Pending stages of our kind no pool serves.
    std::optional<int> fleetMax{};   ///< The pool file's `max`.
    int stagesTotal = 0;             ///< Every incomplete stage in the queue.
    /// Rows whose pool is none of `pools` (not planned, only counted).
    int serversElsewhere = 0;
};

/// Reads the queue once and plans against `servers`. Errors from the queue
/// are returned unchanged (the caller exits 1).
Result<PlanReport> planOnce(const PoolSettings& pool, Queue& queue, std::vector<Server> servers,
                            WallTime now);

/// The fleet's cycle on given inputs, changing nothing: the queue routed with
/// routeQueue() exactly as Fleet::cycle() routes it (each stage to the first
/// pool Drone would give it to; what a pool does not get is counted in its
/// `leftOut`, `routed` for stages another pool takes), each pool planned on
/// its own rows (Server::pool; rows without a pool belong to the first pool)
/// with its share of `fleetMax` (fleetShares()) capping its max as the engine
/// caps it. `pools` must not be empty.
FleetPlanReport planFleet(std::span<const PoolSettings> pools, std::optional<int> fleetMax,
                          std::vector<Stage> queue, std::vector<Server> servers, WallTime now);

/// Reads the queue once, then planFleet(). Queue errors are returned unchanged.
Result<FleetPlanReport> planFleetOnce(std::span<const PoolSettings> pools,
                                      std::optional<int> fleetMax, Queue& queue,
                                      std::vector<Server> servers, WallTime now);

/// Adds the cloud's view: instances `provider.list()` returns that no server
/// row names. Only list() is called.
Result<void> addCloudView(PlanReport& report, Provider& provider);

/// The human form: inputs, then each action with its reason.
std::string formatPlanText(const PlanReport& report);

/// The `--json` form (planToJson plus "unknown_instances" when the cloud was read).
std::string planReportJson(const PlanReport& report);

/// The human form of a fleet: the fleet's max, each pool as formatPlanText()
/// with its share, then the unroutable stages, one line each.
std::string formatFleetPlanText(const FleetPlanReport& report);

/// The `--json` form of a fleet: fleetPlanToJson() of the pools' plans and the
/// unroutable stages, plus "fleet_max" (null without one) and, when the cloud
/// was read, "unknown_instances" as an object of pool name to instance ids.
std::string fleetPlanReportJson(const FleetPlanReport& report);

} // namespace autoscale
