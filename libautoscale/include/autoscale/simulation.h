// SPDX-License-Identifier: Apache-2.0
/// \file
/// Replaying a workload through the real engine (`autoscaler-cli simulate`):
/// the trace format (SPEC §6), a virtual clock, a simulated cloud whose
/// instances boot after a while, a simulated Drone queue whose runners take
/// pending stages, and the driver that runs autoscale::Engine (workers = 0,
/// SQLite ":memory:") over them and accounts waits and instance-hours.

#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/installer.h>
#include <autoscale/model.h>
#include <autoscale/provider.h>
#include <autoscale/queue.h>
#include <autoscale/result.h>

namespace autoscale {

/// One build stage of a trace: it arrives `t` seconds after the start and
/// runs `duration` seconds once a runner takes it.
struct TraceStage {
    double t = 0;
    double duration = 0;
    std::string os = "linux";
    std::string arch = "amd64";
    std::map<std::string, std::string> labels{};

    friend bool operator==(const TraceStage&, const TraceStage&) = default;
};

/// Parses JSON lines `{"t": seconds, "duration": seconds, "os", "arch",
/// "labels": {k: v}}` (os, arch and labels optional: linux, amd64, none).
/// Blank lines are skipped; `t` is at most 90 days, `duration` at most 7 days.
/// Errc::Parse naming the 1-based line and what is
/// wrong on the first malformed line. The result is in file order.
Result<std::vector<TraceStage>> parseTrace(std::string_view text);

/// Reads and parses a trace file. Errc::Io when it cannot be read.
Result<std::vector<TraceStage>> readTraceFile(const std::string& path);

/// The instant a simulation starts: Monday 2026-01-05 00:00:00 UTC.
WallTime simulationEpoch();

/// A virtual clock: time moves only through advanceTo() and sleepFor(),
/// which returns at once. Thread-safe.
class SimClock final : public Clock {
public:
    explicit SimClock(WallTime start = simulationEpoch());

    [[nodiscard]] WallTime now() const override;
    /// The time since the start, on a steady time line starting at SteadyTime{}.
    [[nodiscard]] SteadyTime steadyNow() const override;
    /// Advances the clock by `duration` at once; false when `stop` was requested.
    bool sleepFor(std::chrono::nanoseconds duration, const std::stop_token& stop) const override;

    /// Moves the clock to `t`; an earlier `t` is ignored (time never goes back).
    void advanceTo(WallTime t);
    /// Seconds since the start.
    [[nodiscard]] double elapsedSeconds() const;
    /// The wall time the clock started at.
    [[nodiscard]] WallTime start() const { return start_; }

private:
    WallTime start_;
    mutable std::atomic<std::int64_t> elapsedNs_{0};
};

/// The simulated Drone queue and its runners. Stages arrive at their trace
/// time; a runner with a free slot takes the oldest pending stage it matches
/// (its `machine` becomes the runner's name, its status `running`), choosing
/// among free slots at random as Drone's scheduler does; a stage completes
/// `duration` after it started. Single-threaded (the simulation is).
class SimQueue final : public Queue {
public:
    /// `runners` says what the runners serve (os, arch, variant, kernel,
    /// labels). `clock` must outlive the queue. The trace is sorted by time.
    SimQueue(std::vector<TraceStage> trace, PoolSettings runners, const SimClock& clock,
             std::uint64_t seed = 1);
    /// Several pools (a fleet): each stage is routed to the first pool, in
    /// order, that Drone would give it to (stageMatches()), and only runners of
    /// that pool take it; a stage no pool serves is unroutable and never
    /// waited for.
    SimQueue(std::vector<TraceStage> trace, std::vector<PoolSettings> pools, const SimClock& clock,
             std::uint64_t seed = 1);

    /// The pending and running stages now.
    [[nodiscard]] Result<std::vector<Stage>> stages() override;

    /// Completes the stages due, admits the arrivals due and lets runners
    /// take pending stages, all as of the clock's now.
    void update();

