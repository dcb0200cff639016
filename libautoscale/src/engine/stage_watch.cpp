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
    std::unordered_set<std::int64_t> present;
    int young = 0;
    for (const auto& stage : stages) {
        if (stage.status != "pending" || !stage.machine.empty())
            continue;
        present.insert(stage.id);
        const auto waited = now - firstSeen_.try_emplace(stage.id, now).first->second;
        if (waited >= WallTime::duration::zero() && waited < launchDelay_)
            ++young;
    }
    for (auto it = firstSeen_.begin(); it != firstSeen_.end();) {
        if (!present.contains(it->first)) {
            served_.erase(it->first);
            it = firstSeen_.erase(it);
        } else {
            ++it;
        }
    }
    return young;
}

void StageWatch::served(int slots, WallTime now) {
    const std::lock_guard lock(mutex_);
    std::vector<std::pair<WallTime, std::int64_t>> waiting;
    for (const auto& [id, seen] : firstSeen_) {
        if (!served_.contains(id))
            waiting.emplace_back(seen, id);
    }
    std::sort(waiting.begin(), waiting.end());
    for (int i = 0; i < slots && std::cmp_less(i, waiting.size()); ++i) {
        const auto& [seen, id] = waiting[static_cast<std::size_t>(i)];
        served_.insert(id);
        reaction_.observe(std::chrono::duration<double>(now - seen).count());
    }
}

Histogram StageWatch::reaction() const {
    const std::lock_guard lock(mutex_);
    return reaction_;
}

} // namespace autoscale
