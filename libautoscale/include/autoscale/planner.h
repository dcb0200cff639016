// SPDX-License-Identifier: Apache-2.0
/// \file
/// The planner: a pure function from (pool, servers, matching stages, now) to a Plan.

#pragma once

#include <optional>
#include <span>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/model.h>

namespace autoscale {

/// What only a caller that watches the queue cycle after cycle (the engine)
/// knows; a one-shot `plan` leaves it empty.
struct PlanHistory {
    /// Slots kept free for a burst on top of the demand, once the queue has
    /// been watched for a whole DRONE_POOL_IDLE_TIMEOUT: the largest rise in
    /// demand within one boot time in that window. Unset: only servers idle
    /// for IDLE_TIMEOUT are drained.
    std::optional<int> burstReserve{};
    /// Pending stages that have waited less than DRONE_POOL_LAUNCH_DELAY
    /// since the caller first saw them. They count as demand; while stages
    /// run, one of them launches no server yet.
    int youngPending = 0;
};

/// Everything one planning cycle looks at. `stages` should already be
/// filtered with matchingStages(); others are ignored anyway.
struct PlanInput {
    PoolSettings pool{};
    std::vector<Server> servers{};
    std::vector<Stage> stages{};
    WallTime now{};
    PlanHistory history{};
};

/// Decides what to create and what to drain, by `input.pool.policy`.
///
/// default (SPEC §5): demand = running + pending + buffer slots; wanted =
/// clamp(ceil(demand / concurrency), MIN, MAX); creates up to the difference
/// without ever letting live servers exceed MAX. Drains running servers no
/// stage names and older than MIN_AGE, idle longest first: any beyond
/// ceil((demand + burstReserve) / concurrency) servers when a reserve is
/// given, and any idle for IDLE_TIMEOUT while above `wanted`.
///
/// classic: drone/autoscaler's arithmetic, quirks included (error servers count
/// as capacity, no pre-provisioning to MIN, the buffer only reduces free
/// slots, scale-down newest first and all-or-nothing against MIN).
Plan plan(const PlanInput& input);

/// The same, without copying the inputs (the engine's hot path).
Plan plan(const PoolSettings& pool, std::span<const Server> servers, std::span<const Stage> stages,
          WallTime now, const PlanHistory& history = {});

/// The servers named by a pending or running stage's `machine`.
bool isBusy(const Server& server, const std::vector<Stage>& stages);

} // namespace autoscale
