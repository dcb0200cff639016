// SPDX-License-Identifier: Apache-2.0
/// \file
/// DemandHistory: a sliding window of per-cycle demand.

#include "engine/demand_history.h"

#include <algorithm>

namespace autoscale {

void DemandHistory::record(SteadyTime at, int slots) {
    if (!samples_.empty() && at < samples_.back().first)
        clear(); // Steady time does not go backwards; if it did, start over.
    if (!since_)
        since_ = at;
    samples_.emplace_back(at, slots);
    while (at - samples_.front().first > window_)
        samples_.pop_front();
}

void DemandHistory::clear() {
    samples_.clear();
    since_.reset();
}

bool DemandHistory::complete() const {
    return since_ && !samples_.empty() && samples_.back().first - *since_ >= window_;
}

int DemandHistory::largestRise(std::chrono::milliseconds span) const {
    // For each sample, the lowest demand of the `span` before it, kept as a
    // monotonic queue of indices with increasing demand: O(n) over the window.
    std::deque<std::size_t> lows;
    int rise = 0;
    for (std::size_t i = 0; i < samples_.size(); ++i) {
        const auto& [at, slots] = samples_[i];
        while (!lows.empty() && at - samples_[lows.front()].first > span)
            lows.pop_front();
        while (!lows.empty() && samples_[lows.back()].second >= slots)
            lows.pop_back();
        lows.push_back(i);
        rise = std::max(rise, slots - samples_[lows.front()].second);
    }
    return rise;
}

std::optional<int> DemandHistory::latest() const {
    if (samples_.empty())
        return std::nullopt;
    return samples_.back().second;
}

} // namespace autoscale
