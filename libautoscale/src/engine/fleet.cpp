// SPDX-License-Identifier: Apache-2.0
/// \file
/// The fleet: one queue read per cycle, Drone's rule routing each stage to the
/// first pool that takes it, the fleet's max shared among the pools, and one
/// Engine per pool.

#include "autoscale/fleet.h"

#include <algorithm>
#include <numeric>
#include <set>

#include <autoscale/dispatch.h>
#include <autoscale/json.h>

namespace autoscale {

namespace {

using namespace std::chrono_literals;

void addLeftOut(StagesLeftOut& to, const StagesLeftOut& from) {
    to.status += from.status;
    to.kind += from.kind;
    to.platform += from.platform;
    to.labels += from.labels;
    to.limit += from.limit;
    to.throttle += from.throttle;
    to.routed += from.routed;
}

} // namespace

PartitionedQueue partitionQueue(std::vector<Stage> queue, std::span<const PoolSettings> pools) {
    const std::size_t n = pools.size();
    PartitionedQueue out;
    out.parts.resize(n);
    const RoutedQueue routed = routeQueue(queue, pools);
    {
        // Each part sized once: a Stage is large, and regrowing moves them all.
        std::vector<std::size_t> sizes(n, 0);
        for (std::size_t i = 0; i < queue.size(); ++i) {
            if (routed.pool[i] >= 0 && routed.verdict[i] == Dispatch::Given)
                ++sizes[static_cast<std::size_t>(routed.pool[i])];
        }
        for (std::size_t p = 0; p < n; ++p)
            out.parts[p].stages.reserve(sizes[p]);
    }
    StagesLeftOut noPool;
    std::vector<int> routedTo(n, 0);
    int routedTotal = 0;
    for (std::size_t i = 0; i < queue.size(); ++i) {
        const int p = routed.pool[i];
        const Dispatch verdict = routed.verdict[i];
        if (p < 0) {
            countLeftOut(noPool, verdict);
            if (isUnroutable(queue[i], verdict, p))
                out.unroutable.push_back(std::move(queue[i]));
            continue;
        }
        auto& part = out.parts[static_cast<std::size_t>(p)];
        ++routedTo[static_cast<std::size_t>(p)];
        ++routedTotal;
        if (verdict == Dispatch::Given) {
            part.stages.push_back(std::move(queue[i]));
        } else {
            countLeftOut(part.leftOut, verdict);
        }
    }
    for (std::size_t p = 0; p < n; ++p) {
        addLeftOut(out.parts[p].leftOut, noPool);
        out.parts[p].leftOut.routed = routedTotal - routedTo[p];
    }
    return out;
}

int wantedServers(const PoolSettings& pool, const std::vector<Stage>& stages) {
    const auto demand = static_cast<int>(std::count_if(stages.begin(), stages.end(),
                                                       [](const Stage& s) {
                                                           return s.status == "pending" ||
                                                                  s.status == "running";
                                                       })) +
                        std::max(pool.buffer, 0);
    const int concurrency = std::max(pool.concurrency, 1);
    const int needed = (demand + concurrency - 1) / concurrency;
    return std::clamp(needed, pool.min, std::max(pool.min, pool.max));
}

std::vector<std::optional<int>> fleetShares(std::span<const PoolDemand> pools,
                                            std::optional<int> fleetMax) {
    std::vector<std::optional<int>> out(pools.size());
    if (!fleetMax)
        return out;
    const std::size_t n = pools.size();
    std::vector<int> share(n);
    std::vector<int> want(n);
    int room = *fleetMax;
    for (std::size_t i = 0; i < n; ++i) {
        const int top = std::max(pools[i].max, 0);
        share[i] = std::clamp(pools[i].min, 0, top);
        want[i] = std::clamp(pools[i].wanted, share[i], top);
        room -= share[i];
    }
    room = std::max(room, 0);
    // One more for each pool that wants more, in pool order.
    for (std::size_t i = 0; i < n && room > 0; ++i) {
        if (want[i] > share[i]) {
            ++share[i];
            --room;
        }
    }
    std::vector<int> unmet(n);
    for (std::size_t i = 0; i < n; ++i)
        unmet[i] = want[i] - share[i];
    const int total = std::accumulate(unmet.begin(), unmet.end(), 0);
    if (total <= room) {
        // Everyone gets what it wants; what is left goes, in pool order, up to each max.
        room -= total;
        for (std::size_t i = 0; i < n; ++i) {
            share[i] = want[i];
            const int more = std::min(room, std::max(pools[i].max, 0) - share[i]);
            if (more > 0) {
                share[i] += more;
                room -= more;
            }
        }
    } else if (room > 0) {
        // In proportion to what each still wants: largest remainder.
        std::vector<std::pair<long long, std::size_t>> remainders;
        int given = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const long long scaled = static_cast<long long>(room) * unmet[i];
            const auto base = static_cast<int>(scaled / total);
            share[i] += base;
            given += base;
            remainders.emplace_back(scaled % total, i);
        }
        std::stable_sort(remainders.begin(), remainders.end(),
                         [](const auto& a, const auto& b) { return a.first > b.first; });
        for (const auto& [remainder, i] : remainders) {
            if (given >= room)
                break;
            if (remainder == 0)
                continue;
            ++share[i];
            ++given;
        }
    }
    for (std::size_t i = 0; i < n; ++i)
        out[i] = share[i];
    return out;
}

