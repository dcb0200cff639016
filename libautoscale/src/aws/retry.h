// SPDX-License-Identifier: Apache-2.0
/// \file
/// The AWS SDKs' "standard" retry mode: which errors are retried, full-jitter exponential
/// backoff capped at 20 s, and the 500-token retry quota (5 per retry, 10 after a
/// timeout). Delays are computed here, never slept here.

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include <autoscale/ec2_provider.h>
#include <autoscale/result.h>

namespace autoscale::aws {

using RandomEngine = std::mt19937_64;

/// A uniform double in [0, 1) from 53 bits of `engine` (portable, unlike
/// std::uniform_real_distribution).
double unitInterval(RandomEngine& engine);

/// Full jitter: unit * min(base * 2^(attempt-1), maxBackoff), where `attempt` is the
/// 1-based number of the attempt that just failed and `unit` is in [0, 1).
std::chrono::milliseconds backoffDelay(int attempt, double unit, const RetrySettings& settings);
/// The same with `unit` drawn from `engine`.
std::chrono::milliseconds backoffDelay(int attempt, RandomEngine& engine,
                                       const RetrySettings& settings);

/// True for what standard mode retries: throttling, transport errors and timeouts, and
/// 5xx/transient service errors. Capacity, auth, not-found and caller errors are not.
bool isRetryableByStandardMode(const Error& error);

/// Retry decisions with the quota. Thread-compatible (the client holding it serializes).
class RetryPolicy {
public:
    RetryPolicy(RetrySettings settings, std::uint64_t seed);

    /// After attempt number `attempt` (1-based) failed with `error`: the delay before the
    /// next attempt, or nullopt when the call must fail now (not retryable, attempts used
    /// up, or the quota cannot pay for the retry).
    std::optional<std::chrono::milliseconds> delayFor(const Error& error, int attempt);

    /// A call succeeded; `retried` says whether it needed retries. Refunds the quota.
    void onSuccess(bool retried);

    [[nodiscard]] int quotaLeft() const { return quota_; }
    [[nodiscard]] const RetrySettings& settings() const { return settings_; }

private:
    RetrySettings settings_;
    RandomEngine engine_;
    int quota_;
    int lastCost_ = 0;
};

} // namespace autoscale::aws
