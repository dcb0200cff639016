// SPDX-License-Identifier: Apache-2.0
/// \file
/// The data the autoscaler reasons about: servers (our build machines), Drone
/// stages (the demand), pool settings and the plan. Plain values.

#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <autoscale/clock.h>

namespace autoscale {

/// The lifecycle of a server (SPEC §4). `Error` may be entered from any state.
enum class ServerState {
    Pending,     ///< Decided, not yet asked of the cloud.
    Creating,    ///< RunInstances in flight; client token stored first.
    Booting,     ///< The instance exists; waiting for SSH.
    Installing,  ///< The runner is being started over SSH.
    Running,     ///< The runner takes stages.
    Draining,    ///< The runner finishes its stages and takes no new one.
    Terminating, ///< TerminateInstances requested or in flight.
    Terminated,  ///< Gone; the row is purged after 24 h.
    Error,       ///< Failed; the reason is in Server::error. Terminated automatically.
};

/// Lower-case name, e.g. "running".
std::string_view nameOf(ServerState state);
/// Parses a lower-case name; nullopt for an unknown one.
std::optional<ServerState> parseServerState(std::string_view name);

/// True for the states that provide build capacity: pending..running.
bool providesCapacity(ServerState state);
/// True when an instance may exist in the cloud for a row in this state
/// (everything but Terminated; Error rows too, until they are terminated).
bool mayHoldInstance(ServerState state);

/// One build machine as the store keeps it. `version` increases with every
/// write; writes are compare-and-swap on it.
struct Server {
    std::string name{};       ///< Unique, e.g. "agent-Ab3dE5gH"; the runner's DRONE_RUNNER_NAME.
    std::string instanceId{}; ///< Cloud instance id; empty until known.
    std::string provider = "amazon";
    ServerState state = ServerState::Pending;
    std::string image{};
    std::string region{}; ///< Availability zone once known.
    std::string size{};   ///< Instance type.
    std::string address{};
    int capacity = 0; ///< Stages it runs at once (DRONE_AGENT_CONCURRENCY at creation).
    std::string error{};
    std::string clientToken{};    ///< RunInstances ClientToken, stored before the call.
    std::string hostKey{};        ///< The SSH host public key we require (pinned or first seen).
    std::string hostPrivateKey{}; ///< Pinned mode: the host key we inject; secret, never served.
    WallTime created{};
    WallTime updated{};
    WallTime started{};      ///< When the runner came up.
    WallTime stopped{};      ///< When it was terminated.
    WallTime lastBusy{};     ///< Last time a pending or running stage named this server.
    WallTime drainStarted{}; ///< When the server was told to drain.
    std::int64_t version = 0;

    friend bool operator==(const Server&, const Server&) = default;
};

/// A Drone pipeline stage as GET /api/queue returns it (the fields we read).
struct Stage {
    std::int64_t id = 0;
    std::int64_t buildId = 0;
    std::string status{};  ///< "pending" or "running" (others are ignored).
    std::string machine{}; ///< The runner that accepted it, when one has.
    std::string os{};
    std::string arch{};
    std::string variant{};
    std::string kernel{};
    std::string type{};
    std::map<std::string, std::string> labels{};
    std::int64_t created = 0;

    friend bool operator==(const Stage&, const Stage&) = default;
};

/// Which planning policy decides: ours, or drone/autoscaler's for comparison.
enum class Policy { Default, Classic };

std::string_view nameOf(Policy policy);

/// What one pool serves and how big it may be (SPEC §3, §5).
struct PoolSettings {
    std::string name = "default";
    std::string os = "linux";
    std::string arch = "amd64";
    std::string variant{}; ///< DRONE_AGENT_VERSION, compared with stage.variant.
    std::string kernel{};
    std::map<std::string, std::string> labels{};
    int min = 2;
    int max = 4;
    int concurrency = 2;
    int buffer = 0;
    std::chrono::seconds minAge{0};
    std::chrono::seconds idleTimeout{600};
    /// How long a lone waiting stage may wait for a running stage to finish
    /// before a server is launched for it (a second one launches at once).
    std::chrono::seconds launchDelay{30};
    Policy policy = Policy::Default;

    friend bool operator==(const PoolSettings&, const PoolSettings&) = default;
};

/// True when this pool serves the stage: os/arch/variant/kernel equal and the
/// label maps exactly equal (drone/autoscaler's rule).
bool stageMatches(const Stage& stage, const PoolSettings& pool);

/// Keeps the pending and running stages this pool serves.
std::vector<Stage> matchingStages(const std::vector<Stage>& stages, const PoolSettings& pool);

/// One planning decision: its inputs, what to do and why.
struct Plan {
    std::string pool{};
    Policy policy = Policy::Default;
    int pending = 0;                    ///< Matching stages waiting.
    int running = 0;                    ///< Matching stages running.
    int servers = 0;                    ///< Servers providing capacity (pending..running).
    int live = 0;                       ///< Servers whose instance may exist (counted against MAX).
    int capacity = 0;                   ///< Slots those servers provide.
    int wanted = 0;                     ///< Servers the policy wants.
    int create = 0;                     ///< Servers to create now.
    std::vector<std::string> drain{};   ///< Servers to drain, idle longest first.
    std::vector<std::string> reasons{}; ///< One line per decision, human readable.

    friend bool operator==(const Plan&, const Plan&) = default;
};

} // namespace autoscale
