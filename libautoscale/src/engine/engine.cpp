// SPDX-License-Identifier: Apache-2.0
/// \file
/// The reconcile loop. One thread decides (cycle()); long operations run as
/// tasks on an Executor (a bounded pool of workers, or inline when workers ==
/// 0). Every state change goes through ServerLifecycle as a compare-and-swap
/// on the store; a lost swap means another actor (the API, another task)
/// moved the server, and the task stops. This file holds the cycle and its
/// decisions; server_steps.cpp moves servers, operator_commands.cpp serves
/// the API.

#include "autoscale/engine.h"

#include <algorithm>
#include <array>
#include <atomic>

#include <autoscale/dispatch.h>
#include <autoscale/planner.h>
#include <autoscale/values.h>

#include "engine/engine_impl.h"

namespace autoscale {

namespace {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

template <typename D>
Millis toMillis(D d) {
    return std::chrono::duration_cast<Millis>(d);
}

} // namespace

std::string goDuration(std::chrono::nanoseconds d) {
    return formatGoDuration(toMillis(d));
}

Histogram Histogram::withBounds(std::vector<double> upperBounds) {
    Histogram h;
    h.bounds = std::move(upperBounds);
    h.counts.assign(h.bounds.size(), 0);
    return h;
}

void Histogram::observe(double value) {
    ++count;
    sum += value;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        if (value <= bounds[i]) {
            ++counts[i];
            return;
        }
    }
}

Engine::Impl::Impl(EngineOptions options, Store& store, Provider& provider, Queue& queue,
                   Installer& installer, const Clock& clock, Logger logger)
    : options_(std::move(options))
    , store_(store)
    , provider_(provider)
    , queue_(queue)
    , installer_(installer)
    , clock_(clock)
    , log_(std::move(logger))
    , lifecycle_(store, clock)
    , operatorLifecycle_(options_.operatorStore != nullptr ? *options_.operatorStore : store, clock)
    , backoff_(options_.backoffInitial, options_.backoffMax, clock)
    , stages_(options_.pool.launchDelay)
    , health_(options_.pingerInterval)
    , demand_(options_.pool.idleTimeout)
    , executor_(options_.workers > 0 ? makeThreadPoolExecutor(options_.workers)
                                     : makeInlineExecutor()) {
}

Engine::Impl::~Impl() {
    executor_->stop();
    executor_.reset();
}

// ---- the cycle ------------------------------------------------------------

Result<Plan> Engine::Impl::cycle() {
    auto queue = queue_.stages();
    if (!queue)
        return cycleWith(queue.error(), std::nullopt);
    PoolQueue mine{.stages = std::move(*queue)}; // Filtered in place: the queue may be large.
    mine.leftOut = keepDispatched(mine.stages, options_.pool);
    return cycleWith(std::move(mine), std::nullopt);
}

Result<std::vector<Server>> Engine::Impl::listOwn(std::optional<std::uint64_t>* listedAt) {
    // Only the pool that claims rows of no pool, or of a removed pool, reads
    // them all, and only until it has claimed them (and again at each sweep):
    // the others read their pool's rows only.
    const bool all = options_.claimsUnpooled && !claimedAll_.load();
    // Read before the rows: a write in between changes it again, so the
    // listing kept below is never taken for newer than it is.
    const auto changeCount = store_.changeCount();
    if (listedAt != nullptr)
        *listedAt = changeCount;
    if (changeCount) {
        const std::lock_guard lock(listingMutex_);
        if (listing_ && listing_->changeCount == *changeCount && listing_->all == all)
            return listing_->rows;
    }
    auto rows = all ? store_.list() : store_.listPool(options_.pool.name);
    if (!rows)
        return rows;
    if (all)
        std::erase_if(*rows, [this](const Server& s) { return !isOwn(s); });
    if (changeCount) {
        const std::lock_guard lock(listingMutex_);
        listing_ = Listing{.changeCount = *changeCount, .all = all, .rows = *rows};
    }
    return rows;
}

bool Engine::Impl::isOwn(const Server& row) const {
    if (row.pool == options_.pool.name)
        return true;
    if (!options_.claimsUnpooled)
        return false;
    const auto& fleet = options_.fleetPools;
    return row.pool.empty() || std::find(fleet.begin(), fleet.end(), row.pool) == fleet.end();
}

