// SPDX-License-Identifier: Apache-2.0
/// \file
/// What the status page (/ui) remembers between requests: one sample of
/// servers against demand per minute over the last 24 hours, and the last
/// decisions with their reasons. Bounded, in memory, fed by the API server.

#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/model.h>

namespace autoscale {

/// One point of the chart.
struct UiSample {
    WallTime time{};
    int servers = 0; ///< Servers providing capacity (pending..running).
    int demand = 0;  ///< Matching stages, pending plus running.

    friend bool operator==(const UiSample&, const UiSample&) = default;
};

/// One decision as the page lists it: when it was first seen, and the plan.
struct UiDecision {
    WallTime time{};
    Plan plan{};

    friend bool operator==(const UiDecision&, const UiDecision&) = default;
};

/// Samples at most once per `kUiSampleInterval`, kept for `kUiHistorySpan`.
inline constexpr std::chrono::minutes kUiSampleInterval{1};
inline constexpr std::chrono::hours kUiHistorySpan{24};
/// Decisions kept for the page.
inline constexpr std::size_t kUiDecisions = 20;

/// The sampler's memory. Thread-safe (the background sampler and page
/// requests both record). Time always comes from the caller's Clock.
class UiHistory {
public:
    UiHistory() = default;

    /// Records `sample` unless the last one is less than kUiSampleInterval
    /// older; drops samples older than kUiHistorySpan before `sample.time`.
    /// Returns true when the sample was kept.
    bool record(const UiSample& sample);

    /// Records `plan` as a decision when it differs from the last one recorded
    /// (a plan with no servers and no reasons is "no plan yet" and skipped).
    void recordPlan(WallTime time, const Plan& plan);

    /// The samples, oldest first (at most 24 h plus one).
    [[nodiscard]] std::vector<UiSample> samples() const;
    /// The decisions, newest first (at most kUiDecisions).
    [[nodiscard]] std::vector<UiDecision> decisions() const;

private:
    mutable std::mutex mutex_;
    std::deque<UiSample> samples_;
    std::deque<UiDecision> decisions_;
};

} // namespace autoscale
