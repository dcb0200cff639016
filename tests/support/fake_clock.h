// SPDX-License-Identifier: Apache-2.0
/// \file
/// A Clock whose time moves only when a test says so, or instantly on sleepFor.

#pragma once

#include <mutex>

#include <autoscale/clock.h>

namespace autoscale::test {

class FakeClock final : public Clock {
public:
    explicit FakeClock(WallTime start = WallTime{std::chrono::seconds{1'700'000'000}})
        : wall_(start) {}

    [[nodiscard]] WallTime now() const override {
        const std::lock_guard lock(mutex_);
        return wall_;
    }
    [[nodiscard]] SteadyTime steadyNow() const override {
        const std::lock_guard lock(mutex_);
        return SteadyTime{} + std::chrono::duration_cast<SteadyTime::duration>(elapsed_);
    }
    /// Advances both clocks by `duration` at once and returns true, unless stop
    /// was already requested.
    bool sleepFor(std::chrono::nanoseconds duration, const std::stop_token& stop) const override {
        if (stop.stop_requested())
            return false;
        advance(duration);
        return true;
    }

    void advance(std::chrono::nanoseconds duration) const {
        const std::lock_guard lock(mutex_);
        wall_ += std::chrono::duration_cast<WallTime::duration>(duration);
        elapsed_ += duration;
    }
    void set(WallTime wall) const {
        const std::lock_guard lock(mutex_);
        elapsed_ += std::chrono::duration_cast<std::chrono::nanoseconds>(wall - wall_);
        wall_ = wall;
    }

private:
    mutable std::mutex mutex_;
    mutable WallTime wall_;
    mutable std::chrono::nanoseconds elapsed_{std::chrono::hours{1}};
};

} // namespace autoscale::test
