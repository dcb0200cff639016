// SPDX-License-Identifier: Apache-2.0
/// \file
/// StageWatch.

#include "engine/stage_watch.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace autoscale {

int StageWatch::observe(std::span<const Stage> stages, WallTime now) {
    const std::lock_guard lock(mutex_);
    ++cycle_;
    int young = 0;
    for (const auto& stage : stages) {
        if (stage.status != "pending" || !stage.machine.empty())
            continue;
        Waiting& waiting = waiting_.try_emplace(stage.id, Waiting{.firstSeen = now}).first->second;
        waiting.lastCycle = cycle_;
        const auto waited = now - waiting.firstSeen;
        if (waited >= WallTime::duration::zero() && waited < launchDelay_)
            ++young;
    }
    // Forget the stages this read did not show (they started or went away).
    std::erase_if(waiting_, [this](const auto& entry) { return entry.second.lastCycle != cycle_; });
    return young;
}

void StageWatch::served(int slots, WallTime now) {
    const std::lock_guard lock(mutex_);
    std::vector<std::pair<WallTime, std::int64_t>> waiting;
    for (const auto& [id, stage] : waiting_) {
        if (!stage.served)
            waiting.emplace_back(stage.firstSeen, id);
    }
    std::sort(waiting.begin(), waiting.end());
    for (int i = 0; i < slots && std::cmp_less(i, waiting.size()); ++i) {
        const auto& [seen, id] = waiting[static_cast<std::size_t>(i)];
        waiting_.at(id).served = true;
        reaction_.observe(std::chrono::duration<double>(now - seen).count());
    }
}

Histogram StageWatch::reaction() const {
    const std::lock_guard lock(mutex_);
    return reaction_;
}

} // namespace autoscale