class Fleet::Impl {
public:
    Impl(std::vector<FleetPool> pools, std::optional<int> fleetMax, Store& store, Queue& queue,
         const Clock& clock, Logger logger, std::chrono::milliseconds interval,
         std::optional<FleetLeadership> leadership, Store* shared)
        : fleetMax_(fleetMax)
        , shared_(shared != nullptr ? *shared : store)
        , leadership_(std::move(leadership))
        , queue_(queue)
        , clock_(clock)
        , log_(std::move(logger))
        , interval_(interval) {
        std::vector<std::string> names;
        names.reserve(pools.size());
        for (const auto& pool : pools)
            names.push_back(pool.options.pool.name);
        for (std::size_t i = 0; i < pools.size(); ++i) {
            FleetPool& pool = pools[i];
            pool.options.fleetMax = fleetMax;
            pool.options.claimsUnpooled = i == 0;
            pool.options.fleetPools = names;
            if (leadership_) {
                pool.options.operatorStore = &shared_;
                pool.options.mayAct = [term = leadership_->term] {
                    return term() != 0;
                };
            }
            settings_.push_back(pool.options.pool);
            engines_.push_back(std::make_unique<Engine>(
                    std::move(pool.options), store, *pool.provider, queue, *pool.installer, clock,
                    log_.with({{"pool", settings_.back().name}})));
        }
    }

    Result<FleetPlan> cycle() {
        const std::lock_guard cycleLock(cycleMutex_);
        if (leadership_ && !leadingThisCycle())
            return lastPlan();
        applyStoredPause();
        const std::size_t n = engines_.size();
        auto queue = queue_.stages();
        PartitionedQueue routed;
        if (queue) {
            routed = partitionQueue(std::move(*queue), settings_);
        } else {
            routed.parts.resize(n);
        }
        auto& parts = routed.parts;
        auto& unroutable = routed.unroutable;

        std::vector<PoolDemand> demands;
        demands.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            demands.push_back({.min = settings_[i].min,
                               .max = settings_[i].max,
                               .wanted = wantedServers(settings_[i], parts[i].stages)});
        }
        const auto shares = fleetShares(demands, fleetMax_);