    /// A runner named `name` with `capacity` slots starts taking stages.
    /// `pool` is the index of its pool (0 with one pool).
    void addRunner(const std::string& name, int capacity, int pool = 0);
    /// The runner takes no new stage; its running stages finish.
    void drainRunner(const std::string& name);
    /// The runner is gone (its instance terminated): its running stages go
    /// back to pending, keeping their arrival time. `reclaimed`: the cloud took
    /// the instance back (a spot interruption); its stages rerun from the
    /// start, queued again now (their wait counts from now).
    void removeRunner(const std::string& name, bool reclaimed = false);
    /// True while a runner of that name is registered (installed, not removed).
    [[nodiscard]] bool hasRunner(const std::string& name) const;

    /// The next arrival or completion after now, if any.
    [[nodiscard]] std::optional<WallTime> nextEvent() const;
    /// Every arrival admitted, nothing running and no pending stage any
    /// runner of this pool could take.
    [[nodiscard]] bool finished() const;

    /// Stages waiting for a runner (those of other pools included).
    [[nodiscard]] int pendingCount() const { return static_cast<int>(pending_.size()); }
    /// Stages running on a runner now.
    [[nodiscard]] int runningCount() const { return static_cast<int>(running_.size()); }
    /// Stages that started and completed.
    [[nodiscard]] int completed() const { return completed_; }
    /// Stages of pool `pool` that completed.
    [[nodiscard]] int completed(int pool) const;
    /// Stages put back to pending because their runner vanished.
    [[nodiscard]] int restarted() const { return restarted_; }
    /// Of those, pool `pool`'s.
    [[nodiscard]] int restarted(int pool) const;
    /// Stages put back to pending because their instance was reclaimed
    /// (removeRunner(name, true)), of pool `pool`; -1: every pool.
    [[nodiscard]] int rerun(int pool = -1) const;
    /// Seconds from arrival (or requeue after a reclaim) to (last) start, per
    /// stage that started; `pool` >= 0: only the stages routed to that pool.
    [[nodiscard]] std::vector<double> waits(int pool = -1) const;
    /// Σ over runners of the time they ran at least one stage, in seconds;
    /// `pool` >= 0: only that pool's runners.
    [[nodiscard]] double busySeconds(int pool = -1) const;
    /// The pool each stage (sorted by time) is routed to; -1: none serves it.
    [[nodiscard]] int routeOf(std::size_t stage) const { return route_[stage]; }
    /// Stage `i` of the trace, sorted by time.
    [[nodiscard]] const TraceStage& traceStage(std::size_t i) const { return trace_[i]; }
    /// Stages that arrived and no pool serves.
    [[nodiscard]] int unroutableArrived() const { return unroutableArrived_; }
    /// Stages in the trace.
    [[nodiscard]] int traceSize() const { return static_cast<int>(trace_.size()); }

private:
    struct Runner {
        int pool = 0;
        int capacity = 0;
        int running = 0;
        bool draining = false;
        WallTime busySince{};
    };
    struct Running {
        std::size_t stage = 0;
        std::string runner{};
    };

    void stop(std::size_t stage, const std::string& runner, WallTime now);
    void dispatch(WallTime now);
    [[nodiscard]] WallTime arrival(std::size_t stage) const;

