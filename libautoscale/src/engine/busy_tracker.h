// SPDX-License-Identifier: Apache-2.0
/// \file
/// Which servers are busy: the one definition of "a stage names this server"
/// (SPEC §4 invariant 3), and the bookkeeping of when each server last was.

#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/model.h>

namespace autoscale {

class ServerLifecycle;

/// True when `stage` is pending or running and its `machine` is `server`:
/// that server is running or has accepted the stage.
bool stageNamesServer(const Stage& stage, std::string_view server);

/// Names of the servers that pending or running stages name (views into
/// `stages`, which must outlive the set).
using BusyNames = std::unordered_set<std::string_view>;
BusyNames busyServerNames(std::span<const Stage> stages);

/// When each server was last seen busy, so that its idle time starts at the
/// last cycle a stage named it. Thread-compatible: the engine's cycle owns it.
class BusyTracker {
public:
    /// For each server that was busy and is no longer, stores `lastBusy` (the
    /// last cycle that saw it busy) in `rows` and, unless `inFlight` says a task
    /// owns the row, in the store; then remembers who is busy `now`. Busy
    /// servers need no write (the planner never drains them), so a cycle writes
    /// only the busy-to-idle transitions.
    void record(std::vector<Server>& rows, const BusyNames& busyNow, WallTime now,
                const ServerLifecycle& lifecycle,
                const std::function<bool(const std::string&)>& inFlight);

private:
    /// Servers a stage named, with the last cycle that saw it.
    std::unordered_map<std::string, WallTime> busyBefore_;
};

} // namespace autoscale
