// SPDX-License-Identifier: Apache-2.0
/// \file
/// SIGTERM and SIGINT as a stop request: blocked in every thread, received by
/// one waiting thread that asks the daemon to stop.

#pragma once

#include <stop_token>
#include <thread>

#include <autoscale/log.h>

namespace autoscale::tools {

/// Blocks SIGTERM, SIGINT and SIGUSR1 in the calling thread, and so in every
/// thread it starts afterwards, and ignores SIGPIPE. Call first in main,
/// before any thread starts, so that only StopOnSignal receives them.
void blockStopSignals();

/// A thread that waits for SIGTERM or SIGINT, logs which, and requests `stop`.
/// Destroying it ends the thread (SIGUSR1 wakes it). blockStopSignals() must
/// have run before.
class StopOnSignal {
public:
    StopOnSignal(const std::stop_source& stop, const Logger& log);
    ~StopOnSignal();
    StopOnSignal(const StopOnSignal&) = delete;
    StopOnSignal& operator=(const StopOnSignal&) = delete;

private:
    std::jthread thread_;
};

} // namespace autoscale::tools