    std::vector<TraceStage> trace_;
    std::vector<int> route_; ///< Per stage: its pool, -1 for none.
    std::vector<PoolSettings> pools_;
    const SimClock& clock_;
    std::mt19937_64 rng_;
    std::size_t nextArrival_ = 0;
    std::vector<std::size_t> pending_; ///< Oldest first.
    std::size_t pendingMatching_ = 0;
    std::map<std::int64_t, Running> running_; ///< By stage id (index + 1).
    using Completion = std::pair<WallTime, std::size_t>;
    std::priority_queue<Completion, std::vector<Completion>, std::greater<>> completions_;
    std::vector<WallTime> ends_;       ///< Per stage: when its current run ends.
    std::vector<double> waits_;        ///< Per stage; negative until started.
    std::vector<WallTime> since_;      ///< Per stage: arrival, or its last requeue.
    std::vector<int> completedBy_;     ///< Per pool.
    std::vector<int> restartedBy_;     ///< Per pool.
    std::vector<int> rerunBy_;         ///< Per pool.
    std::vector<double> busyBy_;       ///< Per pool, ended busy spells.
    std::vector<std::string> machine_; ///< Per stage: its runner while running.
    std::map<std::string, Runner> byName_;
    int completed_ = 0;
    int restarted_ = 0;
    int unroutableArrived_ = 0;
    double busySeconds_ = 0;
};

/// How the simulated cloud behaves.
struct SimProviderOptions {
    /// From RunInstances to a running instance with a runner that can be installed.
    std::chrono::milliseconds boot{60000};
    /// A uniformly random extra boot time in [0, bootJitter].
    std::chrono::milliseconds bootJitter{0};
    /// The chance that a RunInstances call fails with Errc::Capacity.
    double capacityFailureRate = 0;
    std::uint64_t seed = 1;
    /// kMarketOnDemand or kMarketSpot: the market the pool asks for first.
    std::string market = "on-demand";
    /// With spot: launch on-demand when spot has no capacity (an outage).
    bool spotFallback = true;
    /// With spot and its fallback: at most this many live on-demand servers
    /// (the pool's `on_demand_max`, applied by the engine as in the daemon).
    std::optional<int> onDemandMax{};
    /// Per spot instance: reclaims per instance-hour (an exponential lifetime).
    double interruptionsPerHour = 0;
    /// Spans [start, end) in seconds since the start when spot has no capacity.
    std::vector<std::pair<double, double>> spotOutages{};
    std::string instanceType = "t3.medium"; ///< As instances report it.
};

/// A simulated EC2: instances are visible at once, `running` with an address
/// after their boot time, and gone when destroyed (their runner with them).
/// Accounts instance lifetimes. Single-threaded; `clock` and `queue` must
/// outlive it.
class SimProvider final : public Provider {
public:
    SimProvider(SimProviderOptions options, const SimClock& clock, SimQueue& queue);

    /// Starts an instance (the same client token returns the same one), or
    /// fails with Errc::Capacity at SimProviderOptions::capacityFailureRate.
    [[nodiscard]] Result<Instance> create(const CreateRequest& request) override;
    /// The instances not terminated.
    [[nodiscard]] Result<std::vector<Instance>> list() override;
    /// One instance, terminated ones included; Errc::NotFound for an unknown id.
    [[nodiscard]] Result<Instance> describe(const std::string& id) override;
    /// Terminates the instances at once and removes their runners; unknown ids
    /// are ignored.
    [[nodiscard]] Result<void> destroy(std::span<const std::string> ids) override;

    /// When the next spot instance is reclaimed, if any is due to be.
    [[nodiscard]] std::optional<WallTime> nextReclaim() const;
    /// Reclaims the spot instances due by now: they vanish (state reason
    /// Server.SpotInstanceTermination) and their stages rerun. Returns how many.
    int reclaimDue();
    /// Spot instances reclaimed.
    [[nodiscard]] int interruptions() const { return interruptions_; }
    /// Spot launches refused for lack of spot capacity (an outage).
    [[nodiscard]] int spotRefusals() const { return spotRefusals_; }
    /// Instance-seconds up to now of the instances of `market`.
    [[nodiscard]] double instanceSeconds(std::string_view market) const;

    /// Instances not terminated.
    [[nodiscard]] int live() const { return static_cast<int>(live_.size()); }
    /// The most instances alive at once.
    [[nodiscard]] int peak() const { return peak_; }
    /// Instances started (failed requests not counted).
    [[nodiscard]] int launched() const { return launched_; }
    /// Requests that failed with Errc::Capacity.
    [[nodiscard]] int capacityFailures() const { return capacityFailures_; }
    /// Σ instance lifetimes up to now (live instances up to now), in seconds.
    [[nodiscard]] double instanceSeconds() const;

private:
    struct Live {
        Instance instance{};
        WallTime runningAt{};
        std::optional<WallTime> reclaimAt{};
    };
    void end(std::map<std::string, Live>::iterator it, WallTime now, bool reclaimed);
    [[nodiscard]] bool spotOut(WallTime now) const;
    [[nodiscard]] Instance view(const Live& live) const;

