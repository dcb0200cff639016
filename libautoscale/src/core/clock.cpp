// SPDX-License-Identifier: Apache-2.0
/// \file
/// SystemClock: the only place in libautoscale that reads the machine's clocks.

#include "autoscale/clock.h"

#include <condition_variable>
#include <mutex>

namespace autoscale {

Clock::~Clock() = default;

namespace {

class SystemClock final : public Clock {
public:
    [[nodiscard]] WallTime now() const override { return std::chrono::system_clock::now(); }
    [[nodiscard]] SteadyTime steadyNow() const override { return std::chrono::steady_clock::now(); }
    bool sleepFor(std::chrono::nanoseconds duration, const std::stop_token& stop) const override {
        std::mutex mutex;
        std::condition_variable_any cv;
        std::unique_lock lock(mutex);
        const auto deadline = std::chrono::steady_clock::now() + duration;
        // wait_until returns the predicate, always false here: whether the
        // wait ended early is the stop token's state.
        (void)cv.wait_until(lock, stop, deadline, [] { return false; });
        return !stop.stop_requested();
    }
};

} // namespace

std::unique_ptr<Clock> makeSystemClock() {
    return std::make_unique<SystemClock>();
}

} // namespace autoscale
