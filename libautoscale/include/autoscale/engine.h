// SPDX-License-Identifier: Apache-2.0
/// \file
/// The engine: one reconcile loop that reads the queue, plans, and drives every
/// server through its lifecycle (SPEC §4) with compare-and-swap writes, a
/// bounded worker pool for long operations, an orphan sweep and creation
/// back-off. The daemon, `simulate` and the tests all run this same code.

#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/installer.h>
#include <autoscale/log.h>
#include <autoscale/model.h>
#include <autoscale/provider.h>
#include <autoscale/queue.h>
#include <autoscale/result.h>
#include <autoscale/store.h>

namespace autoscale {

struct CloudNotice;

/// Prepares a server's cloud-init user data before its first RunInstances
/// (pinned mode: generates the host key and stores it in the row). Called on
/// a worker thread; must be thread-safe.
using UserDataFunction = std::function<Result<std::string>(Server& server)>;

struct EngineOptions {
    PoolSettings pool{};
    std::string namePrefix = "agent-";
    std::string provider = "amazon";
    std::string image{};        ///< For the server rows (display).
    std::string instanceType{}; ///< For the server rows until the cloud says.
    /// Connect to the private address (DRONE_AMAZON_PRIVATE_IP), else the public one.
    bool privateIp = false;
    std::chrono::milliseconds interval{10000};
    /// The planner decides every `planInterval` while servers still advance
    /// every cycle; 0 decides in every cycle. drone/autoscaler plans every 5 m
    /// and moves servers along every 10 s (`simulate --policy classic`).
    std::chrono::milliseconds planInterval{0};
    /// The first decision comes one plan interval after the first cycle, as
    /// drone/autoscaler's loops start with `time.After(interval)`.
    bool planFirstAfterInterval = false;
    /// Servers a cycle decides to create stay `pending` until the next cycle
    /// starts them (drone/autoscaler's 10 s allocator loop) instead of being
    /// created within the deciding cycle.
    bool createOnNextCycle = false;
    /// Long operations run on this many threads; 0 runs them inline in the
    /// cycle (deterministic: simulation and unit tests).
    int workers = 16;
    /// A server not running this long after it was created goes to `error`.
    std::chrono::milliseconds bootDeadline{600000};
    std::chrono::milliseconds timeoutStop{3600000};
    std::chrono::milliseconds pingerInterval{60000};
    std::chrono::milliseconds orphanSweepInterval{300000};
    /// An instance id unknown to DescribeInstances this soon after launch is
    /// "not visible yet" (EC2 is eventually consistent), later "gone".
    std::chrono::milliseconds notFoundGrace{120000};
    std::chrono::milliseconds backoffInitial{30000};
    std::chrono::milliseconds backoffMax{600000};
    /// Terminated rows are deleted this long after termination, checked every
    /// hour (or every purgeAfter, if that is shorter).
    std::chrono::minutes purgeAfter{24 * 60};
    /// Consecutive failed pings before a running server goes to `error`.
    int pingFailures = 2;
    UserDataFunction userData{};
    /// Names new servers; a random name (namePrefix + 8 characters) when empty. The
    /// simulation gives deterministic names so that a run repeats exactly.
    std::function<std::string()> serverName{};
    /// The fleet-wide cap on live servers across all pools (the pool file's
    /// `max`), checked by the store with every insert; unset: none.
    std::optional<int> fleetMax{};
    /// Rows of no pool (from before pools existed) or of a pool that is not in
    /// `fleetPools` (removed from the pool file) belong to this pool: it claims
    /// them, drains and terminates them as its own, so nothing is left behind.
    /// True for the first pool, false for the others.
    bool claimsUnpooled = true;
    /// The names of every pool of the fleet; empty: this pool alone.
    std::vector<std::string> fleetPools{};
    /// Where the API's writes (POST and DELETE /api/servers) go: with several
    /// daemons, the shared store without fencing, so that any daemon may make
    /// them and the leader carries them out on its next cycle. Null: the
    /// engine's store.
    Store* operatorStore = nullptr;
    /// Whether this daemon may act now (call the cloud, SSH, Drone's write
    /// APIs); empty: always. An API call on a follower only writes the row.
    std::function<bool()> mayAct{};
    /// Finds the builds whose stages ran on a server that was just lost
    /// (reclaimed, vanished, closed by a notice); called on a worker, must be
    /// thread-safe. The daemon's (makeLostBuildHooks): Drone's incomplete-builds
    /// API, or the queue on Drone OSS. Unset: lost builds are not recorded.
    std::function<Result<std::vector<LostBuild>>(const Server& server)> findLostBuilds{};
    /// Handles the recorded lost builds of the row named so (the daemon's
    /// LostBuildRestarter: once each, or "not restarted: disabled"); called on a
    /// worker after they are recorded, and at the first cycle for every row that
    /// still has unhandled ones (a restart resumes them). Must be thread-safe.
    std::function<void(const std::string& serverName)> handleLostBuilds{};
    /// The pool launches spot (DRONE_AMAZON_MARKET_TYPE=spot, `market: spot`).
    bool spotPool = false;
    /// A spot pool's cap on its live on-demand servers (`on_demand_max`): while
    /// that many are live, CreateRequest::onDemandAllowed is false. Unset: no cap.
    std::optional<int> onDemandMax{};
};

/// The stages of the queue that are demand for one pool (Drone's dispatch
/// rule applied, routed among the fleet's pools), and how many stages of the
/// queue are not, by reason.
struct PoolQueue {
    std::vector<Stage> stages{};
    StagesLeftOut leftOut{};
};

/// A Prometheus-style histogram: cumulative counts per upper bound.
struct Histogram {
    std::vector<double> bounds{};       ///< Upper bounds, ascending; +Inf is implied.
    std::vector<std::int64_t> counts{}; ///< Observations <= bounds[i] (not cumulative).
    std::int64_t count = 0;
    double sum = 0;

