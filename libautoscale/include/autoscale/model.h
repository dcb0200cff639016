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

/// Our lower-case name of the phase, e.g. "booting": the store's encoding,
/// log lines, metrics and the "phase" field of the server JSON.
std::string_view nameOf(ServerState state);
/// Parses one of our phase names (nameOf); nullopt for any other name.
std::optional<ServerState> parseServerState(std::string_view name);

/// drone/autoscaler's name of the state, as `state` in every server JSON
/// (drone-go's Server, `drone server ls`): pending, creating, created
/// (booting), staging (installing), running, shutdown (draining), stopping
/// (terminating), stopped (terminated), error.
std::string_view droneStateOf(ServerState state);
/// Parses a state in either vocabulary: drone/autoscaler's (created, staging,
/// shutdown, stopping, stopped, ...) or our phase names (booting, draining, ...).
/// Nullopt for a name in neither.
std::optional<ServerState> parseAnyServerState(std::string_view name);

/// True for the states that provide build capacity: pending..running.
bool providesCapacity(ServerState state);
/// True when an instance may exist in the cloud for a row in this state
/// (everything but Terminated; Error rows too, until they are terminated).
bool mayHoldInstance(ServerState state);

/// A build whose stage ran on a server that was reclaimed or vanished, and
/// what was done about it (SPEC §8, DRONE_RESTART_LOST_BUILDS).
struct LostBuild {
    std::string repo{};           ///< "owner/name".
    std::int64_t number = 0;      ///< The build's number in that repository.
    std::int64_t stage = 0;       ///< The stage's id.
    std::string outcome{};        ///< "" not handled yet; "restarted", "not restarted: <why>".
    std::int64_t restartedAs = 0; ///< The new build's number once restarted.

    friend bool operator==(const LostBuild&, const LostBuild&) = default;
};

/// One build machine as the store keeps it. `version` increases with every
/// write; writes are compare-and-swap on it.
struct Server {
    std::string name{}; ///< Unique, e.g. "agent-Ab3dE5gH"; the runner's DRONE_RUNNER_NAME.
    /// The pool it belongs to. Rows written before pools existed have none:
    /// they belong to the first pool.
    std::string pool{};
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
    std::string market{};    ///< "spot" or "on-demand" once launched; empty before.
    /// When the cloud announced it will reclaim the instance (a spot
    /// interruption warning). Such a server is drained and replaced at once and
    /// no longer counts against any max (SPEC §4, invariant 5).
    WallTime reclaimNotice{};
    std::vector<LostBuild> lostBuilds{}; ///< Builds whose stages it ran when it was lost.
    std::int64_t version = 0;

    friend bool operator==(const Server&, const Server&) = default;
};

/// Gives a server being decoded (a store row, a JSON document) the state it
/// was saved in. Not a transition: nothing is checked or stamped. With
/// ServerLifecycle (engine/server_lifecycle.cpp, where it is defined next to
/// the transition table) it is the only writer of `Server::state`.
void restoreState(Server& server, ServerState saved);

/// A Drone pipeline stage as GET /api/queue returns it (the fields we read;
/// Drone's core.Stage JSON names in the comments).
struct Stage {
    std::int64_t id = 0;      ///< "id"; Drone dispatches in this order.
    std::int64_t buildId = 0; ///< "build_id"
    std::string status{};     ///< "pending" or "running" (others are ignored).
    std::string machine{};    ///< "machine": the runner that accepted it, when one has.
    std::string os{};
    std::string arch{};
    std::string variant{}; ///< "variant"; empty: any runner variant.
    std::string kernel{};  ///< "kernel"; empty: any runner kernel.
    std::string type{};    ///< "type"; empty means "docker".
    std::map<std::string, std::string> labels{};
    std::int64_t created = 0;
    std::int64_t repoId = 0; ///< "repo_id"
    std::string name{};      ///< "name": the pipeline's name, e.g. "default".
    std::string kind{};      ///< "kind"; empty means "pipeline".
    int limit = 0;           ///< "limit": the pipeline's `concurrency: limit`; 0 = none.
    int throttle = 0;        ///< "throttle": the repo's throttle; 0 = none.

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

/// True when Drone would give this stage to a runner of this pool, judging the
/// stage alone: kind/type, platform and labels (dispatch.h, runnerMatch()).
/// Whether it is held back by `limit` or `throttle` needs the whole queue:
/// matchingStages() or keepDispatched().
bool stageMatches(const Stage& stage, const PoolSettings& pool);

/// Keeps the pending and running stages that are demand for this pool by
/// Drone's dispatch rule (dispatch.h): `stages` is the whole queue.
std::vector<Stage> matchingStages(const std::vector<Stage>& stages, const PoolSettings& pool);

/// How many stages of the queue are not demand for a pool, by reason (Drone's
/// dispatch rule, dispatch.h).
struct StagesLeftOut {
    int status = 0; ///< Neither pending nor running.
    int kind = 0;   ///< Not kind `pipeline` type `docker` (exec, kubernetes, ssh, ...).
    /// os/arch differ, or the stage asks for a variant or kernel we lack (in a
    /// fleet: no pool has the platform).
    int platform = 0;
    int labels = 0;   ///< Labels not exactly the pool's (in a fleet: no pool's).
    int limit = 0;    ///< Held back by the pipeline's concurrency limit.
    int throttle = 0; ///< Held back by the repository's throttle.
    int routed = 0;   ///< Demand for another pool of the fleet (routed there).

    /// The sum of all reasons.
    [[nodiscard]] int total() const {
        return status + kind + platform + labels + limit + throttle + routed;
    }

    friend bool operator==(const StagesLeftOut&, const StagesLeftOut&) = default;
};

/// A launch choice the cloud refused for capacity moments ago, as a plan shows
/// it (Provider::coolingDown() at the time of the decision).
struct PlanCooling {
    std::string instanceType{};
    std::string subnet{}; ///< Empty: the default VPC's default subnet.
    std::string market{}; ///< "spot" or "on-demand".
    int secondsLeft = 0;  ///< Until the choice is tried again (rounded up).
    std::string code{};   ///< The cloud's refusal, e.g. "InsufficientInstanceCapacity".

    friend bool operator==(const PlanCooling&, const PlanCooling&) = default;
};

/// One planning decision: its inputs, what to do and why.
struct Plan {
    std::string pool{};
    Policy policy = Policy::Default;
    int pending = 0;                    ///< Matching stages waiting.
    int running = 0;                    ///< Matching stages running.
    StagesLeftOut leftOut{};            ///< Stages of the queue that are not demand, and why.
    int servers = 0;                    ///< Servers providing capacity (pending..running).
    int live = 0;                       ///< Servers whose instance may exist (counted against MAX).
    int capacity = 0;                   ///< Slots those servers provide.
    int wanted = 0;                     ///< Servers the policy wants.
    int create = 0;                     ///< Servers to create now.
    std::vector<std::string> drain{};   ///< Servers to drain, idle longest first.
    std::vector<std::string> reasons{}; ///< One line per decision, human readable.
    /// Launch choices cooling down after a capacity refusal, soonest back first.
    std::vector<PlanCooling> cooling{};

    friend bool operator==(const Plan&, const Plan&) = default;
};

} // namespace autoscale
