// SPDX-License-Identifier: Apache-2.0
/// \file
/// The simulated clock, queue, cloud and installer, and the driver that runs
/// the daemon's engine over them on virtual time.

#include "autoscale/simulation.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include <autoscale/engine.h>
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
    : trace_(std::move(trace))
    , runners_(std::move(runners))
    , clock_(clock)
    , rng_(seed) {
    std::stable_sort(trace_.begin(), trace_.end(),
                     [](const TraceStage& a, const TraceStage& b) { return a.t < b.t; });
    matches_.reserve(trace_.size());
    for (const auto& t : trace_) {
        const Stage probe{.os = t.os, .arch = t.arch, .labels = t.labels};
        matches_.push_back(stageMatches(probe, runners_));
    }
    ends_.assign(trace_.size(), WallTime{});
    waits_.assign(trace_.size(), -1.0);
    machine_.assign(trace_.size(), std::string{});
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
    if (--r.running == 0)
        busySeconds_ += toSeconds(now - r.busySince);
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
    }
    while (nextArrival_ < trace_.size() && arrival(nextArrival_) <= now) {
        pending_.push_back(nextArrival_);
        if (matches_[nextArrival_])
            ++pendingMatching_;
        ++nextArrival_;
    }
    dispatch(now);
}

void SimQueue::dispatch(WallTime now) {
    if (pendingMatching_ == 0)
        return;
    // Free slots, one entry per slot: Drone hands a stage to one of the
    // waiting runner polls, in no particular order.
    std::vector<std::map<std::string, Runner>::iterator> slots;
    for (auto it = byName_.begin(); it != byName_.end(); ++it) {
        if (it->second.draining)
            continue;
        for (int i = it->second.running; i < it->second.capacity; ++i)
            slots.push_back(it);
    }
    if (slots.empty())
        return;
    std::vector<std::size_t> left;
    left.reserve(pending_.size());
    for (const std::size_t i : pending_) {
        if (slots.empty() || !matches_[i]) {
            left.push_back(i);
            continue;
        }
        std::uniform_int_distribution<std::size_t> pick(0, slots.size() - 1);
        const std::size_t s = pick(rng_);
        auto runnerIt = slots[s];
        slots[s] = slots.back();
        slots.pop_back();
        Runner& r = runnerIt->second;
        if (r.running++ == 0)
            r.busySince = now;
        machine_[i] = runnerIt->first;
        running_[static_cast<std::int64_t>(i) + 1] = Running{.stage = i, .runner = runnerIt->first};
        ends_[i] = now + fromSeconds(trace_[i].duration);
        completions_.emplace(ends_[i], i);
        waits_[i] = std::max(0.0, toSeconds(now - arrival(i)));
        --pendingMatching_;
    }
    pending_ = std::move(left);
}

void SimQueue::addRunner(const std::string& name, int capacity) {
    auto [it, added] = byName_.try_emplace(name, Runner{.capacity = capacity});
    if (!added)
        return; // Installing twice leaves one runner.
    dispatch(clock_.now());
}

void SimQueue::drainRunner(const std::string& name) {
    if (auto it = byName_.find(name); it != byName_.end())
        it->second.draining = true;
}

