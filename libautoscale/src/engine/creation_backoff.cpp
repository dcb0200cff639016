// SPDX-License-Identifier: Apache-2.0
/// \file
/// CreationBackoff.

#include "engine/creation_backoff.h"

#include <algorithm>

namespace autoscale {

CreationBackoff::CreationBackoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
                                 const Clock& clock)
    : initial_(initial)
    , max_(max)
    , clock_(clock) {
}

std::chrono::milliseconds CreationBackoff::failed() {
    const std::lock_guard lock(mutex_);
    ++failures_;
    const auto exponent = std::min(failures_ - 1, 20);
    const std::chrono::milliseconds delay =
            std::min<std::chrono::milliseconds>(initial_ * (1LL << exponent), max_);
    until_ = clock_.steadyNow() + delay;
    return delay;
}

void CreationBackoff::succeeded() {
    const std::lock_guard lock(mutex_);
    failures_ = 0;
    until_.reset();
}

int CreationBackoff::failures() const {
    const std::lock_guard lock(mutex_);
    return failures_;
}

std::optional<std::chrono::nanoseconds> CreationBackoff::remaining() const {
    const std::lock_guard lock(mutex_);
    const SteadyTime now = clock_.steadyNow();
    if (!until_ || *until_ <= now)
        return std::nullopt;
    return *until_ - now;
}

} // namespace autoscale