void Engine::Impl::claimUnpooled(const std::vector<Server>& rows) {
    bool all = true;
    for (const auto& row : rows) {
        if (row.pool == options_.pool.name)
            continue;
        if (inFlight_.contains(row.name)) {
            all = false;
            continue;
        }
        Server claimed = row;
        claimed.pool = options_.pool.name;
        auto saved = lifecycle_.save(claimed);
        all = all && saved.has_value();
        if (saved) {
            log_.info(row.pool.empty() ? "server from before pools given to the first pool"
                                       : "server of a pool no longer configured given to the "
                                         "first pool",
                      {{"server", row.name}, {"pool", options_.pool.name}, {"was", row.pool}});
        }
    }
    claimedAll_ = all;
}

void Engine::Impl::shareState() {
    const std::string& pool = options_.pool.name;
    if (std::string backoff = backoff_.encode(); backoff != sharedBackoff_) {
        if (store_.putValue("backoff/" + pool, backoff))
            sharedBackoff_ = std::move(backoff);
    }
    std::string orphans;
    for (const auto& id : orphanMarks_.marked())
        orphans += (orphans.empty() ? "" : ",") + id;
    if (orphans != sharedOrphans_) {
        if (store_.putValue("orphans/" + pool, orphans))
            sharedOrphans_ = std::move(orphans);
    }
}

void Engine::Impl::takeUpSharedState() {
    const std::string& pool = options_.pool.name;
    auto backoff = store_.getValue("backoff/" + pool);
    auto orphans = store_.getValue("orphans/" + pool);
    if (!backoff || !orphans)
        return; // Tried again at the next cycle.
    tookUpShared_ = true;
    if (backoff->has_value()) {
        backoff_.restore(**backoff);
        sharedBackoff_ = **backoff;
        if (backoff_.failures() > 0) {
            log_.info("creation back-off taken up from the store",
                      {{"failures", std::to_string(backoff_.failures())}});
        }
    }
    if (orphans->has_value() && !(*orphans)->empty()) {
        std::vector<std::string> ids;
        std::string_view rest = **orphans;
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            ids.emplace_back(rest.substr(0, comma));
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        }
        orphanMarks_.restore(ids);
        sharedOrphans_ = **orphans;
    }
}

