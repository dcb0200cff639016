// SPDX-License-Identifier: Apache-2.0
/// \file
/// Standard-mode retry arithmetic (botocore retries/standard.py and quota.py).

#include "retry.h"

#include <algorithm>
#include <cmath>

namespace autoscale::aws {

double unitInterval(RandomEngine& engine) {
    return static_cast<double>(engine() >> 11U) * 0x1.0p-53;
}

std::chrono::milliseconds backoffDelay(int attempt, double unit, const RetrySettings& settings) {
    const auto base = static_cast<double>(settings.base.count());
    const auto cap = static_cast<double>(settings.maxBackoff.count());
    const double exponential = base * std::ldexp(1.0, std::clamp(attempt, 1, 62) - 1);
    const double ceiling = std::min(exponential, cap);
    return std::chrono::milliseconds(static_cast<std::int64_t>(unit * ceiling));
}

std::chrono::milliseconds backoffDelay(int attempt, RandomEngine& engine,
                                       const RetrySettings& settings) {
    return backoffDelay(attempt, unitInterval(engine), settings);
}

bool isRetryableByStandardMode(const Error& error) {
    // Standard mode retries exactly the kinds Error::retryable() names.
    return error.retryable();
}

RetryPolicy::RetryPolicy(RetrySettings settings, std::uint64_t seed)
    : settings_(settings)
    , engine_(seed)
    , quota_(settings.quota) {
}

std::optional<std::chrono::milliseconds> RetryPolicy::delayFor(const Error& error, int attempt) {
    if (!isRetryableByStandardMode(error) || attempt >= settings_.maxAttempts)
        return std::nullopt;
    const bool timeout = error.code == Errc::Timeout || error.code == Errc::Transport;
    const int cost = timeout ? settings_.timeoutCost : settings_.retryCost;
    if (cost > quota_)
        return std::nullopt;
    quota_ -= cost;
    lastCost_ = cost;
    return backoffDelay(attempt, engine_, settings_);
}

void RetryPolicy::onSuccess(bool retried) {
    const int refund = retried ? lastCost_ : 1;
    quota_ = std::min(settings_.quota, quota_ + refund);
    lastCost_ = 0;
}

} // namespace autoscale::aws
