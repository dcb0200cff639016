// SPDX-License-Identifier: Apache-2.0
/// \file
/// The status page's bounded memory: one sample a minute for 24 hours and the
/// last decisions.

#include "ui_history.h"

namespace autoscale {

bool UiHistory::record(const UiSample& sample) {
    const std::lock_guard lock(mutex_);
    if (!samples_.empty() && sample.time < samples_.back().time)
        samples_.clear(); // The wall clock went back: the old samples no longer line up.
    if (!samples_.empty() && sample.time - samples_.back().time < kUiSampleInterval)
        return false;
    samples_.push_back(sample);
    while (!samples_.empty() && sample.time - samples_.front().time > kUiHistorySpan)
        samples_.pop_front();
    return true;
}

void UiHistory::recordPlan(WallTime time, const Plan& plan) {
    if (plan.reasons.empty() && plan.servers == 0 && plan.create == 0 && plan.drain.empty() &&
        plan.pending == 0 && plan.running == 0)
        return;
    const std::lock_guard lock(mutex_);
    if (!decisions_.empty() && decisions_.front().plan == plan)
        return;
    decisions_.push_front(UiDecision{.time = time, .plan = plan});
    while (decisions_.size() > kUiDecisions)
        decisions_.pop_back();
}

std::vector<UiSample> UiHistory::samples() const {
    const std::lock_guard lock(mutex_);
    return {samples_.begin(), samples_.end()};
}

std::vector<UiDecision> UiHistory::decisions() const {
    const std::lock_guard lock(mutex_);
    return {decisions_.begin(), decisions_.end()};
}

} // namespace autoscale