Result<Plan> Engine::Impl::cycleWith(Result<PoolQueue> queue, std::optional<int> share) {
    const std::lock_guard cycleLock(cycleMutex_);
    const WallTime now = clock_.now();
    {
        const std::lock_guard lock(reportMutex_);
        ++metrics_.cycles;
    }

    const std::uint64_t generation = insertGeneration_.load();
    if (!lastSweep_ || clock_.steadyNow() - *lastSweep_ >= options_.orphanSweepInterval)
        claimedAll_ = false; // Look at every row again at each sweep.
    if (!tookUpShared_)
        takeUpSharedState();
    std::optional<std::uint64_t> listedAt;
    auto rows = listOwn(&listedAt);
    if (!rows) {
        noteCycleError("cannot read the store: " + rows.error().message);
        return rows.error();
    }
    if (options_.claimsUnpooled)
        claimUnpooled(*rows);
    if (!lostBuildsResumed_) {
        lostBuildsResumed_ = true;
        resumeLostBuilds(*rows);
    }
    const bool queueOk = queue.has_value();
    std::vector<Stage> stages;
    StagesLeftOut leftOut;
    if (queueOk) {
        stages = std::move(queue->stages);
        leftOut = queue->leftOut;
    } else {
        log_.warn("cannot read the Drone queue; nothing is drained or terminated and no "
                  "server is created beyond the minimum",
                  {{"error", queue.error().message}});
    }
    const BusyNames busy = busyServerNames(stages);

    const SteadyTime steady = clock_.steadyNow();
    if (queueOk) {
        busy_.record(*rows, busy, now, lifecycle_,
                     [this](const std::string& name) { return inFlight_.contains(name); });
        demand_.record(steady, static_cast<int>(stages.size()) + options_.pool.buffer);
    } else {
        demand_.clear();
    }
    const int youngPending = stages_.observe(stages, now);

    // Orphan sweep at start and every orphanSweepInterval.
    if (!lastSweep_ || steady - *lastSweep_ >= options_.orphanSweepInterval) {
        lastSweep_ = steady;
        sweep(*rows, now);
        rows = listOwn(&listedAt);
        if (!rows) {
            noteCycleError("cannot read the store: " + rows.error().message);
            return rows.error();
        }
    }

    // Decide, when the planner is due.
    Result<Plan> decided = Plan{};
    const bool planning = planDue(steady);
    if (planning) {
        decided = decide(*rows, generation, stages, queueOk, queue ? "" : queue.error().message,
                         now, youngPending, share);
        if (!decided) {
            noteCycleError("cannot read the store: " + decided.error().message);
            return decided.error();
        }
        decided->leftOut = leftOut;
    } else {
        decided = notDue(stages);
    }

    // Advance every server one step, on the rows as they are now: read
    // again unless nothing was written since they were.
    if (!listedAt || store_.changeCount() != listedAt) {
        rows = listOwn();
        if (!rows) {
            noteCycleError("cannot read the store: " + rows.error().message);
            return rows.error();
        }
    }
    advance(*rows, busy, queueOk, now);
    shareState();

    // Purge terminated rows every hour, or every purgeAfter if shorter.
    if (!lastPurge_ ||
        steady - *lastPurge_ >= std::min<std::chrono::nanoseconds>(1h, options_.purgeAfter)) {
        lastPurge_ = steady;
        if (auto purged = store_.purge(now - options_.purgeAfter); purged && *purged > 0)
            log_.info("purged terminated servers", {{"count", std::to_string(*purged)}});
    }

    {
        const std::lock_guard lock(reportMutex_);
        if (planning)
            lastPlan_ = *decided;
        metrics_.pendingStages = decided->pending;
        metrics_.runningStages = decided->running;
        metrics_.serversByState.clear();
        metrics_.serversByMarket.clear();
        for (const auto& s : *rows) {
            ++metrics_.serversByState[std::string(nameOf(s.state))];
            if (s.state != ServerState::Terminated)
                ++metrics_.serversByMarket[s.market];
        }
        if (queueOk) {
            status_.lastGoodCycle = steady;
            status_.lastError.clear();
        } else {
            status_.lastError = "cannot read the Drone queue: " + queue.error().message;
            ++metrics_.cycleErrors;
        }
    }
    return decided;
}

void Engine::Impl::run(const std::stop_token& stop) {
    log_.info("engine started", {{"interval", goDuration(options_.interval)},
                                 {"min", std::to_string(options_.pool.min)},
                                 {"max", std::to_string(options_.pool.max)},
                                 {"policy", std::string(nameOf(options_.pool.policy))}});
    while (!stop.stop_requested()) {
        const SteadyTime started = clock_.steadyNow();
        (void)cycle();
        const auto spent = clock_.steadyNow() - started;
        const auto wait = options_.interval - toMillis(spent);
        if (wait > 0ms && !clock_.sleepFor(wait, stop))
            break;
    }
    // In-flight work stops at its next check (an install between probes or
    // SSH polls) and leaves its row where the next start resumes it.
    executor_->interrupt();
    log_.info("engine stopping: no new decisions; in-flight work asked to stop");
}

Plan Engine::Impl::lastPlan() const {
    const std::lock_guard lock(reportMutex_);
    return lastPlan_;
}

EngineStatus Engine::Impl::status() const {
    EngineStatus s;
    {
        const std::lock_guard lock(reportMutex_);
        s = status_;
    }
    s.paused = paused();
    if (const auto remaining = backoff_.remaining())
        s.backoffUntil = clock_.now() + *remaining;
    return s;
}

EngineMetrics Engine::Impl::metrics() const {
    EngineMetrics m;
    {
        const std::lock_guard lock(reportMutex_);
        m = metrics_;
    }
    m.reaction = stages_.reaction();
    m.consecutiveFailures = backoff_.failures();
    if (const auto remaining = backoff_.remaining())
        m.backoffRemaining = toMillis(*remaining);
    return m;
}

