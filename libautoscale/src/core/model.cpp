// SPDX-License-Identifier: Apache-2.0
/// \file
/// Names of states, in our vocabulary and drone/autoscaler's, and the
/// stage-to-pool match (Drone's dispatch rule lives in drone/dispatch.cpp).

#include "autoscale/model.h"

#include <array>
#include <utility>

#include <autoscale/dispatch.h>
#include <autoscale/provider.h>
#include <autoscale/queue.h>
#include <autoscale/store.h>

namespace autoscale {

Provider::~Provider() = default;
Queue::~Queue() = default;
Store::~Store() = default;

Result<std::vector<Server>> Store::listPool(const std::string& pool) {
    auto rows = list();
    if (rows)
        std::erase_if(*rows, [&pool](const Server& s) { return s.pool != pool; });
    return rows;
}

bool countsAgainstCaps(const Server& server) {
    return server.state != ServerState::Terminated && server.reclaimNotice == WallTime{};
}

namespace {

constexpr std::array<std::pair<ServerState, std::string_view>, 9> kStateNames{{
        {ServerState::Pending, "pending"},
        {ServerState::Creating, "creating"},
        {ServerState::Booting, "booting"},
        {ServerState::Installing, "installing"},
        {ServerState::Running, "running"},
        {ServerState::Draining, "draining"},
        {ServerState::Terminating, "terminating"},
        {ServerState::Terminated, "terminated"},
        {ServerState::Error, "error"},
}};

/// drone/autoscaler's names (engine/server.go's states), for `state` in JSON.
constexpr std::array<std::pair<ServerState, std::string_view>, 9> kDroneStateNames{{
        {ServerState::Pending, "pending"},
        {ServerState::Creating, "creating"},
        {ServerState::Booting, "created"},
        {ServerState::Installing, "staging"},
        {ServerState::Running, "running"},
        {ServerState::Draining, "shutdown"},
        {ServerState::Terminating, "stopping"},
        {ServerState::Terminated, "stopped"},
        {ServerState::Error, "error"},
}};

} // namespace

std::string_view nameOf(ServerState state) {
    for (const auto& [value, name] : kStateNames) {
        if (value == state)
            return name;
    }
    return "unknown";
}

std::optional<ServerState> parseServerState(std::string_view name) {
    for (const auto& [value, text] : kStateNames) {
        if (text == name)
            return value;
    }
    return std::nullopt;
}

std::string_view droneStateOf(ServerState state) {
    for (const auto& [value, name] : kDroneStateNames) {
        if (value == state)
            return name;
    }
    return "error";
}

std::optional<ServerState> parseAnyServerState(std::string_view name) {
    for (const auto& [value, text] : kDroneStateNames) {
        if (text == name)
            return value;
    }
    return parseServerState(name);
}

bool providesCapacity(ServerState state) {
    switch (state) {
    case ServerState::Pending:
    case ServerState::Creating:
    case ServerState::Booting:
    case ServerState::Installing:
    case ServerState::Running:
        return true;
    case ServerState::Draining:
    case ServerState::Terminating:
    case ServerState::Terminated:
    case ServerState::Error:
        return false;
    }
    return false;
}

bool mayHoldInstance(ServerState state) {
    return state != ServerState::Terminated;
}

std::string_view nameOf(Policy policy) {
    return policy == Policy::Classic ? "classic" : "default";
}

std::string_view nameOf(InstanceState state) {
    switch (state) {
    case InstanceState::Pending:
        return "pending";
    case InstanceState::Running:
        return "running";
    case InstanceState::ShuttingDown:
        return "shutting-down";
    case InstanceState::Terminated:
        return "terminated";
    case InstanceState::Stopping:
        return "stopping";
    case InstanceState::Stopped:
        return "stopped";
    }
    return "unknown";
}

bool stageMatches(const Stage& stage, const PoolSettings& pool) {
    return runnerMatch(stage, pool) == Dispatch::Given;
}

std::vector<Stage> matchingStages(const std::vector<Stage>& stages, const PoolSettings& pool) {
    const std::vector<Dispatch> verdicts = classifyQueue(stages, pool);
    std::vector<Stage> out;
    for (std::size_t i = 0; i < stages.size(); ++i) {
        if (verdicts[i] == Dispatch::Given)
            out.push_back(stages[i]);
    }
    return out;
}

} // namespace autoscale
