// SPDX-License-Identifier: Apache-2.0
/// \file
/// SIGTERM and SIGINT as a stop request: blocked in every thread, received by
/// one waiting thread that asks the daemon to stop.

#pragma once

#include <chrono>
#include <stop_token>
#include <thread>

#include <autoscale/log.h>

namespace autoscale::tools {

/// Blocks SIGTERM, SIGINT and SIGUSR1 in the calling thread, and so in every
/// thread it starts afterwards, and ignores SIGPIPE. Call first in main,
/// before any thread starts, so that only StopOnSignal receives them.
void blockStopSignals();

/// Ends the process now with `status`, skipping destructors: for threads
/// blocked in network calls that cannot be joined in time. Every state change
/// is a committed store transaction, so the store is as after a crash.
[[noreturn]] void exitNow(int status);

/// A thread that waits for SIGTERM or SIGINT, logs which, and requests `stop`.
/// From the signal on it is also a watchdog: if the process is still running
/// `limit` later (a cycle blocked in a slow Drone or EC2 call), it logs that and
/// exits 0 with exitNow(), so `docker stop` (10 s) never has to SIGKILL us.
/// Destroying it ends the thread (SIGUSR1 wakes it). blockStopSignals() must
/// have run before.
class StopOnSignal {
public:
    StopOnSignal(const std::stop_source& stop, const Logger& log,
                 std::chrono::seconds limit = std::chrono::seconds{8});
    ~StopOnSignal();
    StopOnSignal(const StopOnSignal&) = delete;
    StopOnSignal& operator=(const StopOnSignal&) = delete;

private:
    std::jthread thread_;
};

} // namespace autoscale::tools
