// SPDX-License-Identifier: Apache-2.0
/// \file
/// Watching waiting stages cycle after cycle: how long each has waited (for
/// DRONE_POOL_LAUNCH_DELAY) and how long until capacity was requested for it
/// (the reaction-time histogram).

#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <span>
#include <unordered_map>

#include <autoscale/clock.h>
#include <autoscale/engine.h>
#include <autoscale/model.h>

namespace autoscale {

/// When each waiting stage was first seen, and which already got capacity.
/// Internally synchronized (the cycle writes, the API reads the histogram).
class StageWatch {
public:
    explicit StageWatch(std::chrono::seconds launchDelay) : launchDelay_(launchDelay) {}

    /// Notes when each waiting stage (pending, no machine) was first seen and
    /// forgets those gone; returns how many have waited less than the launch
    /// delay (a wall clock that went backwards counts as long enough).
    int observe(std::span<const Stage> stages, WallTime now);

    /// Capacity for `slots` stages was requested at `now`: the longest-waiting
    /// stages not yet served are served, and their wait is observed.
    void served(int slots, WallTime now);

    /// Seconds from a stage first seen waiting to capacity requested for it.
    [[nodiscard]] Histogram reaction() const;

private:
    const std::chrono::seconds launchDelay_;
    mutable std::mutex mutex_;
    /// A stage seen waiting: when first, the last read that showed it, and
    /// whether capacity was requested for it.
    struct Waiting {
        WallTime firstSeen{};
        std::uint64_t lastCycle = 0;
        bool served = false;
    };
    std::unordered_map<std::int64_t, Waiting> waiting_; ///< By stage id; guarded by mutex_.
    std::uint64_t cycle_ = 0;                           ///< observe() calls; guarded by mutex_.
    Histogram reaction_ = EngineMetrics{}.reaction;     ///< Guarded by mutex_.
};

} // namespace autoscale
