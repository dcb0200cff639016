// SPDX-License-Identifier: Apache-2.0
/// \file
/// Engine::Impl, shared by the files that implement it: engine.cpp (the cycle
/// and its decisions), server_steps.cpp (moving each server one step along its
/// lifecycle) and operator_commands.cpp (what the API asks). The state lives in
/// the helper classes, each with its own lock; what stays here is the cycle's
/// own bookkeeping, guarded by cycleMutex_, and the reported status.

#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include <autoscale/engine.h>

#include "engine/busy_tracker.h"
#include "engine/cloud_sweep.h"
#include "engine/creation_backoff.h"
#include "engine/demand_history.h"
#include "engine/executor.h"
#include "engine/runner_health.h"
#include "engine/server_lifecycle.h"
#include "engine/stage_watch.h"

namespace autoscale {

class Engine::Impl {
public:
    Impl(EngineOptions options, Store& store, Provider& provider, Queue& queue,
         Installer& installer, const Clock& clock, Logger logger);
    ~Impl();
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    // engine.cpp: the cycle.
    Result<Plan> cycle();
    Result<Plan> cycleWith(Result<PoolQueue> queue, std::optional<int> share);
    const PoolSettings& pool() const { return options_.pool; }
    void run(const std::stop_token& stop);
    void waitIdle() { inFlight_.waitIdle(); }
    void interrupt() { executor_->interrupt(); }
    void newTerm() {
        const std::lock_guard cycleLock(cycleMutex_);
        tookUpShared_ = false;
    }
    bool waitIdleFor(std::chrono::milliseconds limit) { return inFlight_.waitIdleFor(limit); }
    Plan lastPlan() const;
    EngineStatus status() const;
    EngineMetrics metrics() const;

    // operator_commands.cpp: what the API asks.
    void pause();
    void resume();
    bool paused() const { return paused_.load(); }
    Result<Server> createServer();
    Result<std::optional<Server>> destroyServer(const std::string& name, bool force);

    // notices.cpp: what the cloud tells us about an instance.
    Result<Server> handleNotice(const CloudNotice& notice);

private:
    /// Whether the server may have run stages (its builds are lost with it).
    static bool ranStages(const Server& s);
    /// Records, on a worker, the builds lost with server `s` (findLostBuilds),
    /// then hands the row to handleLostBuilds.
    void recordLost(const Server& s);
    /// At the first cycle: hands every row with unhandled lost builds to handleLostBuilds.
    void resumeLostBuilds(const std::vector<Server>& rows);
    /// One attempt of handleNotice on row `s`; Errc::Conflict when it lost a race.
    Result<Server> applyNotice(Server s, const CloudNotice& notice);
    // engine.cpp: deciding.
    bool planDue(SteadyTime steady);
    Plan notDue(std::span<const Stage> stages) const;
    Result<Plan> decide(const std::vector<Server>& listedBefore, std::uint64_t generation,
                        std::span<const Stage> stages, bool queueOk, const std::string& queueError,
                        WallTime now, int youngPending, std::optional<int> share);
    /// This pool's rows (and, for the pool that claims them, rows without a
    /// pool). `listedAt`, when given, receives the store's changeCount() the
    /// rows are as of (nullopt when the store gives none).
    Result<std::vector<Server>> listOwn(std::optional<std::uint64_t>* listedAt = nullptr);
    /// Writes the creation back-off and the orphan marks to the store when
    /// they changed; takes them up from the store at the first cycle (of the
    /// process or of a new term).
    void shareState();
    void takeUpSharedState();
    /// Whether this engine manages the row (EngineOptions::claimsUnpooled).
    bool isOwn(const Server& row) const;
    /// Gives the rows it claims to this pool.
    void claimUnpooled(const std::vector<Server>& rows);

    std::optional<int> burstReserve(const std::vector<Server>& rows) const;
    std::chrono::milliseconds bootTime(const std::vector<Server>& rows) const;
    void sweep(const std::vector<Server>& rows, WallTime now);
    void noteCycleError(const std::string& message);

    // operator_commands.cpp.
    Result<Server> insertPending(const char* why, const ServerLifecycle& lifecycle);
    bool mayAct() const { return !options_.mayAct || options_.mayAct(); }

