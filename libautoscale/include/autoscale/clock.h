// SPDX-License-Identifier: Apache-2.0
/// \file
/// The injected source of time. Nothing in libautoscale reads a std clock directly.

#pragma once

#include <chrono>
#include <memory>
#include <stop_token>

namespace autoscale {

using WallTime = std::chrono::system_clock::time_point;
using SteadyTime = std::chrono::steady_clock::time_point;

/// Wall time (SigV4 dates, launch times, logs) and monotonic time (timeouts,
/// back-off, idle detection). Implementations are thread-safe.
class Clock {
public:
    virtual ~Clock();

    /// Current wall-clock time.
    [[nodiscard]] virtual WallTime now() const = 0;
    /// Current monotonic time.
    [[nodiscard]] virtual SteadyTime steadyNow() const = 0;
    /// Blocks for `duration` or until `stop` is requested, whichever comes first.
    /// Returns false when woken by `stop`.
    virtual bool sleepFor(std::chrono::nanoseconds duration, const std::stop_token& stop) const = 0;

    Clock(const Clock&) = delete;
    Clock& operator=(const Clock&) = delete;

protected:
    Clock() = default;
};

/// The real clocks of the machine.
std::unique_ptr<Clock> makeSystemClock();

} // namespace autoscale