void Engine::Impl::noteCycleError(const std::string& message) {
    log_.error("cycle failed", {{"error", message}});
    const std::lock_guard lock(reportMutex_);
    ++metrics_.cycleErrors;
    status_.lastError = message;
}

// ---- deciding -------------------------------------------------------------

/// Whether this cycle decides (EngineOptions::planInterval and
/// planFirstAfterInterval); records the decision time when it does.
bool Engine::Impl::planDue(SteadyTime steady) {
    if (options_.planInterval <= 0ms && !options_.planFirstAfterInterval)
        return true;
    const Millis every = options_.planInterval > 0ms ? options_.planInterval : options_.interval;
    if (!firstCycle_)
        firstCycle_ = steady;
    const bool due = lastDecision_
                             ? steady - *lastDecision_ >= every
                             : !options_.planFirstAfterInterval || steady - *firstCycle_ >= every;
    if (due)
        lastDecision_ = steady;
    return due;
}

/// The plan of a cycle that does not decide: the counts, no action.
Plan Engine::Impl::notDue(std::span<const Stage> stages) const {
    Plan p{.pool = options_.pool.name, .policy = options_.pool.policy};
    for (const auto& stage : stages) {
        if (stage.status == "pending") {
            ++p.pending;
        } else if (stage.status == "running") {
            ++p.running;
        }
    }
    p.reasons.push_back(
            "no decision this cycle: the planner decides every " +
            goDuration(options_.planInterval > 0ms ? options_.planInterval : options_.interval));
    return p;
}

Result<Plan> Engine::Impl::decide(const std::vector<Server>& listedBefore, std::uint64_t generation,
                                  std::span<const Stage> stages, bool queueOk,
                                  const std::string& queueError, WallTime now, int youngPending,
                                  std::optional<int> share) {
    // Counting live servers and inserting new ones happen under one lock,
    // shared with the API's createServer: MAX holds under races. Rows are
    // only ever added under this lock (the generation counts them), and
    // other writes can only take a row out of the live count, so the
    // cycle's first listing is still a safe count when nothing was added.
    const std::lock_guard createLock(createMutex_);
    std::optional<std::vector<Server>> relisted;
    if (insertGeneration_.load() != generation) {
        auto listed = listOwn();
        if (!listed)
            return listed.error();
        relisted = std::move(*listed);
    }
    const std::vector<Server>& rows = relisted ? *relisted : listedBefore;
    const PlanHistory history{.burstReserve = burstReserve(rows), .youngPending = youngPending};
    PoolSettings pool = options_.pool;
    const bool shareBinds = share && *share < pool.max;
    if (shareBinds)
        pool.max = std::max(*share, pool.min);
    Plan p = plan(pool, rows, stages, now, history);
    if (shareBinds) {
        p.reasons.push_back("the fleet's max leaves this pool " + std::to_string(pool.max) +
                            " live servers this cycle (its own max is " +
                            std::to_string(options_.pool.max) + ")");
    }
    if (!queueOk) {
        // Unknown demand: keep MIN, nothing more, nothing drained.
        p.drain.clear();
        p.reasons.clear();
        const int room = std::max(options_.pool.max - p.live, 0);
        p.create = std::clamp(options_.pool.min - p.servers, 0, room);
        p.wanted = std::max(p.servers, options_.pool.min);
        p.reasons.push_back("queue unreadable (" + queueError +
                            "): keep DRONE_POOL_MIN=" + std::to_string(options_.pool.min) +
                            ", create " + std::to_string(p.create) + ", drain nothing");
    }
    explainCapacity(p, rows);
    if (paused()) {
        if (p.create > 0 || !p.drain.empty())
            p.reasons.emplace_back("paused: not acting on the plan");
        p.create = 0;
        p.drain.clear();
        return p;
    }
    if (const auto remaining = backoff_.remaining(); p.create > 0 && remaining) {
        const std::string why = "backing off creation for " + goDuration(*remaining) + " after " +
                                std::to_string(backoff_.failures()) + " consecutive failures";
        p.reasons.push_back(why + " (wanted to create " + std::to_string(p.create) + ")");
        log_.warn("creation backed off", {{"wanted", std::to_string(p.create)}, {"reason", why}});
        p.create = 0;
    }
    for (const auto& reason : p.reasons) {
        log_.info("decision", {{"pending", std::to_string(p.pending)},
                               {"running", std::to_string(p.running)},
                               {"servers", std::to_string(p.servers)},
                               {"capacity", std::to_string(p.capacity)},
                               {"reason", reason}});
    }
    if (p.create > 0)
        stages_.served(p.create * std::max(options_.pool.concurrency, 1), now);
    for (int i = 0; i < p.create; ++i) {
        auto row = insertPending("planned", lifecycle_);
        if (!row && row.error().code == Errc::LimitReached) {
            // Another pool (or the API) took the room first: the store's caps hold.
            p.reasons.push_back("no more room: " + row.error().message);
            log_.info("cap reached",
                      {{"pool", options_.pool.name}, {"reason", row.error().message}});
            p.create = i;
            break;
        }
        if (!row) {
            log_.error("cannot record a new server", {{"error", row.error().message}});
            break;
        }
        if (!options_.createOnNextCycle)
            schedule(*row);
    }
    for (const auto& name : p.drain) {
        const auto it = std::find_if(rows.begin(), rows.end(),
                                     [&](const Server& s) { return s.name == name; });
        if (it == rows.end())
            continue;
        auto written = lifecycle_.transition(*it, ServerState::Draining);
        if (!written) {
            log_.warn("drain lost a race", {{"server", name}, {"error", written.error().message}});
            continue;
        }
        startDrain(*written);
    }
    return p;
}