    // server_steps.cpp: the lifecycle, one step at a time.
    void advance(const std::vector<Server>& rows, const BusyNames& busy, bool queueOk,
                 WallTime now);
    void schedule(const Server& s);
    void step(Server s, const std::stop_token& stop);
    bool moveTo(Server& s, ServerState to, std::string reason = {});
    void fail(Server s, std::string reason, std::int64_t EngineMetrics::*counter);
    void stepCreate(Server s, const std::stop_token& stop);
    void createInstance(Server s, const std::stop_token& stop);
    /// RunInstances for `s` and the row moved to booting (or waiting for capacity).
    void launchInstance(Server s, bool onDemandAllowed);
    void stepAdoptCreating(Server s, const std::stop_token& stop);
    void stepBoot(Server s);
    void stepInstall(Server s, const std::stop_token& stop);
    void stepPing(Server s);
    void startDrain(const Server& s);
    void stepTerminate(Server s);
    void stepReapError(Server s);
    /// Whether a spot pool may launch on-demand now (EngineOptions::onDemandMax),
    /// counting the stored on-demand servers and the creates in flight that
    /// were allowed it; when allowed, this create takes one of those slots
    /// until releaseOnDemand().
    bool reserveOnDemand();
    void releaseOnDemand();
    /// Errc::Capacity from create(): the server stays `creating`, waiting (no
    /// error, no back-off) until the earliest cooling choice is back.
    void waitForCapacity(Server s, const Error& error);
    /// Whether a row waiting for capacity is not due for another try yet.
    bool capacityWaitPending(const Server& s) const;
    /// The plan's cooling list and capacity reason (from the provider's memory).
    void explainCapacity(Plan& p, const std::vector<Server>& rows) const;
    void count(std::int64_t EngineMetrics::*counter, std::int64_t n = 1);
    void observe(Histogram EngineMetrics::*histogram, double value);

    EngineOptions options_;
    Store& store_;
    Provider& provider_;
    Queue& queue_;
    Installer& installer_;
    const Clock& clock_;
    Logger log_;
    const ServerLifecycle lifecycle_;
    const ServerLifecycle operatorLifecycle_; ///< Over EngineOptions::operatorStore.

    std::atomic<bool> paused_{false};
    std::mutex createMutex_; ///< Counting live servers and inserting is atomic.
    std::mutex onDemandMutex_;
    /// Creates allowed on-demand whose row does not say its market yet.
    int onDemandInFlight_ = 0;                       ///< Guarded by onDemandMutex_.
    std::atomic<std::uint64_t> insertGeneration_{0}; ///< Rows inserted so far.
    InFlight inFlight_;
    CreationBackoff backoff_;
    StageWatch stages_;
    RunnerHealth health_;

    /// What the API reads: the last plan, status and counters.
    mutable std::mutex reportMutex_;
    Plan lastPlan_{};         ///< Guarded by reportMutex_.
    EngineStatus status_{};   ///< Guarded by reportMutex_.
    EngineMetrics metrics_{}; ///< Guarded by reportMutex_.
    /// The last capacity refusal: when rows waiting for capacity are tried again.
    std::optional<SteadyTime> capacityRetryAt_{}; ///< Guarded by reportMutex_.
    std::string capacityMessage_{};               ///< Guarded by reportMutex_.

    /// The cycle's own bookkeeping: one cycle at a time.
    std::mutex cycleMutex_;
    BusyTracker busy_;                      ///< Guarded by cycleMutex_.
    DemandHistory demand_;                  ///< Guarded by cycleMutex_.
    OrphanMarks orphanMarks_;               ///< Guarded by cycleMutex_.
    std::optional<SteadyTime> lastSweep_{}; ///< Guarded by cycleMutex_.
    bool tookUpShared_ = false;             ///< Guarded by cycleMutex_.
    std::string sharedBackoff_{};           ///< As last written. Guarded by cycleMutex_.
    std::string sharedOrphans_{};           ///< As last written. Guarded by cycleMutex_.
    /// No row left to claim since the last sweep. Written by the cycle, read by listOwn().
    std::atomic<bool> claimedAll_{false};
    std::optional<SteadyTime> lastPurge_{};    ///< Guarded by cycleMutex_.
    std::optional<SteadyTime> firstCycle_{};   ///< Guarded by cycleMutex_.
    std::optional<SteadyTime> lastDecision_{}; ///< Guarded by cycleMutex_.
    bool lostBuildsResumed_ = false;           ///< Guarded by cycleMutex_.

    /// The last listing of this pool's rows, reused while the store's
    /// changeCount() says nothing was written since.
    struct Listing {
        std::uint64_t changeCount = 0;
        bool all = false; ///< Every row (the claiming pool), not only the pool's.
        std::vector<Server> rows{};
    };
    std::mutex listingMutex_;
    std::optional<Listing> listing_{}; ///< Guarded by listingMutex_.

    std::unique_ptr<Executor> executor_; ///< Last: stopped and joined first.
};

/// Why an instance vanished, from EC2's StateReason code when it gave one, e.g.
/// "reclaimed by EC2 (Server.SpotInstanceTermination): instance i-1 vanished".
std::string vanishedReason(const std::string& instanceId, const std::string& stateReason);

/// A Go duration for messages, e.g. "1m30s".
std::string goDuration(std::chrono::nanoseconds d);

} // namespace autoscale