    static Histogram withBounds(std::vector<double> upperBounds);
    void observe(double value);
};

/// Counters and gauges the API exports (Prometheus names in the daemon).
struct EngineMetrics {
    std::map<std::string, int> serversByState{};
    int pendingStages = 0;
    int runningStages = 0;
    std::int64_t cycles = 0;
    std::int64_t cycleErrors = 0;
    std::int64_t serversCreated = 0;
    std::int64_t createErrors = 0;
    std::int64_t bootErrors = 0;
    std::int64_t installErrors = 0;
    std::int64_t serversTerminated = 0;
    std::int64_t terminateErrors = 0;
    std::int64_t orphansTerminated = 0;
    std::int64_t vanished = 0;
    /// Create attempts refused for capacity in every allowed choice (the server waits).
    std::int64_t capacityWaits = 0;
    /// Interruption notices acted on (warnings that drained or closed a server,
    /// state changes that closed one).
    std::int64_t interruptions = 0;
    /// Builds whose stages ran on a server that was lost, recorded on its row.
    std::int64_t stagesLost = 0;
    /// Live servers (not terminated) by market ("spot", "on-demand", "" unknown).
    std::map<std::string, int> serversByMarket{};
    int consecutiveFailures = 0;
    std::chrono::milliseconds backoffRemaining{0};
    /// Seconds from a stage first seen pending to capacity requested for it.
    Histogram reaction = Histogram::withBounds({1, 2, 5, 10, 30, 60, 120, 300, 600});
    /// drone/autoscaler's buckets: 60, 150, 300, 600, 900, 1200 s.
    Histogram createTime = Histogram::withBounds({60, 150, 300, 600, 900, 1200});
    Histogram bootTime = Histogram::withBounds({60, 150, 300, 600, 900, 1200});
    Histogram installTime = Histogram::withBounds({60, 150, 300, 600, 900, 1200});
};

/// What /healthz and /varz report.
struct EngineStatus {
    bool paused = false;
    std::optional<SteadyTime> lastGoodCycle{};
    std::string lastError{};
    std::optional<WallTime> backoffUntil{};
};

/// Owns the reconcile loop. Borrows everything it is given (store, provider,
/// queue, installer, clock, log sink): they must outlive it. Thread-safe: the
/// API may call pause/resume/createServer/destroyServer/plan while run() loops.
class Engine {
public:
    Engine(EngineOptions options, Store& store, Provider& provider, Queue& queue,
           Installer& installer, const Clock& clock, Logger logger);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    /// One reconcile cycle: read the queue, plan, act, advance every server.
    /// Returns the plan it decided on, or why it could not plan.
    Result<Plan> cycle();

    /// The same on this pool's part of a queue the caller read and routed (a
    /// Fleet reads the queue once for all pools). `share`, when set, is how many
    /// live servers the fleet's max leaves this pool this cycle: the planner
    /// creates none beyond it.
    Result<Plan> cycleWith(Result<PoolQueue> queue, std::optional<int> share);

    /// Cycles every interval until `stop`; the first cycle runs at once. On
    /// stop, no new decision is made and in-flight work is asked to stop: an
    /// install ends at its next check without writing, so its server stays
    /// `installing` and the next start resumes it. Call once per engine.
    void run(const std::stop_token& stop);

    /// Asks in-flight work to stop at its next check (what run() does when it
    /// stops); for a caller that runs the cycles itself (Fleet).
    void interrupt();

    /// This daemon leads a new term: at its next cycle the engine takes up the
    /// shared state (creation back-off, orphan marks) from the store, as at
    /// its first cycle.
    void newTerm();

    /// Blocks until no worker task is in flight (tests, shutdown).
    void waitIdle();
    /// Waits at most `limit` for in-flight tasks; false if some are left.
    bool waitIdleFor(std::chrono::milliseconds limit);

    void pause();
    void resume();
    [[nodiscard]] bool paused() const;

    /// The last plan decided (what GET /api/plan shows).
    [[nodiscard]] Plan lastPlan() const;
    [[nodiscard]] EngineStatus status() const;
    [[nodiscard]] EngineMetrics metrics() const;
    /// The pool this engine serves.
    [[nodiscard]] const PoolSettings& pool() const;

    /// POST /api/servers: one more server, refused (Errc::LimitReached) when it
    /// would exceed the pool's max or the fleet's.
    Result<Server> createServer();

    /// DELETE /api/servers/{name}: drains a running server; a server that has
    /// no instance yet, or an error server with `force`, is removed. Returns
    /// the row as it now is (std::nullopt when it was deleted).
    Result<std::optional<Server>> destroyServer(const std::string& name, bool force);

    /// A cloud notice about one instance (interruptions.h), acted on at once:
    /// a spot interruption warning, a rebalance recommendation or a scheduled
    /// change stamps Server::reclaimNotice and the reason, drains a running
    /// server (its runner stops taking stages) and ends one still booting or
    /// installing, so that the next cycle replaces it; a state change to
    /// shutting-down or terminated closes the row (stopping or stopped: it is
    /// terminated). Returns the row as written; Errc::NotFound when no live row
    /// of this pool has the instance.
    Result<Server> handleNotice(const CloudNotice& notice);

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace autoscale