/// Slots kept free for a burst: the largest rise in demand within one
/// boot time over the last idle timeout, less one. A rise slower than a
/// boot can be met by launching; a faster one needs servers already up,
/// except for its first stage: a lone stage finding the pool full is what
/// launching on demand is for (it waits one boot at most, usually less, for
/// a runner finishing a stage). Unknown until the engine has watched the
/// queue for a whole idle timeout.
std::optional<int> Engine::Impl::burstReserve(const std::vector<Server>& rows) const {
    if (!demand_.complete())
        return std::nullopt;
    return std::max(demand_.largestRise(bootTime(rows)) - 1, 0);
}

/// How long the pool's servers took from the decision to a runner taking
/// stages: the median of the newest 16 that got there. Until one has, the
/// whole idle timeout (the most cautious reserve).
Millis Engine::Impl::bootTime(const std::vector<Server>& rows) const {
    std::vector<std::pair<WallTime, Millis>> boots;
    for (const auto& s : rows) {
        if (s.started != WallTime{} && s.created != WallTime{} && s.started >= s.created)
            boots.emplace_back(s.created, toMillis(s.started - s.created));
    }
    if (boots.empty())
        return options_.pool.idleTimeout;
    constexpr std::size_t kNewest = 16;
    if (boots.size() > kNewest) {
        std::nth_element(boots.begin(), boots.begin() + kNewest, boots.end(),
                         [](const auto& a, const auto& b) { return a.first > b.first; });
        boots.resize(kNewest);
    }
    const auto middle = boots.begin() + static_cast<std::ptrdiff_t>(boots.size() / 2);
    std::nth_element(boots.begin(), middle, boots.end(),
                     [](const auto& a, const auto& b) { return a.second < b.second; });
    return middle->second;
}

// ---- orphans and vanished instances ---------------------------------------

namespace {

/// Whether instance `id`, which the tagged listing lacks or shows going, is
/// really gone; `why` gets EC2's StateReason when it says one. An instance our
/// tags do not mark (one adopted from drone/autoscaler) is absent from the
/// listing while it runs: ask for it by id.
bool confirmGone(Provider& provider, const Logger& log, const std::string& id,
                 const std::vector<Instance>& listed, std::string& why) {
    const auto seen = std::find_if(listed.begin(), listed.end(),
                                   [&](const Instance& i) { return i.id == id; });
    if (seen != listed.end()) {
        why = seen->stateReason;
        return true; // Listed, shutting down or terminated.
    }
    auto described = provider.describe(id);
    if (!described) {
        if (described.error().code == Errc::NotFound)
            return true;
        log.warn("cannot confirm that an instance vanished; will ask again",
                 {{"instance", id}, {"error", described.error().message}});
        return false;
    }
    why = described->stateReason;
    return described->state == InstanceState::ShuttingDown ||
           described->state == InstanceState::Terminated;
}

} // namespace

