// SPDX-License-Identifier: Apache-2.0
/// \file
/// The planner: a pure function from (pool, servers, matching stages, now) to a Plan.

#pragma once

#include <span>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/model.h>

namespace autoscale {

/// Everything one planning cycle looks at. `stages` should already be
/// filtered with matchingStages(); others are ignored anyway.
struct PlanInput {
    PoolSettings pool{};
    std::vector<Server> servers{};
    std::vector<Stage> stages{};
    WallTime now{};
};

/// Decides what to create and what to drain, by `input.pool.policy`.
///
/// default (SPEC §5): demand = running + pending + buffer slots; wanted =
/// clamp(ceil(demand / concurrency), MIN, MAX); creates up to the difference
/// without ever letting live servers exceed MAX; drains running servers idle
/// longest, only past IDLE_TIMEOUT and MIN_AGE and never one a stage names.
///
/// classic: drone/autoscaler's arithmetic, quirks included (error servers count
/// as capacity, no pre-provisioning to MIN, the buffer only reduces free
/// slots, scale-down newest first and all-or-nothing against MIN).
Plan plan(const PlanInput& input);

/// The same, without copying the inputs (the engine's hot path).
Plan plan(const PoolSettings& pool, std::span<const Server> servers, std::span<const Stage> stages,
          WallTime now);

/// The servers named by a pending or running stage's `machine`.
bool isBusy(const Server& server, const std::vector<Stage>& stages);

} // namespace autoscale