    SimProviderOptions options_;
    const SimClock& clock_;
    SimQueue& queue_;
    std::mt19937_64 rng_;
    std::mt19937_64 reclaimRng_;                   ///< Apart, so on-demand runs draw as before.
    std::map<std::string, Live> live_;             ///< By instance id.
    std::map<std::string, std::string> byToken_;   ///< Client token → instance id.
    std::map<std::string, Instance> terminated_{}; ///< By id, as last seen.
    int next_ = 1;
    int peak_ = 0;
    int launched_ = 0;
    int capacityFailures_ = 0;
    int interruptions_ = 0;
    int spotRefusals_ = 0;
    double endedSeconds_ = 0;
    std::map<std::string, double, std::less<>> endedByMarket_{};
};

/// Installing a runner is instant once the instance is running: install()
/// registers it with the queue, drain() tells it to take no new stage.
class SimInstaller final : public Installer {
public:
    /// `queue` must outlive the installer; `concurrency` is used for a
    /// server whose capacity is 0.
    SimInstaller(SimQueue& queue, int concurrency, int pool = 0);
    /// Registers the server's runner with the queue (capacity from the row).
    [[nodiscard]] Result<void> install(Server& server, const std::stop_token& stop) override;
    /// Errc::NotFound once the runner is gone.
    [[nodiscard]] Result<void> ping(const Server& server) override;
    /// The runner takes no new stage.
    [[nodiscard]] Result<void> drain(const Server& server) override;

private:
    SimQueue& queue_;
    int concurrency_;
    int pool_;
};

/// Everything a simulation run takes besides the trace.
struct SimulationOptions {
    PoolSettings pool{}; ///< MIN, MAX, concurrency, buffer, ages and the policy.
    std::chrono::milliseconds interval{10000};
    std::chrono::milliseconds planInterval{0}; ///< EngineOptions::planInterval.
    bool planFirstAfterInterval = false;       ///< EngineOptions::planFirstAfterInterval.
    bool createOnNextCycle = false;            ///< EngineOptions::createOnNextCycle.
    std::chrono::milliseconds timeoutStop{3600000};
    std::chrono::milliseconds bootDeadline{600000};
    SimProviderOptions cloud{};
    double pricePerHour = 0.0416; ///< USD per on-demand instance-hour (t3.medium, us-east-1).
    /// A spot instance-hour's price as a fraction of pricePerHour.
    double spotPriceFraction = 0.3;
    std::chrono::seconds sampleEvery{60};
    /// After the last arrival, give up on stages no runner takes this long.
    std::chrono::hours drainLimit{24 * 7};
    /// Start as a deployment that has been running does: MIN servers launched
    /// at the start under either policy (classic never creates them itself, but
    /// once up it never goes below them). False: an empty pool, as on the very
    /// first start.
    bool warmStart = true;
};

/// drone/autoscaler's timings (reference §2.1, §2.4) on `options`: the
/// classic policy planning every 5 m, first one interval after start; servers
/// created by the 10 s allocator loop; DRONE_POOL_MIN_AGE 55 m.
SimulationOptions withClassicTimings(SimulationOptions options);

/// Servers and demand at one instant.
struct SimulationSample {
    double t = 0;    ///< Seconds since the start.
    int servers = 0; ///< Live instances (booting included).
    int demand = 0;  ///< Pending plus running stages of the pool.
};

/// What a run cost and how long builds waited.
struct SimulationResult {
    Policy policy = Policy::Default;
    int concurrency = 2;
    int stages = 0;     ///< In the trace.
    int builds = 0;     ///< Stages that ran to completion.
    int notRun = 0;     ///< Stages never run (no runner of the pool takes them).
    int restarted = 0;  ///< Runs cut short by a vanished runner and run again.
    double waitP50 = 0; ///< Seconds from arrival to start, nearest rank.
    double waitP95 = 0;
    double waitMax = 0;
    double instanceHours = 0;     ///< Σ instance lifetimes (launch to termination).
    double idleInstanceHours = 0; ///< Instance-hours without any stage running.
    double costUsd = 0; ///< Actual: on-demand hours at the price, spot hours at its fraction.
    /// What the same instance-hours would have cost on-demand.
    double onDemandCostUsd = 0;
    double spotInstanceHours = 0;
    double onDemandInstanceHours = 0;
    int interruptions = 0; ///< Spot instances reclaimed.
    int rerun = 0;         ///< Stages rerun from the start after a reclaim.
    int spotRefusals = 0;  ///< Spot launches refused (outages).
    bool spot = false;     ///< The pool asked for spot: the spot figures are reported.
    int unroutable = 0;    ///< Stages no pool serves (a fleet); not in the wait figures.
    int peakServers = 0;
    int serversLaunched = 0;
    int capacityFailures = 0;
    std::int64_t cycles = 0;
    double simulatedSeconds = 0; ///< From the start to the end of the run.
    std::vector<SimulationSample> samples{};
};

/// Replays `trace` through autoscale::Engine (workers = 0, SQLite in memory)
/// on a SimClock, SimProvider, SimQueue and SimInstaller until every stage
/// the pool can run has run. Errc::InvalidArgument for impossible options.
Result<SimulationResult> runSimulation(const std::vector<TraceStage>& trace,
                                       const SimulationOptions& options);

/// A fleet run (several pools): per pool, in pool order, and in total.
struct FleetSimulationResult {
    std::vector<std::pair<std::string, SimulationResult>> pools{};
    /// Every pool together: waits over every routed stage, hours and costs
    /// summed, peakServers the most live servers of the fleet at one instant.
    SimulationResult total{};
    std::optional<int> fleetMax{};
    /// The stages no pool serves, in time order (counted in total.unroutable).
    std::vector<TraceStage> unroutable{};
};

/// Replays `trace` through autoscale::Fleet: one Engine per pool (`pools`, in
/// routing order; each with its own `pool`, cloud and price), one simulated
/// queue whose runners take only the stages routed to their pool, one
/// SimProvider per pool, the fleet's `fleetMax` shared as the daemon shares it.
/// The interval, sampling, drain limit and warm start come from `pools[0]`.
/// Errc::InvalidArgument for impossible options or no pool.
Result<FleetSimulationResult> runFleetSimulation(const std::vector<TraceStage>& trace,
                                                 const std::vector<SimulationOptions>& pools,
                                                 std::optional<int> fleetMax);

/// The on-demand price in USD per hour of common instance types (Linux,
/// us-east-1; see README "simulate" for the source); nullopt when unknown.
std::optional<double> onDemandPricePerHour(std::string_view instanceType);

/// The nearest-rank percentile (q in [0, 1]) of `values`; 0 when empty.
double percentile(std::vector<double> values, double q);

/// The `--json` object: builds, wait_p50_s, wait_p95_s, wait_max_s,
/// instance_hours, idle_instance_hours, cost_usd, peak_servers; with spot
/// also on_demand_cost_usd, spot_instance_hours, on_demand_instance_hours,
/// interruptions, stages_rerun, spot_refusals; with unroutable stages
/// `unroutable`.
std::string simulationJson(const SimulationResult& result);

/// The `--json` object of a fleet run: {"pools": [{"name", ...figures}],
/// "total": {...figures, "fleet_max"}, "unroutable": [{"t", "os", "arch",
/// "labels"}]}.
std::string fleetSimulationJson(const FleetSimulationResult& result);

/// The figures as a table, one column per named result (side by side).
std::string
formatSimulationTable(const std::vector<std::pair<std::string, SimulationResult>>& columns);

/// Servers against demand over time, `width` columns by `height` rows plus
/// axes and a legend; each column shows the most of each in its time span.
std::string formatSimulationChart(const SimulationResult& result, int width = 80, int height = 12);

} // namespace autoscale
