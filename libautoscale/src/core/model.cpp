// SPDX-License-Identifier: Apache-2.0
/// \file
/// Names of states and the stage-to-pool match.

#include "autoscale/model.h"

#include <array>
#include <utility>

#include <autoscale/provider.h>
#include <autoscale/queue.h>
#include <autoscale/store.h>

namespace autoscale {

Provider::~Provider() = default;
Queue::~Queue() = default;
Store::~Store() = default;

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

bool providesCapacity(ServerState state) {
    switch (state) {
    case ServerState::Pending:
    case ServerState::Creating:
    case ServerState::Booting:
    case ServerState::Installing:
    case ServerState::Running:
        return true;
    default:
        return false;
    }
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
    return stage.os == pool.os && stage.arch == pool.arch && stage.variant == pool.variant &&
           stage.kernel == pool.kernel && stage.labels == pool.labels;
}

std::vector<Stage> matchingStages(const std::vector<Stage>& stages, const PoolSettings& pool) {
    std::vector<Stage> out;
    for (const auto& stage : stages) {
        if ((stage.status == "pending" || stage.status == "running") && stageMatches(stage, pool))
            out.push_back(stage);
    }
    return out;
}

} // namespace autoscale
