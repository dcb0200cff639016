// SPDX-License-Identifier: Apache-2.0
/// \file
/// classifyCloud and OrphanMarks.

#include "engine/cloud_sweep.h"

#include <unordered_map>
#include <unordered_set>

namespace autoscale {

namespace {

/// Not terminated nor shutting down: the machine is still there.
bool isLive(InstanceState state) {
    switch (state) {
    case InstanceState::Pending:
    case InstanceState::Running:
    case InstanceState::Stopping:
    case InstanceState::Stopped:
        return true;
    case InstanceState::ShuttingDown:
    case InstanceState::Terminated:
        return false;
    }
    return false;
}

bool mayVanish(ServerState state) {
    switch (state) {
    case ServerState::Booting:
    case ServerState::Installing:
    case ServerState::Running:
    case ServerState::Draining:
        return true;
    case ServerState::Pending:
    case ServerState::Creating:
    case ServerState::Terminating:
    case ServerState::Terminated:
    case ServerState::Error:
        return false;
    }
    return false;
}

bool mayAdopt(const Server& s) {
    if (!s.instanceId.empty())
        return false;
    return s.state == ServerState::Creating ||
           (s.state == ServerState::Error && !s.clientToken.empty());
}

} // namespace

CloudFindings classifyCloud(std::span<const Server> rows, std::span<const Instance> instances,
                            WallTime now, std::chrono::milliseconds notFoundGrace) {
    std::unordered_map<std::string_view, const Server*> byName;
    std::unordered_map<std::string_view, const Server*> byId;
    for (const auto& s : rows) {
        byName[s.name] = &s;
        if (!s.instanceId.empty())
            byId[s.instanceId] = &s;
    }
    CloudFindings out;
    std::unordered_set<std::string_view> live;
    // Listed as going (a spot reclaim, a termination): gone, however young.
    std::unordered_set<std::string_view> going;
    for (const auto& instance : instances) {
        if (instance.state == InstanceState::ShuttingDown ||
            instance.state == InstanceState::Terminated)
            going.insert(instance.id);
        if (instance.state == InstanceState::Terminated)
            continue;
        if (isLive(instance.state))
            live.insert(instance.id);
        const Server* claimedBy = nullptr;
        if (const auto id = byId.find(instance.id); id != byId.end()) {
            claimedBy = id->second;
        } else if (const auto name = byName.find(instance.serverName); name != byName.end()) {
            claimedBy = name->second;
        }
        if (claimedBy == nullptr || claimedBy->state == ServerState::Terminated)
            out.unknown.push_back(instance);
    }
    for (const auto& s : rows) {
        if (mayAdopt(s)) {
            if (const Instance* found = instanceTaggedFor(s.name, instances))
                out.adoptable.push_back({.server = s.name, .instanceId = found->id});
            continue;
        }
        if (s.instanceId.empty() || !mayVanish(s.state) || live.contains(s.instanceId))
            continue;
        if (now - s.created < notFoundGrace && !going.contains(s.instanceId))
            continue;
        out.vanished.push_back(s.name);
    }
    return out;
}

const Instance* instanceTaggedFor(const std::string& name, std::span<const Instance> instances) {
    for (const auto& instance : instances) {
        if (instance.serverName == name && instance.state != InstanceState::Terminated)
            return &instance;
    }
    return nullptr;
}

OrphanMarks::Verdict OrphanMarks::next(std::span<const Instance> orphans) {
    Verdict verdict;
    std::set<std::string> marks;
    for (const auto& instance : orphans) {
        if (marks_.contains(instance.id)) {
            verdict.terminate.push_back(instance.id);
        } else if (marks.insert(instance.id).second) {
            verdict.marked.push_back(instance.id);
        }
    }
    marks_ = std::move(marks);
    return verdict;
}

void OrphanMarks::keep(std::span<const std::string> ids) {
    marks_.insert(ids.begin(), ids.end());
}

} // namespace autoscale
