// SPDX-License-Identifier: Apache-2.0
/// \file
/// RunnerHealth.

#include "engine/runner_health.h"

namespace autoscale {

bool RunnerHealth::due(const std::string& name, SteadyTime now) {
    const std::lock_guard lock(mutex_);
    const auto [it, first] = lastPing_.try_emplace(name, now);
    if (first || now - it->second < interval_)
        return false;
    it->second = now;
    return true;
}

int RunnerHealth::failed(const std::string& name) {
    const std::lock_guard lock(mutex_);
    return ++failures_[name];
}

void RunnerHealth::healthy(const std::string& name) {
    const std::lock_guard lock(mutex_);
    failures_.erase(name);
}

void RunnerHealth::forget(const std::string& name) {
    const std::lock_guard lock(mutex_);
    failures_.erase(name);
    lastPing_.erase(name);
}

} // namespace autoscale
