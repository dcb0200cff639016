// SPDX-License-Identifier: Apache-2.0
/// \file
/// The slots a pool demanded, cycle by cycle, over the last idle timeout:
/// what the default policy's scale-down reserve is computed from.

#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <utility>

#include <autoscale/clock.h>

namespace autoscale {

/// Demand samples (running + pending + buffer slots) of the last `window`.
/// Not thread-safe: the engine's cycle owns it.
class DemandHistory {
public:
    explicit DemandHistory(std::chrono::milliseconds window) : window_(window) {}

    /// Records one cycle's demand and forgets samples older than the window.
    void record(SteadyTime at, int slots);

    /// Forgets everything: after a cycle that could not read the queue, the
    /// history has a gap and must cover a whole window again.
    void clear();

    /// Whether the samples span a whole window (the engine has watched the
    /// queue for at least that long without a gap).
    bool complete() const;

    /// The largest rise in demand within any `span` of the window: the most
    /// a burst added before a server launched at its start could have come up.
    /// 0 with fewer than two samples.
    int largestRise(std::chrono::milliseconds span) const;

    /// The newest sample's demand.
    std::optional<int> latest() const;

private:
    std::chrono::milliseconds window_;
    std::deque<std::pair<SteadyTime, int>> samples_;
    std::optional<SteadyTime> since_;
};

} // namespace autoscale