        FleetPlan out;
        std::optional<Error> firstError;
        int failed = 0;
        for (std::size_t i = 0; i < n; ++i) {
            Result<PoolQueue> input = queue ? Result<PoolQueue>(std::move(parts[i]))
                                            : Result<PoolQueue>(queue.error());
            auto decided = engines_[i]->cycleWith(std::move(input), shares[i]);
            if (decided) {
                out.pools.push_back(std::move(*decided));
            } else {
                ++failed;
                if (!firstError)
                    firstError = decided.error();
                out.pools.push_back(engines_[i]->lastPlan());
            }
        }
        noteUnroutable(unroutable);
        out.unroutable = std::move(unroutable);
        if (leadership_)
            shareLastPlans(out);
        {
            const std::lock_guard lock(reportMutex_);
            unroutable_ = out.unroutable;
        }
        if (failed == static_cast<int>(n) && firstError)
            return *firstError;
        return out;
    }

    void run(const std::stop_token& stop) {
        std::string names;
        for (const auto& s : settings_)
            names += (names.empty() ? "" : ",") + s.name;
        log_.info("engine started",
                  {{"interval", std::to_string(interval_.count()) + "ms"},
                   {"pools", names},
                   {"fleet_max", fleetMax_ ? std::to_string(*fleetMax_) : std::string("none")}});
        while (!stop.stop_requested()) {
            const SteadyTime started = clock_.steadyNow();
            (void)cycle();
            const auto spent = clock_.steadyNow() - started;
            const auto wait =
                    interval_ - std::chrono::duration_cast<std::chrono::milliseconds>(spent);
            if (wait > 0ms && !clock_.sleepFor(wait, stop))
                break;
        }
        for (auto& engine : engines_)
            engine->interrupt();
        log_.info("engine stopping: no new decisions; in-flight work asked to stop");
    }

    FleetPlan lastPlan() const {
        FleetPlan out;
        const bool follower = leadership_ && leadership_->term() == 0;
        for (const auto& engine : engines_) {
            // A follower shows the leader's last plan, from the store.
            if (follower) {
                auto stored = shared_.getValue("plan/" + engine->pool().name);
                if (stored && stored->has_value()) {
                    if (auto plan = parsePlanJson(**stored)) {
                        out.pools.push_back(std::move(*plan));
                        continue;
                    }
                }
            }
            out.pools.push_back(engine->lastPlan());
        }
        const std::lock_guard lock(reportMutex_);
        out.unroutable = unroutable_;
        return out;
    }

    EngineStatus status() const {
        if (leadership_ && leadership_->term() == 0) {
            // A follower is healthy while it keeps checking the election.
            EngineStatus follower;
            const std::lock_guard lock(reportMutex_);
            follower.lastGoodCycle = followerAt_;
            follower.paused = pausedStored_;
            return follower;
        }
        EngineStatus out;
        bool first = true;
        for (const auto& engine : engines_) {
            const EngineStatus s = engine->status();
            out.paused = out.paused || s.paused;
            if (first) {
                out.lastGoodCycle = s.lastGoodCycle;
            } else if (!s.lastGoodCycle || !out.lastGoodCycle) {
                out.lastGoodCycle.reset();
            } else {
                out.lastGoodCycle = std::min(*out.lastGoodCycle, *s.lastGoodCycle);
            }
            if (out.lastError.empty() && !s.lastError.empty())
                out.lastError = "pool " + engine->pool().name + ": " + s.lastError;
            if (s.backoffUntil && (!out.backoffUntil || *s.backoffUntil > *out.backoffUntil))
                out.backoffUntil = s.backoffUntil;
            first = false;
        }
        return out;
    }

    Result<void> setPaused(bool paused) {
        if (auto r = shared_.putValue("paused", paused ? "true" : "false"); !r)
            return r;
        {
            const std::lock_guard lock(reportMutex_);
            pausedStored_ = paused;
        }
        if (!leadership_ || leadership_->term() != 0) {
            for (auto& engine : engines_)
                paused ? engine->pause() : engine->resume();
        }
        return {};
    }

    [[nodiscard]] bool paused() const {
        const std::lock_guard lock(reportMutex_);
        return pausedStored_ || engines_.front()->paused();
    }

    [[nodiscard]] FleetRole role() const {
        if (!leadership_)
            return {};
        return FleetRole{.shared = true,
                         .leader = leadership_->term() != 0,
                         .id = leadership_->id,
                         .leaderId = leadership_->leaderId ? leadership_->leaderId() : ""};
    }

    std::vector<std::unique_ptr<Engine>>& engines() { return engines_; }
    const std::vector<std::unique_ptr<Engine>>& engines() const { return engines_; }
    [[nodiscard]] std::optional<int> fleetMax() const { return fleetMax_; }

