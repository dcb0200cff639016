// SPDX-License-Identifier: Apache-2.0
/// \file
/// Exponential back-off of server creation after consecutive failures
/// (SPEC §4 invariant 4).

#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <autoscale/clock.h>

namespace autoscale {

/// Counts consecutive server failures and holds creation back for
/// initial × 2^(failures − 1), at most `max`. Internally synchronized;
/// borrows the clock (monotonic time only).
class CreationBackoff {
public:
    CreationBackoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
                    const Clock& clock);

    /// One more failure: returns the new delay, counted from now.
    std::chrono::milliseconds failed();
    /// A server came up: no more back-off.
    void succeeded();

    /// Consecutive failures so far.
    [[nodiscard]] int failures() const;
    /// How long creation is still held back; nullopt when it is not.
    [[nodiscard]] std::optional<std::chrono::nanoseconds> remaining() const;

    /// The state as text for the store ("failures,until" with `until` in Unix
    /// milliseconds of the wall clock, 0 for none): what the next leader, or
    /// this daemon after a restart, takes up with restore().
    [[nodiscard]] std::string encode() const;
    /// Takes up a state encode() wrote (another process's); malformed text is ignored.
    void restore(std::string_view encoded);

private:
    const std::chrono::milliseconds initial_;
    const std::chrono::milliseconds max_;
    const Clock& clock_;
    mutable std::mutex mutex_;
    int failures_ = 0;                  ///< Guarded by mutex_.
    std::optional<SteadyTime> until_{}; ///< Guarded by mutex_.
};

} // namespace autoscale