void Engine::Impl::sweep(const std::vector<Server>& rows, WallTime now) {
    auto listed = provider_.list();
    if (!listed) {
        log_.warn("orphan sweep cannot list instances", {{"error", listed.error().message}});
        return;
    }
    const CloudFindings found = classifyCloud(rows, *listed, now, options_.notFoundGrace);

    // Shutting-down instances are already going: only live orphans count.
    std::vector<Instance> orphans;
    for (const auto& instance : found.unknown) {
        if (instance.state != InstanceState::ShuttingDown)
            orphans.push_back(instance);
    }
    const auto verdict = orphanMarks_.next(orphans);
    for (const auto& id : verdict.marked) {
        log_.warn("instance unknown to the store; terminating it at the next sweep unless "
                  "claimed",
                  {{"instance", id}});
    }
    if (!verdict.terminate.empty()) {
        if (auto destroyed = provider_.destroy(verdict.terminate); destroyed) {
            count(&EngineMetrics::orphansTerminated,
                  static_cast<std::int64_t>(verdict.terminate.size()));
            for (const auto& id : verdict.terminate)
                log_.warn("terminated orphan instance", {{"instance", id}});
        } else {
            log_.error("cannot terminate orphans", {{"error", destroyed.error().message}});
            orphanMarks_.keep(verdict.terminate);
        }
    }

    // Rows whose instance vanished (spot reclaim, manual termination).
    for (const auto& name : found.vanished) {
        if (inFlight_.contains(name))
            continue;
        const auto it = std::find_if(rows.begin(), rows.end(),
                                     [&](const Server& s) { return s.name == name; });
        Server gone = *it;
        const std::string instance = gone.instanceId;
        std::string why;
        if (!confirmGone(provider_, log_, instance, *listed, why))
            continue;
        const bool hadRunner = ranStages(gone);
        if (moveTo(gone, ServerState::Terminated, vanishedReason(instance, why))) {
            count(&EngineMetrics::vanished);
            if (hadRunner)
                recordLost(gone);
            log_.warn("instance vanished; its capacity will be replaced",
                      {{"server", name}, {"instance", instance}});
        }
    }
}

// ---- Engine ---------------------------------------------------------------

Engine::Engine(EngineOptions options, Store& store, Provider& provider, Queue& queue,
               Installer& installer, const Clock& clock, Logger logger)
    : impl_(std::make_unique<Impl>(std::move(options), store, provider, queue, installer, clock,
                                   std::move(logger))) {
}

Engine::~Engine() = default;

Result<Plan> Engine::cycle() {
    return impl_->cycle();
}
Result<Plan> Engine::cycleWith(Result<PoolQueue> queue, std::optional<int> share) {
    return impl_->cycleWith(std::move(queue), share);
}
const PoolSettings& Engine::pool() const {
    return impl_->pool();
}
void Engine::run(const std::stop_token& stop) {
    impl_->run(stop);
}
void Engine::newTerm() {
    impl_->newTerm();
}
void Engine::interrupt() {
    impl_->interrupt();
}
void Engine::waitIdle() {
    impl_->waitIdle();
}
bool Engine::waitIdleFor(std::chrono::milliseconds limit) {
    return impl_->waitIdleFor(limit);
}
void Engine::pause() {
    impl_->pause();
}
void Engine::resume() {
    impl_->resume();
}
bool Engine::paused() const {
    return impl_->paused();
}
Plan Engine::lastPlan() const {
    return impl_->lastPlan();
}
EngineStatus Engine::status() const {
    return impl_->status();
}
EngineMetrics Engine::metrics() const {
    return impl_->metrics();
}
Result<Server> Engine::createServer() {
    return impl_->createServer();
}
Result<std::optional<Server>> Engine::destroyServer(const std::string& name, bool force) {
    return impl_->destroyServer(name, force);
}
Result<Server> Engine::handleNotice(const CloudNotice& notice) {
    return impl_->handleNotice(notice);
}

} // namespace autoscale
