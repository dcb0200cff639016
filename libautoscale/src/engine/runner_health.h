// SPDX-License-Identifier: Apache-2.0
/// \file
/// When each running server is pinged next, and its consecutive failed pings.

#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include <autoscale/clock.h>

namespace autoscale {

/// Ping bookkeeping per server. Internally synchronized (the cycle asks,
/// worker tasks report).
class RunnerHealth {
public:
    explicit RunnerHealth(std::chrono::milliseconds interval) : interval_(interval) {}

    /// Whether `name` is due a ping at `now`. The first ping comes one interval
    /// after the first question: the server was just installed, or just adopted
    /// at start.
    bool due(const std::string& name, SteadyTime now);
    /// A ping failed: returns the consecutive failures.
    int failed(const std::string& name);
    /// A ping succeeded.
    void healthy(const std::string& name);
    /// The server is gone.
    void forget(const std::string& name);

private:
    const std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::unordered_map<std::string, SteadyTime> lastPing_; ///< Guarded by mutex_.
    std::unordered_map<std::string, int> failures_;        ///< Guarded by mutex_.
};

} // namespace autoscale
