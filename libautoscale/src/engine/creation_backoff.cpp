// SPDX-License-Identifier: Apache-2.0
/// \file
/// CreationBackoff.

#include "engine/creation_backoff.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

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

std::string CreationBackoff::encode() const {
    const std::lock_guard lock(mutex_);
    std::int64_t until = 0;
    const SteadyTime now = clock_.steadyNow();
    if (until_ && *until_ > now) {
        const auto wall = clock_.now() + (*until_ - now);
        until = std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch())
                        .count();
    }
    return std::to_string(failures_) + "," + std::to_string(until);
}

void CreationBackoff::restore(std::string_view encoded) {
    const auto comma = encoded.find(',');
    if (comma == std::string_view::npos)
        return;
    int failures = 0;
    std::int64_t until = 0;
    const auto* begin = encoded.data();
    if (std::from_chars(begin, begin + comma, failures).ec != std::errc{} ||
        std::from_chars(begin + comma + 1, begin + encoded.size(), until).ec != std::errc{} ||
        failures < 0)
        return;
    const std::lock_guard lock(mutex_);
    failures_ = failures;
    until_.reset();
    const WallTime wall{
            std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds{until})};
    const WallTime now = clock_.now();
    if (until > 0 && wall > now) {
        const auto left = std::min<std::chrono::nanoseconds>(wall - now, max_);
        until_ = clock_.steadyNow() + left;
    }
}

} // namespace autoscale
