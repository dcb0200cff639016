// SPDX-License-Identifier: Apache-2.0
/// \file
/// Several pools in one daemon (SPEC §3 pool file, §8). A Fleet reads Drone's
/// queue once per cycle, routes every stage to the first pool whose runners
/// Drone would give it to, shares the fleet's `max` among the pools and runs
/// one Engine per pool on that pool's part of the queue. The pool is a stored
/// column (Server::pool) and each engine only ever touches its own rows; the
/// store enforces every pool's max and the fleet's max on every insert.

#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <autoscale/engine.h>

namespace autoscale {

/// What the share of the fleet's max looks at for one pool.
struct PoolDemand {
    int min = 0;
    int max = 0;
    /// Servers the pool wants for its demand: clamp(ceil((pending + running +
    /// buffer) / concurrency), min, max).
    int wanted = 0;
};

/// How many live servers each pool may have this cycle when the fleet's max
/// binds (SPEC §3; README "Pools"), in pool order:
/// 1. every pool gets its `min`;
/// 2. then, while room is left, one more server for each pool that wants more,
///    in pool order;
/// 3. the room left goes to the pools in proportion to the servers each still
///    wants (largest remainder; equal remainders go to the earlier pool);
/// no pool gets more than it wants or than its own `max`. When the wanted
/// counts fit, every pool gets what it wants. Without a fleet max: nullopt
/// for every pool (no share). Deterministic: the same inputs give the same
/// shares.
std::vector<std::optional<int>> fleetShares(std::span<const PoolDemand> pools,
                                            std::optional<int> fleetMax);

/// One queue read split among a fleet's pools (routeQueue()).
struct PartitionedQueue {
    /// Per pool, in the pools' order: the stages that are its demand, and how
    /// many stages of the queue are not, by reason (`routed`: another pool's).
    std::vector<PoolQueue> parts{};
    /// Pending stages of our kind that no pool serves.
    std::vector<Stage> unroutable{};
};

/// Routes `queue` with Drone's rule and moves each stage that is a pool's
/// demand into that pool's part: what Fleet::cycle() and `plan` both do.
PartitionedQueue partitionQueue(std::vector<Stage> queue, std::span<const PoolSettings> pools);

/// The servers a pool wants for the stages routed to it (PoolDemand::wanted).
int wantedServers(const PoolSettings& pool, const std::vector<Stage>& stages);

/// One pool of the fleet: its engine's options (with `pool` set) and the
/// provider and installer that serve it, borrowed: they must outlive the Fleet.
struct FleetPool {
    EngineOptions options{};
    Provider* provider = nullptr;
    Installer* installer = nullptr;
};

/// What one fleet cycle decided: a plan per pool (pool order) and the stages
/// no pool serves.
struct FleetPlan {
    std::vector<Plan> pools{};
    std::vector<Stage> unroutable{};
};

/// How the fleet of one daemon among several on a shared store learns
/// whether it leads (leader.h's LeaderElection, in the daemon).
struct FleetLeadership {
    /// The current term's epoch while this daemon leads; 0 while it follows.
    std::function<std::int64_t()> term{};
    /// The leader's identity, as last read (on followers too).
    std::function<std::string()> leaderId{};
    std::string id{}; ///< This daemon's identity.
};

/// The role /varz, /healthz and autoscaler_leader report.
struct FleetRole {
    bool shared = false; ///< Several daemons share the store (an election runs).
    bool leader = true;
    std::string id{};
    std::string leaderId{};
};

/// The pools of one daemon. Thread-safe as Engine is: the API may call
/// everything while run() loops.
class Fleet {
public:
    /// `pools` in routing order (at least one). `fleetMax`: the pool file's
    /// `max`. The engines are built here; pool i claims rows without a pool
    /// only when i == 0.
    ///
    /// With `leadership` (several daemons on one store) the fleet cycles only
    /// while this daemon leads; on a new term its engines adopt whatever is in
    /// flight, as a restarted daemon does. `shared` is the store without
    /// fencing, where the API's writes (servers asked for or destroyed, pause)
    /// go from any daemon; null: `store`.
    Fleet(std::vector<FleetPool> pools, std::optional<int> fleetMax, Store& store, Queue& queue,
          const Clock& clock, Logger logger, std::chrono::milliseconds interval,
          std::optional<FleetLeadership> leadership = std::nullopt, Store* shared = nullptr);
    ~Fleet();
    Fleet(const Fleet&) = delete;
    Fleet& operator=(const Fleet&) = delete;

    /// One cycle: read the queue once, route, share the fleet's max, cycle
    /// every pool's engine in pool order. An error when the queue and the
    /// store both failed for every pool.
    Result<FleetPlan> cycle();
    /// Cycles every interval until `stop`, as Engine::run.
    void run(const std::stop_token& stop);
    void waitIdle();
    bool waitIdleFor(std::chrono::milliseconds limit);

    /// Pause and resume are stored (the shared value "paused"), so that every
    /// daemon, and the next leader, sees them; the leader applies the stored
    /// flag at every cycle.
    Result<void> pause();
    Result<void> resume();
    [[nodiscard]] bool paused() const;

    [[nodiscard]] FleetRole role() const;
    [[nodiscard]] std::size_t size() const;
    /// The engine of pool `i` (pool order).
    [[nodiscard]] Engine& engine(std::size_t i);
    [[nodiscard]] const Engine& engine(std::size_t i) const;
    /// The engine of the pool named `name`; nullptr when there is none.
    [[nodiscard]] Engine* find(std::string_view name);
    [[nodiscard]] std::optional<int> fleetMax() const;

    /// The last plans and the stages no pool served at the last cycle.
    [[nodiscard]] FleetPlan lastPlan() const;
    /// The worst of the pools' statuses: paused if paused, the oldest good
    /// cycle, the first error, the latest back-off.
    [[nodiscard]] EngineStatus status() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace autoscale
