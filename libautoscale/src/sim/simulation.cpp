// SPDX-License-Identifier: Apache-2.0
/// \file
/// The simulated clock, queue, cloud and installer, and the driver that runs
/// the daemon's engine over them on virtual time.

#include "autoscale/simulation.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>

#include <autoscale/engine.h>
#include <autoscale/fleet.h>
#include <autoscale/log.h>
#include <autoscale/sqlite_store.h>

namespace autoscale {

namespace {

using namespace std::chrono_literals;
using Nanos = std::chrono::nanoseconds;

/// Seconds (as a trace says them) as a clock duration.
WallTime::duration fromSeconds(double s) {
    return std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(s));
}

double toSeconds(WallTime::duration d) {
    return std::chrono::duration<double>(d).count();
}

} // namespace

WallTime simulationEpoch() {
    return WallTime{std::chrono::seconds{1'767'571'200}}; // Mon 2026-01-05T00:00:00Z
}

// ---- SimClock ---------------------------------------------------------------

SimClock::SimClock(WallTime start) : start_(start) {
}

WallTime SimClock::now() const {
    return start_ + std::chrono::duration_cast<WallTime::duration>(Nanos{elapsedNs_.load()});
}

SteadyTime SimClock::steadyNow() const {
    return SteadyTime{} +
           std::chrono::duration_cast<SteadyTime::duration>(Nanos{elapsedNs_.load()});
}

bool SimClock::sleepFor(std::chrono::nanoseconds duration, const std::stop_token& stop) const {
    if (stop.stop_requested())
        return false;
    if (duration > 0ns)
        elapsedNs_ += duration.count();
    return true;
}

void SimClock::advanceTo(WallTime t) {
    const auto target = std::chrono::duration_cast<Nanos>(t - start_).count();
    if (target > elapsedNs_.load())
        elapsedNs_.store(target);
}

double SimClock::elapsedSeconds() const {
    return std::chrono::duration<double>(Nanos{elapsedNs_.load()}).count();
}

// ---- SimQueue ---------------------------------------------------------------

SimQueue::SimQueue(std::vector<TraceStage> trace, PoolSettings runners, const SimClock& clock,
                   std::uint64_t seed)
    : SimQueue(std::move(trace), std::vector<PoolSettings>{std::move(runners)}, clock, seed) {
}

SimQueue::SimQueue(std::vector<TraceStage> trace, std::vector<PoolSettings> pools,
                   const SimClock& clock, std::uint64_t seed)
    : trace_(std::move(trace))
    , pools_(std::move(pools))
    , clock_(clock)
    , rng_(seed) {
    std::stable_sort(trace_.begin(), trace_.end(),
                     [](const TraceStage& a, const TraceStage& b) { return a.t < b.t; });
    route_.reserve(trace_.size());
    for (const auto& t : trace_) {
        const Stage probe{.os = t.os, .arch = t.arch, .labels = t.labels};
        int route = -1;
        for (std::size_t p = 0; p < pools_.size() && route < 0; ++p) {
            if (stageMatches(probe, pools_[p]))
                route = static_cast<int>(p);
        }
        route_.push_back(route);
    }
    ends_.assign(trace_.size(), WallTime{});
    waits_.assign(trace_.size(), -1.0);
    machine_.assign(trace_.size(), std::string{});
    since_.reserve(trace_.size());
    for (std::size_t i = 0; i < trace_.size(); ++i)
        since_.push_back(arrival(i));
    completedBy_.assign(pools_.size(), 0);
    restartedBy_.assign(pools_.size(), 0);
    rerunBy_.assign(pools_.size(), 0);
    busyBy_.assign(pools_.size(), 0.0);
}

WallTime SimQueue::arrival(std::size_t stage) const {
    return clock_.start() + fromSeconds(trace_[stage].t);
}

Result<std::vector<Stage>> SimQueue::stages() {
    std::vector<Stage> out;
    out.reserve(pending_.size() + running_.size());
    const auto make = [this](std::size_t i, const char* status) {
        const TraceStage& t = trace_[i];
        return Stage{.id = static_cast<std::int64_t>(i) + 1,
                     .buildId = static_cast<std::int64_t>(i) + 1,
                     .status = status,
                     .machine = machine_[i],
                     .os = t.os,
                     .arch = t.arch,
                     .type = "docker",
                     .labels = t.labels,
                     .created = std::chrono::duration_cast<std::chrono::seconds>(
                                        arrival(i).time_since_epoch())
                                        .count()};
    };
    for (const auto i : pending_)
        out.push_back(make(i, "pending"));
    for (const auto& [id, r] : running_)
        out.push_back(make(r.stage, "running"));
    return out;
}

void SimQueue::stop(std::size_t stage, const std::string& runner, WallTime now) {
    running_.erase(static_cast<std::int64_t>(stage) + 1);
    machine_[stage].clear();
    auto it = byName_.find(runner);
    if (it == byName_.end())
        return;
    Runner& r = it->second;
    if (--r.running == 0) {
        const double busy = toSeconds(now - r.busySince);
        busySeconds_ += busy;
        busyBy_[static_cast<std::size_t>(r.pool)] += busy;
    }
}

void SimQueue::update() {
    const WallTime now = clock_.now();
    // Completions first: a slot freed now is free for an arrival now.
    while (!completions_.empty() && completions_.top().first <= now) {
        const auto [end, stage] = completions_.top();
        completions_.pop();
        if (ends_[stage] != end || machine_[stage].empty())
            continue; // A run cut short and restarted; this completion is stale.
        const std::string runner = machine_[stage];
        stop(stage, runner, end);
        ++completed_;
        ++completedBy_[static_cast<std::size_t>(route_[stage])];
    }
    while (nextArrival_ < trace_.size() && arrival(nextArrival_) <= now) {
        pending_.push_back(nextArrival_);
        if (route_[nextArrival_] >= 0) {
            ++pendingMatching_;
        } else {
            ++unroutableArrived_;
        }
        ++nextArrival_;
    }
    dispatch(now);
}

void SimQueue::dispatch(WallTime now) {
    if (pendingMatching_ == 0)
        return;
    // Free slots, one entry per slot, per pool: Drone hands a stage to one of
    // the waiting runner polls that match it, in no particular order.
    std::vector<std::vector<std::map<std::string, Runner>::iterator>> slots(pools_.size());
    bool any = false;
    for (auto it = byName_.begin(); it != byName_.end(); ++it) {
        if (it->second.draining)
            continue;
        auto& free = slots[static_cast<std::size_t>(it->second.pool)];
        for (int i = it->second.running; i < it->second.capacity; ++i) {
            free.push_back(it);
            any = true;
        }
    }
    if (!any)
        return;
    std::vector<std::size_t> left;
    left.reserve(pending_.size());
    for (const std::size_t i : pending_) {
        if (route_[i] < 0 || slots[static_cast<std::size_t>(route_[i])].empty()) {
            left.push_back(i);
            continue;
        }
        auto& free = slots[static_cast<std::size_t>(route_[i])];
        std::uniform_int_distribution<std::size_t> pick(0, free.size() - 1);
        const std::size_t s = pick(rng_);
        auto runnerIt = free[s];
        free[s] = free.back();
        free.pop_back();
        Runner& r = runnerIt->second;
        if (r.running++ == 0)
            r.busySince = now;
        machine_[i] = runnerIt->first;
        running_[static_cast<std::int64_t>(i) + 1] = Running{.stage = i, .runner = runnerIt->first};
        ends_[i] = now + fromSeconds(trace_[i].duration);
        completions_.emplace(ends_[i], i);
        waits_[i] = std::max(0.0, toSeconds(now - since_[i]));
        --pendingMatching_;
    }
    pending_ = std::move(left);
}

void SimQueue::addRunner(const std::string& name, int capacity, int pool) {
    if (pool < 0 || static_cast<std::size_t>(pool) >= pools_.size())
        return; // No such pool: a runner that would take nothing.
    auto [it, added] = byName_.try_emplace(name, Runner{.pool = pool, .capacity = capacity});
    if (!added)
        return; // Installing twice leaves one runner.
    dispatch(clock_.now());
}

void SimQueue::drainRunner(const std::string& name) {
    if (auto it = byName_.find(name); it != byName_.end())
        it->second.draining = true;
}

void SimQueue::removeRunner(const std::string& name, bool reclaimed) {
    auto it = byName_.find(name);
    if (it == byName_.end())
        return;
    const WallTime now = clock_.now();
    std::vector<std::size_t> cut;
    for (const auto& [id, r] : running_) {
        if (r.runner == name)
            cut.push_back(r.stage);
    }
    for (const auto i : cut) {
        stop(i, name, now);
        ends_[i] = WallTime{};
        ++restarted_;
        const auto pool = static_cast<std::size_t>(route_[i]);
        ++restartedBy_[pool];
        if (reclaimed) {
            since_[i] = now; // A restarted build is queued again now.
            ++rerunBy_[pool];
        }
        pending_.insert(std::upper_bound(pending_.begin(), pending_.end(), i), i);
        ++pendingMatching_; // It ran, so a pool serves it.
    }
    byName_.erase(it);
    dispatch(now);
}

bool SimQueue::hasRunner(const std::string& name) const {
    return byName_.contains(name);
}

std::optional<WallTime> SimQueue::nextEvent() const {
    std::optional<WallTime> next;
    if (!completions_.empty())
        next = completions_.top().first;
    if (nextArrival_ < trace_.size()) {
        const WallTime a = arrival(nextArrival_);
        if (!next || a < *next)
            next = a;
    }
    return next;
}

bool SimQueue::finished() const {
    return nextArrival_ == trace_.size() && running_.empty() && pendingMatching_ == 0;
}

int SimQueue::completed(int pool) const {
    return completedBy_.at(static_cast<std::size_t>(pool));
}

int SimQueue::restarted(int pool) const {
    return restartedBy_.at(static_cast<std::size_t>(pool));
}

int SimQueue::rerun(int pool) const {
    if (pool >= 0)
        return rerunBy_.at(static_cast<std::size_t>(pool));
    int total = 0;
    for (const int n : rerunBy_)
        total += n;
    return total;
}

std::vector<double> SimQueue::waits(int pool) const {
    std::vector<double> out;
    out.reserve(waits_.size());
    for (std::size_t i = 0; i < waits_.size(); ++i) {
        if (waits_[i] >= 0 && (pool < 0 || route_[i] == pool))
            out.push_back(waits_[i]);
    }
    return out;
}

double SimQueue::busySeconds(int pool) const {
    double total = pool < 0 ? busySeconds_ : busyBy_.at(static_cast<std::size_t>(pool));
    const WallTime now = clock_.now();
    for (const auto& [name, r] : byName_) {
        if (r.running > 0 && (pool < 0 || r.pool == pool))
            total += toSeconds(now - r.busySince);
    }
    return total;
}

// ---- SimProvider ------------------------------------------------------------

SimProvider::SimProvider(SimProviderOptions options, const SimClock& clock, SimQueue& queue)
    : options_(std::move(options))
    , clock_(clock)
    , queue_(queue)
    , rng_(options_.seed ^ 0x9e3779b97f4a7c15ULL)
    , reclaimRng_(options_.seed ^ 0x5851f42d4c957f2dULL) {
}

bool SimProvider::spotOut(WallTime now) const {
    const double t = toSeconds(now - clock_.start());
    return std::any_of(options_.spotOutages.begin(), options_.spotOutages.end(),
                       [t](const auto& span) { return t >= span.first && t < span.second; });
}

Instance SimProvider::view(const Live& live) const {
    Instance i = live.instance;
    if (clock_.now() >= live.runningAt)
        i.state = InstanceState::Running;
    return i;
}

Result<Instance> SimProvider::create(const CreateRequest& request) {
    if (auto it = byToken_.find(request.clientToken); it != byToken_.end()) {
        if (auto l = live_.find(it->second); l != live_.end())
            return view(l->second);
        return terminated_.at(it->second);
    }
    if (options_.capacityFailureRate > 0) {
        std::uniform_real_distribution<double> u(0.0, 1.0);
        if (u(rng_) < options_.capacityFailureRate) {
            ++capacityFailures_;
            Error e = makeError(Errc::Capacity,
                                "InsufficientInstanceCapacity: simulated capacity shortage");
            e.serviceCode = "InsufficientInstanceCapacity";
            return e;
        }
    }
    const WallTime now = clock_.now();
    std::string market(kMarketOnDemand);
    if (options_.market == kMarketSpot) {
        if (!spotOut(now)) {
            market = kMarketSpot;
        } else {
            ++spotRefusals_;
            if (!options_.spotFallback || !request.onDemandAllowed) {
                Error e = makeError(Errc::Capacity,
                                    "InsufficientInstanceCapacity: simulated spot outage");
                e.serviceCode = "InsufficientInstanceCapacity";
                return e;
            }
            // As the EC2 provider does: every spot choice is out, so the same
            // walk runs on-demand.
        }
    }
    const int n = next_++;
    auto boot = std::chrono::duration_cast<WallTime::duration>(options_.boot);
    if (options_.bootJitter > 0ms) {
        std::uniform_int_distribution<std::int64_t> jitter(0, options_.bootJitter.count());
        boot += std::chrono::duration_cast<WallTime::duration>(
                std::chrono::milliseconds{jitter(rng_)});
    }
    Instance i{.id = "i-sim" + std::to_string(n),
               .serverName = request.serverName,
               .state = InstanceState::Pending,
               .instanceType = options_.instanceType,
               .zone = "sim-1a",
               .imageId = "ami-sim",
               .privateIp = "10." + std::to_string((n >> 16) & 255) + "." +
                            std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255),
               .launchTime = now};
    i.publicIp = i.privateIp;
    i.market = market;
    i.tags["drone-autoscaler:server"] = request.serverName;
    std::optional<WallTime> reclaimAt;
    if (market == kMarketSpot && options_.interruptionsPerHour > 0) {
        std::exponential_distribution<double> lifetimeHours(options_.interruptionsPerHour);
        reclaimAt = now + fromSeconds(lifetimeHours(reclaimRng_) * 3600.0);
    }
    live_[i.id] = Live{.instance = i, .runningAt = now + boot, .reclaimAt = reclaimAt};
    byToken_[request.clientToken] = i.id;
    ++launched_;
    peak_ = std::max(peak_, live());
    return i;
}

Result<std::vector<Instance>> SimProvider::list() {
    std::vector<Instance> out;
    out.reserve(live_.size());
    for (const auto& [id, l] : live_)
        out.push_back(view(l));
    return out;
}

Result<Instance> SimProvider::describe(const std::string& id) {
    if (auto it = live_.find(id); it != live_.end())
        return view(it->second);
    if (auto it = terminated_.find(id); it != terminated_.end())
        return it->second;
    return makeError(Errc::NotFound, "InvalidInstanceID.NotFound: " + id);
}

void SimProvider::end(std::map<std::string, Live>::iterator it, WallTime now, bool reclaimed) {
    Instance gone = it->second.instance;
    gone.state = InstanceState::Terminated;
    if (reclaimed) {
        gone.stateReason = "Server.SpotInstanceTermination";
        gone.stateReasonMessage = "Server.SpotInstanceTermination: Spot instance termination";
    }
    const double lived = toSeconds(now - gone.launchTime);
    endedSeconds_ += lived;
    endedByMarket_[gone.market] += lived;
    const std::string server = gone.serverName;
    terminated_[it->first] = std::move(gone);
    live_.erase(it);
    queue_.removeRunner(server, reclaimed);
}

Result<void> SimProvider::destroy(std::span<const std::string> ids) {
    const WallTime now = clock_.now();
    for (const auto& id : ids) {
        auto it = live_.find(id);
        if (it == live_.end())
            continue;
        end(it, now, false);
    }
    return {};
}

std::optional<WallTime> SimProvider::nextReclaim() const {
    std::optional<WallTime> next;
    for (const auto& [id, l] : live_) {
        if (l.reclaimAt && (!next || *l.reclaimAt < *next))
            next = l.reclaimAt;
    }
    return next;
}

int SimProvider::reclaimDue() {
    const WallTime now = clock_.now();
    int n = 0;
    for (auto it = live_.begin(); it != live_.end();) {
        auto here = it++;
        if (here->second.reclaimAt && *here->second.reclaimAt <= now) {
            end(here, now, true);
            ++interruptions_;
            ++n;
        }
    }
    return n;
}

double SimProvider::instanceSeconds() const {
    double total = endedSeconds_;
    const WallTime now = clock_.now();
    for (const auto& [id, l] : live_)
        total += toSeconds(now - l.instance.launchTime);
    return total;
}

double SimProvider::instanceSeconds(std::string_view market) const {
    double total = 0;
    if (auto it = endedByMarket_.find(market); it != endedByMarket_.end())
        total = it->second;
    const WallTime now = clock_.now();
    for (const auto& [id, l] : live_) {
        if (l.instance.market == market)
            total += toSeconds(now - l.instance.launchTime);
    }
    return total;
}

// ---- SimInstaller -----------------------------------------------------------

SimInstaller::SimInstaller(SimQueue& queue, int concurrency, int pool)
    : queue_(queue)
    , concurrency_(concurrency)
    , pool_(pool) {
}

Result<void> SimInstaller::install(Server& server, const std::stop_token& /*stop*/) {
    queue_.addRunner(server.name, server.capacity > 0 ? server.capacity : concurrency_, pool_);
    return {};
}

Result<void> SimInstaller::ping(const Server& server) {
    if (!queue_.hasRunner(server.name))
        return makeError(Errc::NotFound, "agent container is not running on " + server.name);
    return {};
}

Result<void> SimInstaller::drain(const Server& server) {
    queue_.drainRunner(server.name);
    return {};
}

// ---- the driver -------------------------------------------------------------

SimulationOptions withClassicTimings(SimulationOptions options) {
    options.pool.policy = Policy::Classic;
    options.interval = 10s;
    options.planInterval = 5min;
    options.planFirstAfterInterval = true;
    options.createOnNextCycle = true;
    options.pool.minAge = 55min;
    return options;
}

double percentile(std::vector<double> values, double q) {
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    q = std::clamp(q, 0.0, 1.0);
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[rank == 0 ? 0 : rank - 1];
}

namespace {

Result<void> checkOptions(const SimulationOptions& options) {
    if (options.interval <= 0ms)
        return makeError(Errc::InvalidArgument, "the interval must be positive");
    if (options.sampleEvery <= 0s)
        return makeError(Errc::InvalidArgument, "the sample interval must be positive");
    if (options.cloud.boot < 0ms || options.cloud.bootJitter < 0ms)
        return makeError(Errc::InvalidArgument, "the boot time must not be negative");
    if (!(options.cloud.capacityFailureRate >= 0 && options.cloud.capacityFailureRate < 1)) {
        return makeError(Errc::InvalidArgument,
                         "the capacity failure rate must be at least 0 and below 1");
    }
    if (options.pool.concurrency < 1)
        return makeError(Errc::InvalidArgument, "the concurrency must be at least 1");
    if (!(options.spotPriceFraction >= 0) || !(options.cloud.interruptionsPerHour >= 0)) {
        return makeError(Errc::InvalidArgument,
                         "the spot price and the interruption rate must not be negative");
    }
    if (options.cloud.market != kMarketSpot && options.cloud.market != kMarketOnDemand)
        return makeError(Errc::InvalidArgument, "unknown market " + options.cloud.market);
    return {};
}

/// Costs and the spot figures of one pool's provider.
void account(SimulationResult& result, const SimProvider& provider,
             const SimulationOptions& options) {
    result.spot = options.cloud.market == kMarketSpot;
    result.costUsd = result.instanceHours * options.pricePerHour;
    result.onDemandCostUsd = result.costUsd;
    result.onDemandInstanceHours = result.instanceHours;
    if (!result.spot)
        return;
    result.spotInstanceHours = provider.instanceSeconds(kMarketSpot) / 3600.0;
    result.onDemandInstanceHours = provider.instanceSeconds(kMarketOnDemand) / 3600.0;
    result.costUsd =
            (result.onDemandInstanceHours + result.spotInstanceHours * options.spotPriceFraction) *
            options.pricePerHour;
    result.interruptions = provider.interruptions();
    result.spotRefusals = provider.spotRefusals();
}

/// The engine options a simulated pool runs with (workers 0, names counted).
EngineOptions simEngineOptions(const SimulationOptions& options, std::string prefix, int& named) {
    EngineOptions engineOptions;
    engineOptions.pool = options.pool;
    engineOptions.provider = "simulation";
    engineOptions.namePrefix = prefix;
    engineOptions.interval = options.interval;
    engineOptions.planInterval = options.planInterval;
    engineOptions.planFirstAfterInterval = options.planFirstAfterInterval;
    engineOptions.createOnNextCycle = options.createOnNextCycle;
    engineOptions.workers = 0;
    engineOptions.bootDeadline = options.bootDeadline;
    engineOptions.timeoutStop = options.timeoutStop;
    // Terminated rows only slow the store down; they decide nothing (the
    // simulated cloud lists no terminated instance for the orphan sweep).
    engineOptions.purgeAfter = 1min;
    // The market's caps, applied by the engine as in the daemon.
    engineOptions.spotPool = options.cloud.market == kMarketSpot;
    engineOptions.onDemandMax = options.cloud.onDemandMax;
    engineOptions.serverName = [&named, prefix = std::move(prefix)] {
        std::array<char, 16> digits{};
        const int n = std::snprintf(digits.data(), digits.size(), "%06d", ++named);
        return prefix + "sim" + std::string(digits.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
    };
    return engineOptions;
}

/// What the event loop of a run saw.
struct EventLoopResult {
    int cycles = 0;
    std::vector<SimulationSample> samples{};
    int peakLive = 0; ///< The most live instances of all the providers at one instant.
};

/// Runs the virtual clock over the trace: reclaims that are due, arrivals
/// and completions, a cycle every interval and a sample every sampleEvery,
/// until every stage is done or the drain limit after the last arrival has
/// passed. `countUnroutable`: unroutable pending stages count as demand.
EventLoopResult runEventLoop(const std::vector<TraceStage>& trace, const SimulationOptions& timing,
                             SimClock& clock, SimQueue& queue,
                             const std::vector<SimProvider*>& providers, bool countUnroutable,
                             const std::function<void()>& cycle) {
    EventLoopResult out;
    const auto live = [&providers] {
        int n = 0;
        for (const auto* p : providers)
            n += p->live();
        return n;
    };
    double lastArrival = 0;
    for (const auto& t : trace)
        lastArrival = std::max(lastArrival, t.t);
    const WallTime start = clock.now();
    const WallTime giveUp = start + fromSeconds(lastArrival) +
                            std::chrono::duration_cast<WallTime::duration>(timing.drainLimit);
    const auto interval = std::chrono::duration_cast<WallTime::duration>(timing.interval);
    const auto sampleEvery = std::chrono::duration_cast<WallTime::duration>(timing.sampleEvery);
    WallTime nextCycle = start;
    WallTime nextSample = start;
    int peakDemand = 0;
    int peakServers = 0;
    while (true) {
        for (auto* p : providers)
            (void)p->reclaimDue();
        queue.update();
        out.peakLive = std::max(out.peakLive, live());
        if (clock.now() >= nextCycle) {
            cycle(); // A failed cycle is retried at the next one, as in the daemon.
            ++out.cycles;
            nextCycle += interval;
            queue.update();
        }
        const int demand = queue.pendingCount() -
                           (countUnroutable ? 0 : queue.unroutableArrived()) + queue.runningCount();
        peakDemand = std::max(peakDemand, demand);
        peakServers = std::max(peakServers, live());
        out.peakLive = std::max(out.peakLive, peakServers);
        if (clock.now() >= nextSample) {
            out.samples.push_back(SimulationSample{
                    .t = clock.elapsedSeconds(), .servers = peakServers, .demand = peakDemand});
            peakDemand = 0;
            peakServers = 0;
            nextSample += sampleEvery;
        }
        if (queue.finished() || clock.now() >= giveUp)
            break;
        WallTime next = std::min(nextCycle, nextSample);
        if (auto e = queue.nextEvent(); e && *e < next)
            next = *e;
        for (const auto* p : providers) {
            if (auto e = p->nextReclaim(); e && *e < next)
                next = *e;
        }
        clock.advanceTo(next);
    }
    return out;
}

/// The median, p95 and longest of `waits`.
void waitFigures(SimulationResult& r, const std::vector<double>& waits) {
    r.waitP50 = percentile(waits, 0.50);
    r.waitP95 = percentile(waits, 0.95);
    r.waitMax = waits.empty() ? 0 : *std::max_element(waits.begin(), waits.end());
}

/// A pool's figures once the run is over: waits, instance-hours, costs and
/// its provider's counts; `pool` -1 for a run of one pool (every stage).
void poolFigures(SimulationResult& r, const SimQueue& queue, int pool, const SimProvider& provider,
                 const SimulationOptions& options, const SimClock& clock) {
    r.builds = pool < 0 ? queue.completed() : queue.completed(pool);
    r.notRun = r.stages - r.builds;
    r.restarted = pool < 0 ? queue.restarted() : queue.restarted(pool);
    r.rerun = queue.rerun(pool);
    waitFigures(r, queue.waits(pool));
    const double seconds = provider.instanceSeconds();
    r.instanceHours = seconds / 3600.0;
    r.idleInstanceHours = std::max(seconds - queue.busySeconds(pool), 0.0) / 3600.0;
    account(r, provider, options);
    r.peakServers = provider.peak();
    r.serversLaunched = provider.launched();
    r.capacityFailures = provider.capacityFailures();
    r.simulatedSeconds = clock.elapsedSeconds();
}

} // namespace

Result<SimulationResult> runSimulation(const std::vector<TraceStage>& trace,
                                       const SimulationOptions& options) {
    if (auto ok = checkOptions(options); !ok)
        return ok.error();

    SimClock clock;
    SimQueue queue(trace, options.pool, clock, options.cloud.seed);
    SimProvider provider(options.cloud, clock, queue);
    SimInstaller installer(queue, options.pool.concurrency);
    auto store = openSqliteStore({.path = ":memory:"});
    if (!store)
        return store.error();
    NullSink sink;
    int named = 0;
    const EngineOptions engineOptions =
            simEngineOptions(options, EngineOptions{}.namePrefix, named);
    Engine engine(engineOptions, **store, provider, queue, installer, clock,
                  Logger(sink, clock, "engine", LogLevel::Error));

    SimulationResult result;
    result.policy = options.pool.policy;
    result.concurrency = options.pool.concurrency;
    result.stages = static_cast<int>(trace.size());

    if (options.warmStart) {
        for (int i = 0; i < options.pool.min; ++i) {
            if (auto created = engine.createServer(); !created)
                return created.error();
        }
    }
    const EventLoopResult run = runEventLoop(trace, options, clock, queue, {&provider}, true,
                                             [&engine] { (void)engine.cycle(); });
    result.cycles = run.cycles;
    result.samples = run.samples;
    poolFigures(result, queue, -1, provider, options, clock);
    return result;
}

namespace {

/// One pool of a fleet run: its simulated cloud and installer.
struct SimPool {
    SimPool(const SimulationOptions& options, const SimClock& clock, SimQueue& queue, int index)
        : provider(options.cloud, clock, queue)
        , installer(queue, options.pool.concurrency, index) {}
    SimProvider provider;
    SimInstaller installer;
    int named = 0;
};

} // namespace

Result<FleetSimulationResult> runFleetSimulation(const std::vector<TraceStage>& trace,
                                                 const std::vector<SimulationOptions>& pools,
                                                 std::optional<int> fleetMax) {
    if (pools.empty())
        return makeError(Errc::InvalidArgument, "a fleet needs at least one pool");
    for (const auto& options : pools) {
        if (auto ok = checkOptions(options); !ok)
            return ok.error();
    }
    const SimulationOptions& first = pools.front();
    SimClock clock;
    std::vector<PoolSettings> settings;
    settings.reserve(pools.size());
    for (const auto& options : pools)
        settings.push_back(options.pool);
    SimQueue queue(trace, settings, clock, first.cloud.seed);
    std::vector<std::unique_ptr<SimPool>> sims;
    std::vector<FleetPool> fleetPools;
    for (std::size_t i = 0; i < pools.size(); ++i) {
        sims.push_back(std::make_unique<SimPool>(pools[i], clock, queue, static_cast<int>(i)));
        fleetPools.push_back(FleetPool{
                .options = simEngineOptions(pools[i], pools[i].pool.name + "-", sims.back()->named),
                .provider = &sims.back()->provider,
                .installer = &sims.back()->installer});
    }
    auto store = openSqliteStore({.path = ":memory:"});
    if (!store)
        return store.error();
    NullSink sink;
    Fleet fleet(std::move(fleetPools), fleetMax, **store, queue, clock,
                Logger(sink, clock, "fleet", LogLevel::Error), first.interval);

    FleetSimulationResult out;
    out.fleetMax = fleetMax;
    SimulationResult& total = out.total;
    total.policy = first.pool.policy;
    total.concurrency = first.pool.concurrency;
    total.stages = static_cast<int>(trace.size());

    if (first.warmStart) {
        for (std::size_t i = 0; i < pools.size(); ++i) {
            for (int k = 0; k < pools[i].pool.min; ++k) {
                if (auto created = fleet.engine(i).createServer(); !created)
                    return created.error();
            }
        }
    }
    std::vector<SimProvider*> providers;
    providers.reserve(sims.size());
    for (auto& p : sims)
        providers.push_back(&p->provider);
    const EventLoopResult run = runEventLoop(trace, first, clock, queue, providers, false,
                                             [&fleet] { (void)fleet.cycle(); });
    total.cycles = run.cycles;
    total.samples = run.samples;

    for (std::size_t i = 0; i < pools.size(); ++i) {
        const int p = static_cast<int>(i);
        SimulationResult r;
        r.policy = pools[i].pool.policy;
        r.concurrency = pools[i].pool.concurrency;
        for (std::size_t k = 0; k < trace.size(); ++k) {
            if (queue.routeOf(k) == p)
                ++r.stages;
        }
        poolFigures(r, queue, p, sims[i]->provider, pools[i], clock);
        r.cycles = total.cycles;

        total.builds += r.builds;
        total.restarted += r.restarted;
        total.rerun += r.rerun;
        total.instanceHours += r.instanceHours;
        total.idleInstanceHours += r.idleInstanceHours;
        total.costUsd += r.costUsd;
        total.onDemandCostUsd += r.onDemandCostUsd;
        total.spotInstanceHours += r.spotInstanceHours;
        total.onDemandInstanceHours += r.onDemandInstanceHours;
        total.interruptions += r.interruptions;
        total.spotRefusals += r.spotRefusals;
        total.spot = total.spot || r.spot;
        total.serversLaunched += r.serversLaunched;
        total.capacityFailures += r.capacityFailures;
        out.pools.emplace_back(pools[i].pool.name, std::move(r));
    }
    for (std::size_t k = 0; k < trace.size(); ++k) {
        if (queue.routeOf(k) < 0)
            out.unroutable.push_back(queue.traceStage(k));
    }
    total.unroutable = static_cast<int>(out.unroutable.size());
    total.notRun = total.stages - total.builds - total.unroutable;
    waitFigures(total, queue.waits());
    total.peakServers = run.peakLive;
    total.simulatedSeconds = clock.elapsedSeconds();
    return out;
}

std::optional<double> onDemandPricePerHour(std::string_view instanceType) {
    // USD per hour, Linux, shared tenancy, us-east-1 (N. Virginia), as AWS's
    // EC2 on-demand pricing page listed them; see README "simulate".
    static constexpr std::array<std::pair<std::string_view, double>, 22> kPrices{{
            {"c6i.large", 0.085},   {"c6i.xlarge", 0.17},    {"c6i.2xlarge", 0.34},
            {"g4dn.xlarge", 0.526}, {"g4dn.2xlarge", 0.752}, {"m6i.large", 0.096},
            {"m6i.xlarge", 0.192},  {"m6i.2xlarge", 0.384},  {"t3.micro", 0.0104},
            {"t3.small", 0.0208},   {"t3.medium", 0.0416},   {"t3.large", 0.0832},
            {"t3.xlarge", 0.1664},  {"t3a.small", 0.0188},   {"t3a.medium", 0.0376},
            {"t3a.large", 0.0752},  {"t3a.xlarge", 0.1504},  {"t4g.small", 0.0168},
            {"t4g.medium", 0.0336}, {"t4g.large", 0.0672},   {"t4g.xlarge", 0.1344},
            {"t3.2xlarge", 0.3328},
    }};
    for (const auto& [type, price] : kPrices) {
        if (type == instanceType)
            return price;
    }
    return std::nullopt;
}

} // namespace autoscale
