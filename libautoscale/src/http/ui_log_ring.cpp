// SPDX-License-Identifier: Apache-2.0
/// \file
/// LogRing: a log sink decorator that forwards every record and keeps the last
/// few for the status page.

#include <autoscale/api_server.h>

namespace autoscale {

LogRing::LogRing(LogSink& inner, std::size_t capacity) : inner_(inner), capacity_(capacity) {
}

void LogRing::write(const LogRecord& record) {
    inner_.write(record);
    if (capacity_ == 0)
        return;
    const std::lock_guard lock(mutex_);
    if (records_.size() == capacity_)
        records_.pop_front();
    records_.push_back(record);
}

std::vector<LogRecord> LogRing::recent() const {
    const std::lock_guard lock(mutex_);
    return {records_.begin(), records_.end()};
}

} // namespace autoscale