private:
    /// Whether this daemon leads now; logs when its role changes. A follower
    /// records that it checked (it is healthy while the election answers).
    bool leadingThisCycle() {
        const std::int64_t term = leadership_->term();
        if (term == 0) {
            if (lastTerm_ != 0) {
                log_.warn("no longer the leader: not acting until elected again",
                          {{"term", std::to_string(lastTerm_)}});
                for (auto& engine : engines_)
                    engine->interrupt();
            }
            lastTerm_ = 0;
            const std::lock_guard lock(reportMutex_);
            followerAt_ = clock_.steadyNow();
            return false;
        }
        if (term != lastTerm_) {
            log_.info("leading: adopting every server in flight, as after a restart",
                      {{"term", std::to_string(term)}, {"id", leadership_->id}});
            for (auto& engine : engines_)
                engine->newTerm();
            lastTerm_ = term;
        }
        return true;
    }

    /// The stored pause flag (any daemon's API may have set it) applied to the engines.
    void applyStoredPause() {
        auto stored = shared_.getValue("paused");
        if (!stored || !stored->has_value())
            return;
        const bool paused = **stored == "true";
        {
            const std::lock_guard lock(reportMutex_);
            pausedStored_ = paused;
        }
        for (auto& engine : engines_) {
            if (engine->paused() != paused)
                paused ? engine->pause() : engine->resume();
        }
    }

    /// The leader keeps each pool's last plan in the store, for the followers' API.
    void shareLastPlans(const FleetPlan& plans) {
        for (const auto& plan : plans.pools) {
            if (!plan.pool.empty())
                (void)shared_.putValue("plan/" + plan.pool, planToJson(plan));
        }
    }

    /// One warning per unroutable stage, the first cycle it is seen.
    void noteUnroutable(const std::vector<Stage>& stages) {
        std::set<std::int64_t> now;
        for (const auto& stage : stages) {
            now.insert(stage.id);
            if (warned_.contains(stage.id))
                continue;
            log_.warn("no pool serves this stage: it waits until a runner that matches it polls",
                      {{"stage", std::to_string(stage.id)},
                       {"build", std::to_string(stage.buildId)},
                       {"platform", describePlatform(stage)}});
        }
        warned_ = std::move(now);
    }

    std::optional<int> fleetMax_;
    Store& shared_;
    std::optional<FleetLeadership> leadership_;
    Queue& queue_;
    const Clock& clock_;
    Logger log_;
    std::chrono::milliseconds interval_;
    std::vector<PoolSettings> settings_;
    std::vector<std::unique_ptr<Engine>> engines_;
    std::mutex cycleMutex_;
    std::set<std::int64_t> warned_; ///< Guarded by cycleMutex_.
    std::int64_t lastTerm_ = 0;     ///< Guarded by cycleMutex_.
    mutable std::mutex reportMutex_;
    std::vector<Stage> unroutable_; ///< Guarded by reportMutex_.
    SteadyTime followerAt_{};       ///< Guarded by reportMutex_.
    bool pausedStored_ = false;     ///< Guarded by reportMutex_.
};

Fleet::Fleet(std::vector<FleetPool> pools, std::optional<int> fleetMax, Store& store, Queue& queue,
             const Clock& clock, Logger logger, std::chrono::milliseconds interval,
             std::optional<FleetLeadership> leadership, Store* shared)
    : impl_(std::make_unique<Impl>(std::move(pools), fleetMax, store, queue, clock,
                                   std::move(logger), interval, std::move(leadership), shared)) {
}

Fleet::~Fleet() = default;

Result<FleetPlan> Fleet::cycle() {
    return impl_->cycle();
}
void Fleet::run(const std::stop_token& stop) {
    impl_->run(stop);
}
void Fleet::waitIdle() {
    for (auto& engine : impl_->engines())
        engine->waitIdle();
}
bool Fleet::waitIdleFor(std::chrono::milliseconds limit) {
    bool idle = true;
    for (auto& engine : impl_->engines())
        idle = engine->waitIdleFor(limit) && idle;
    return idle;
}
Result<void> Fleet::pause() {
    return impl_->setPaused(true);
}
Result<void> Fleet::resume() {
    return impl_->setPaused(false);
}
bool Fleet::paused() const {
    return impl_->paused();
}
FleetRole Fleet::role() const {
    return impl_->role();
}
std::size_t Fleet::size() const {
    return impl_->engines().size();
}
Engine& Fleet::engine(std::size_t i) {
    return *impl_->engines().at(i);
}
const Engine& Fleet::engine(std::size_t i) const {
    return *impl_->engines().at(i);
}
Engine* Fleet::find(std::string_view name) {
    for (auto& engine : impl_->engines()) {
        if (engine->pool().name == name)
            return engine.get();
    }
    return nullptr;
}
std::optional<int> Fleet::fleetMax() const {
    return impl_->fleetMax();
}
FleetPlan Fleet::lastPlan() const {
    return impl_->lastPlan();
}
EngineStatus Fleet::status() const {
    return impl_->status();
}

} // namespace autoscale