void SimQueue::removeRunner(const std::string& name) {
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
        pending_.insert(std::upper_bound(pending_.begin(), pending_.end(), i), i);
        if (matches_[i])
            ++pendingMatching_;
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

std::vector<double> SimQueue::waits() const {
    std::vector<double> out;
    out.reserve(waits_.size());
    for (const double w : waits_) {
        if (w >= 0)
            out.push_back(w);
    }
    return out;
}

double SimQueue::busySeconds() const {
    double total = busySeconds_;
    const WallTime now = clock_.now();
    for (const auto& [name, r] : byName_) {
        if (r.running > 0)
            total += toSeconds(now - r.busySince);
    }
    return total;
}

// ---- SimProvider ------------------------------------------------------------

SimProvider::SimProvider(SimProviderOptions options, const SimClock& clock, SimQueue& queue)
    : options_(options)
    , clock_(clock)
    , queue_(queue)
    , rng_(options.seed ^ 0x9e3779b97f4a7c15ULL) {
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
    const int n = next_++;
    const WallTime now = clock_.now();
    auto boot = std::chrono::duration_cast<WallTime::duration>(options_.boot);
    if (options_.bootJitter > 0ms) {
        std::uniform_int_distribution<std::int64_t> jitter(0, options_.bootJitter.count());
        boot += std::chrono::duration_cast<WallTime::duration>(
                std::chrono::milliseconds{jitter(rng_)});
    }
    Instance i{.id = "i-sim" + std::to_string(n),
               .serverName = request.serverName,
               .state = InstanceState::Pending,
               .instanceType = "t3.medium",
               .zone = "sim-1a",
               .imageId = "ami-sim",
               .privateIp = "10." + std::to_string((n >> 16) & 255) + "." +
                            std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255),
               .launchTime = now};
    i.publicIp = i.privateIp;
    i.tags["drone-autoscaler:server"] = request.serverName;
    live_[i.id] = Live{.instance = i, .runningAt = now + boot};
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

Result<void> SimProvider::destroy(std::span<const std::string> ids) {
    const WallTime now = clock_.now();
    for (const auto& id : ids) {
        auto it = live_.find(id);
        if (it == live_.end())
            continue;
        Instance gone = it->second.instance;
        gone.state = InstanceState::Terminated;
        endedSeconds_ += toSeconds(now - gone.launchTime);
        queue_.removeRunner(gone.serverName);
        terminated_[id] = std::move(gone);
        live_.erase(it);
    }
    return {};
}

double SimProvider::instanceSeconds() const {
    double total = endedSeconds_;
    const WallTime now = clock_.now();
    for (const auto& [id, l] : live_)
        total += toSeconds(now - l.instance.launchTime);
    return total;
}

// ---- SimInstaller -----------------------------------------------------------

SimInstaller::SimInstaller(SimQueue& queue, int concurrency)
    : queue_(queue)
    , concurrency_(concurrency) {
}

Result<void> SimInstaller::install(Server& server, const std::stop_token& /*stop*/) {
    queue_.addRunner(server.name, server.capacity > 0 ? server.capacity : concurrency_);
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

Result<SimulationResult> runSimulation(const std::vector<TraceStage>& trace,
                                       const SimulationOptions& options) {
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

    SimClock clock;
    SimQueue queue(trace, options.pool, clock, options.cloud.seed);
    SimProvider provider(options.cloud, clock, queue);
    SimInstaller installer(queue, options.pool.concurrency);
    auto store = openSqliteStore({.path = ":memory:"});
    if (!store)
        return store.error();
    NullSink sink;
    EngineOptions engineOptions;
    engineOptions.pool = options.pool;
    engineOptions.provider = "simulation";
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
    int named = 0;
    engineOptions.serverName = [&named, prefix = engineOptions.namePrefix] {
        std::array<char, 16> digits{};
        const int n = std::snprintf(digits.data(), digits.size(), "%06d", ++named);
        return prefix + "sim" + std::string(digits.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
    };
    Engine engine(engineOptions, **store, provider, queue, installer, clock,
                  Logger(sink, clock, "engine", LogLevel::Error));

    SimulationResult result;
    result.policy = options.pool.policy;
    result.concurrency = options.pool.concurrency;
    result.stages = static_cast<int>(trace.size());

    double lastArrival = 0;
    for (const auto& t : trace)
        lastArrival = std::max(lastArrival, t.t);
    const WallTime start = clock.now();
    const WallTime giveUp = start + fromSeconds(lastArrival) +
                            std::chrono::duration_cast<WallTime::duration>(options.drainLimit);
    const auto interval = std::chrono::duration_cast<WallTime::duration>(options.interval);
    const auto sampleEvery = std::chrono::duration_cast<WallTime::duration>(options.sampleEvery);
    WallTime nextCycle = start;
    WallTime nextSample = start;
    int peakDemand = 0;
    int peakServers = 0;

    if (options.warmStart) {
        for (int i = 0; i < options.pool.min; ++i) {
            if (auto created = engine.createServer(); !created)
                return created.error();
        }
    }
    while (true) {
        queue.update();
        if (clock.now() >= nextCycle) {
            (void)engine.cycle(); // A failed cycle is retried at the next one, as in the daemon.
            ++result.cycles;
            nextCycle += interval;
            queue.update();
        }
        const int demand = queue.pendingCount() + queue.runningCount();
        peakDemand = std::max(peakDemand, demand);
        peakServers = std::max(peakServers, provider.live());
        if (clock.now() >= nextSample) {
            result.samples.push_back(SimulationSample{
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
        clock.advanceTo(next);
    }

    const auto waits = queue.waits();
    result.builds = queue.completed();
    result.notRun = result.stages - result.builds;
    result.restarted = queue.restarted();
    result.waitP50 = percentile(waits, 0.50);
    result.waitP95 = percentile(waits, 0.95);
    result.waitMax = waits.empty() ? 0 : *std::max_element(waits.begin(), waits.end());
    const double instanceSeconds = provider.instanceSeconds();
    result.instanceHours = instanceSeconds / 3600.0;
    result.idleInstanceHours = std::max(instanceSeconds - queue.busySeconds(), 0.0) / 3600.0;
    result.costUsd = result.instanceHours * options.pricePerHour;
    result.peakServers = provider.peak();
    result.serversLaunched = provider.launched();
    result.capacityFailures = provider.capacityFailures();
    result.simulatedSeconds = clock.elapsedSeconds();
    return result;
}

} // namespace autoscale
