// SPDX-License-Identifier: Apache-2.0
/// \file
/// One planning cycle as `autoscaler-cli plan` and GET /api/plan show it: the
/// inputs read, the plan, and what the cloud has that the store does not.

#pragma once

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
};

/// Reads the queue once and plans against `servers`. Errors from the queue
/// are returned unchanged (the caller exits 1).
Result<PlanReport> planOnce(const PoolSettings& pool, Queue& queue, std::vector<Server> servers,
                            WallTime now);

/// Adds the cloud's view: instances `provider.list()` returns that no server
/// row names. Only list() is called.
Result<void> addCloudView(PlanReport& report, Provider& provider);

/// The human form: inputs, then each action with its reason.
std::string formatPlanText(const PlanReport& report);

/// The `--json` form (planToJson plus "unknown_instances" when the cloud was read).
std::string planReportJson(const PlanReport& report);

} // namespace autoscale
