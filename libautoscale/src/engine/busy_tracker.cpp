// SPDX-License-Identifier: Apache-2.0
/// \file
/// BusyTracker and the definition of a busy server.

#include "engine/busy_tracker.h"

#include <algorithm>
#include <utility>

#include "engine/server_lifecycle.h"

namespace autoscale {

bool stageNamesServer(const Stage& stage, std::string_view server) {
    return (stage.status == "pending" || stage.status == "running") && !stage.machine.empty() &&
           stage.machine == server;
}

BusyNames busyServerNames(std::span<const Stage> stages) {
    BusyNames names;
    for (const auto& stage : stages) {
        if (stageNamesServer(stage, stage.machine))
            names.insert(stage.machine);
    }
    return names;
}

void BusyTracker::record(std::vector<Server>& rows, const BusyNames& busyNow, WallTime now,
                         const ServerLifecycle& lifecycle,
                         const std::function<bool(const std::string&)>& inFlight) {
    for (auto& s : rows) {
        const auto seen = busyBefore_.find(s.name);
        if (seen == busyBefore_.end() || busyNow.contains(s.name))
            continue;
        const WallTime lastSeen = seen->second;
        if (inFlight(s.name)) {
            // Its task owns the row: this cycle's plan sees the idle start,
            // the store gets it next cycle (kept in busyBefore_).
            s.lastBusy = std::max(s.lastBusy, lastSeen);
            continue;
        }
        Server updated = s;
        updated.lastBusy = std::max(s.lastBusy, lastSeen);
        auto written = lifecycle.save(updated);
        if (written)
            s = std::move(*written); // The plan this cycle sees the new idle start.
        if (written || s.state == ServerState::Terminated)
            busyBefore_.erase(seen);
    }
    // Collected after the writes above, which may replace the name strings.
    std::unordered_set<std::string_view> names;
    names.reserve(rows.size());
    for (const auto& s : rows)
        names.insert(s.name);
    std::erase_if(busyBefore_, [&](const auto& entry) { return !names.contains(entry.first); });
    for (const auto name : busyNow)
        busyBefore_[std::string(name)] = now;
}

} // namespace autoscale
