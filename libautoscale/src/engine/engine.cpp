// SPDX-License-Identifier: Apache-2.0
/// \file
/// The reconcile loop. One thread decides (cycle()); long operations run as
/// tasks on a bounded pool of workers (or inline when workers == 0). Every
/// state change is a compare-and-swap on the store; a lost swap means another
/// actor (the API, another task) moved the server, and the task stops.

#include "autoscale/engine.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <openssl/rand.h>

#include <autoscale/planner.h>
#include <autoscale/values.h>

#include "engine/demand_history.h"

namespace autoscale {

namespace {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

std::string randomChars(std::size_t n, std::string_view alphabet) {
    std::vector<unsigned char> bytes(n);
    if (RAND_bytes(bytes.data(), static_cast<int>(n)) != 1) {
        // RAND_bytes only fails without entropy; fall back to the address of
        // a stack object mixed with a counter so names stay distinct.
        static std::atomic<unsigned> counter{0};
        for (std::size_t i = 0; i < n; ++i)
            bytes[i] = static_cast<unsigned char>(counter.fetch_add(1) * 2654435761U >> 24U);
    }
    std::string out;
    out.reserve(n);
    for (const auto b : bytes)
        out += alphabet[b % alphabet.size()];
    return out;
}

std::string ms(Millis d) {
    return formatGoDuration(d);
}

template <typename D>
Millis toMillis(D d) {
    return std::chrono::duration_cast<Millis>(d);
}

double seconds(std::chrono::nanoseconds d) {
    return std::chrono::duration<double>(d).count();
}

} // namespace

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

std::string randomServerName(const std::string& prefix) {
    return prefix +
           randomChars(8, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
}

std::string randomClientToken() {
    return randomChars(32, "0123456789abcdef");
}

/// The worker pool: a queue of tasks, at most `size` running at once.
class WorkerPool {
public:
    using Task = std::function<void(const std::stop_token&)>;

    explicit WorkerPool(int size) {
        for (int i = 0; i < size; ++i)
            threads_.emplace_back([this](const std::stop_token& stop) { loop(stop); });
    }
    ~WorkerPool() { stop(); }
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    void submit(Task task) {
        {
            const std::lock_guard lock(mutex_);
            tasks_.push_back(std::move(task));
        }
        cv_.notify_one();
    }

    void stop() {
        for (auto& t : threads_)
            t.request_stop();
        cv_.notify_all();
        threads_.clear(); // Joins.
    }

private:
    void loop(const std::stop_token& stop) {
        while (true) {
            Task task;
            {
                std::unique_lock lock(mutex_);
                if (!cv_.wait(lock, stop, [this] { return !tasks_.empty(); }))
                    return;
                task = std::move(tasks_.front());
                tasks_.pop_front();
            }
            task(stop);
        }
    }

    std::mutex mutex_;
    std::condition_variable_any cv_;
    std::deque<Task> tasks_;
    std::vector<std::jthread> threads_;
};

class Engine::Impl {
public:
    Impl(EngineOptions options, Store& store, Provider& provider, Queue& queue,
         Installer& installer, const Clock& clock, Logger logger)
        : options_(std::move(options))
        , store_(store)
        , provider_(provider)
        , queue_(queue)
        , installer_(installer)
        , clock_(clock)
        , log_(std::move(logger)) {
        if (options_.workers > 0)
            pool_ = std::make_unique<WorkerPool>(options_.workers);
    }

    ~Impl() {
        inlineStop_.request_stop();
        pool_.reset();
    }

    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    // ---- the cycle -------------------------------------------------------

    Result<Plan> cycle() {
        const std::lock_guard cycleLock(cycleMutex_);
        const WallTime now = clock_.now();
        {
            const std::lock_guard lock(mutex_);
            ++metrics_.cycles;
        }

        const std::uint64_t generation = insertGeneration_.load();
        auto rows = store_.list();
        if (!rows) {
            noteCycleError("cannot read the store: " + rows.error().message);
            return rows.error();
        }
        auto queue = queue_.stages();
        const bool queueOk = queue.has_value();
        std::vector<Stage> stages;
        if (queueOk) {
            stages = std::move(*queue); // Filtered in place: the queue may be large.
            std::erase_if(stages, [this](const Stage& st) {
                return !(st.status == "pending" || st.status == "running") ||
                       !stageMatches(st, options_.pool);
            });
        } else {
            log_.warn("cannot read the Drone queue; nothing is drained or terminated and no "
                      "server is created beyond the minimum",
                      {{"error", queue.error().message}});
        }

        const SteadyTime steady = clock_.steadyNow();
        if (queueOk) {
            recordBusy(*rows, stages, now);
            demand_.record(steady, static_cast<int>(stages.size()) + options_.pool.buffer);
        } else {
            demand_.clear();
        }
        const int youngPending = observeStages(stages, now);

        // Orphan sweep at start and every orphanSweepInterval.
        if (!lastSweep_ || steady - *lastSweep_ >= options_.orphanSweepInterval) {
            lastSweep_ = steady;
            sweep(*rows, now);
            rows = store_.list();
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
                             now, youngPending);
            if (!decided) {
                noteCycleError("cannot read the store: " + decided.error().message);
                return decided.error();
            }
        } else {
            decided = notDue(stages);
        }

        // Advance every server one step.
        rows = store_.list();
        if (!rows) {
            noteCycleError("cannot read the store: " + rows.error().message);
            return rows.error();
        }
        advance(*rows, stages, queueOk, now);

        // Purge terminated rows every hour, or every purgeAfter if shorter.
        if (!lastPurge_ ||
            steady - *lastPurge_ >= std::min<std::chrono::nanoseconds>(1h, options_.purgeAfter)) {
            lastPurge_ = steady;
            if (auto purged = store_.purge(now - options_.purgeAfter); purged && *purged > 0)
                log_.info("purged terminated servers", {{"count", std::to_string(*purged)}});
        }

        {
            const std::lock_guard lock(mutex_);
            if (planning)
                lastPlan_ = *decided;
            metrics_.pendingStages = decided->pending;
            metrics_.runningStages = decided->running;
            metrics_.serversByState.clear();
            for (const auto& s : *rows)
                ++metrics_.serversByState[std::string(nameOf(s.state))];
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

    void run(const std::stop_token& stop) {
        log_.info("engine started", {{"interval", ms(options_.interval)},
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
        log_.info("engine stopping: no new decisions; waiting for in-flight work");
    }

    void waitIdle() {
        std::unique_lock lock(mutex_);
        idleCv_.wait(lock, [this] { return inFlight_.empty(); });
    }

    bool waitIdleFor(Millis limit) {
        std::unique_lock lock(mutex_);
        // Real time on purpose: shutdown waits for real cloud calls.
        return idleCv_.wait_for(lock, limit, [this] { return inFlight_.empty(); });
    }

    void pause() {
        const std::lock_guard lock(mutex_);
        paused_ = true;
        log_.info("paused: no new decisions until resumed; in-flight work continues");
    }
    void resume() {
        const std::lock_guard lock(mutex_);
        paused_ = false;
        log_.info("resumed");
    }
    bool paused() const {
        const std::lock_guard lock(mutex_);
        return paused_;
    }
    Plan lastPlan() const {
        const std::lock_guard lock(mutex_);
        return lastPlan_;
    }
    EngineStatus status() const {
        const std::lock_guard lock(mutex_);
        EngineStatus s = status_;
        s.paused = paused_;
        if (backoffUntil_ && *backoffUntil_ > clock_.steadyNow())
            s.backoffUntil = clock_.now() + (*backoffUntil_ - clock_.steadyNow());
        return s;
    }
    EngineMetrics metrics() const {
        const std::lock_guard lock(mutex_);
        EngineMetrics m = metrics_;
        m.consecutiveFailures = consecutiveFailures_;
        if (backoffUntil_ && *backoffUntil_ > clock_.steadyNow())
            m.backoffRemaining = toMillis(*backoffUntil_ - clock_.steadyNow());
        return m;
    }

    Result<Server> createServer() {
        const std::lock_guard createLock(createMutex_);
        auto rows = store_.list();
        if (!rows)
            return rows.error();
        const int live =
                static_cast<int>(std::count_if(rows->begin(), rows->end(), [](const auto& s) {
                    return mayHoldInstance(s.state);
                }));
        if (live >= options_.pool.max) {
            return makeError(Errc::Conflict,
                             "the pool is at DRONE_POOL_MAX=" + std::to_string(options_.pool.max) +
                                     " (" + std::to_string(live) + " live servers)");
        }
        auto row = insertPending(clock_.now(), "requested through the API");
        if (!row)
            return row.error();
        schedule(*row);
        return row;
    }

    Result<std::optional<Server>> destroyServer(const std::string& name, bool force) {
        for (int attempt = 0; attempt < 5; ++attempt) {
            auto row = store_.find(name);
            if (!row)
                return row.error();
            Server s = *row;
            const WallTime now = clock_.now();
            switch (s.state) {
            case ServerState::Terminated:
            case ServerState::Terminating:
            case ServerState::Draining:
                return std::optional<Server>(s);
            case ServerState::Error:
                if (force || s.instanceId.empty()) {
                    if (!s.instanceId.empty()) {
                        const std::array ids{s.instanceId};
                        if (auto r = provider_.destroy(ids); !r)
                            return r.error();
                    }
                    auto removed = store_.remove(s.name, s.version);
                    if (!removed && removed.error().code == Errc::Conflict)
                        continue;
                    if (!removed)
                        return removed.error();
                    log_.info("server removed through the API", {{"server", s.name}});
                    return std::optional<Server>();
                }
                s.state = ServerState::Terminating;
                break;
            case ServerState::Pending:
                s.state = ServerState::Terminated;
                s.stopped = now;
                break;
            case ServerState::Running:
                s.state = ServerState::Draining;
                s.drainStarted = now;
                break;
            case ServerState::Creating:
            case ServerState::Booting:
            case ServerState::Installing:
                s.state = ServerState::Terminating;
                break;
            }
            s.updated = now;
            auto written = store_.update(s);
            if (!written && written.error().code == Errc::Conflict)
                continue;
            if (!written)
                return written.error();
            log_.info("server destroy requested through the API",
                      {{"server", s.name}, {"state", std::string(nameOf(written->state))}});
            if (written->state == ServerState::Draining)
                startDrain(*written);
            return std::optional<Server>(*written);
        }
        return makeError(Errc::Conflict, "server " + name + " kept changing; try again");
    }

private:
    // ---- deciding --------------------------------------------------------

    /// Whether this cycle decides (EngineOptions::planInterval and
    /// planFirstAfterInterval); records the decision time when it does.
    bool planDue(SteadyTime steady) {
        if (options_.planInterval <= 0ms && !options_.planFirstAfterInterval)
            return true;
        const Millis every =
                options_.planInterval > 0ms ? options_.planInterval : options_.interval;
        if (!firstCycle_)
            firstCycle_ = steady;
        bool due = false;
        if (lastDecision_)
            due = steady - *lastDecision_ >= every;
        else
            due = !options_.planFirstAfterInterval || steady - *firstCycle_ >= every;
        if (due)
            lastDecision_ = steady;
        return due;
    }

    /// The plan of a cycle that does not decide: the counts, no action.
    Plan notDue(const std::vector<Stage>& stages) const {
        Plan p{.pool = options_.pool.name, .policy = options_.pool.policy};
        for (const auto& stage : stages) {
            if (stage.status == "pending")
                ++p.pending;
            else if (stage.status == "running")
                ++p.running;
        }
        p.reasons.push_back(
                "no decision this cycle: the planner decides every " +
                ms(options_.planInterval > 0ms ? options_.planInterval : options_.interval));
        return p;
    }

    Result<Plan> decide(const std::vector<Server>& listedBefore, std::uint64_t generation,
                        const std::vector<Stage>& stages, bool queueOk,
                        const std::string& queueError, WallTime now, int youngPending) {
        // Counting live servers and inserting new ones happen under one lock,
        // shared with the API's createServer: MAX holds under races. Rows are
        // only ever added under this lock (the generation counts them), and
        // other writes can only take a row out of the live count, so the
        // cycle's first listing is still a safe count when nothing was added.
        const std::lock_guard createLock(createMutex_);
        std::optional<std::vector<Server>> relisted;
        if (insertGeneration_.load() != generation) {
            auto listed = store_.list();
            if (!listed)
                return listed.error();
            relisted = std::move(*listed);
        }
        const std::vector<Server>& rows = relisted ? *relisted : listedBefore;
        const PlanHistory history{.burstReserve = burstReserve(rows), .youngPending = youngPending};
        Plan p = plan(options_.pool, rows, stages, now, history);
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
        if (paused()) {
            if (p.create > 0 || !p.drain.empty())
                p.reasons.push_back("paused: not acting on the plan");
            p.create = 0;
            p.drain.clear();
            return p;
        }
        const SteadyTime steady = clock_.steadyNow();
        std::optional<SteadyTime> backoff;
        {
            const std::lock_guard lock(mutex_);
            backoff = backoffUntil_;
        }
        if (p.create > 0 && backoff && *backoff > steady) {
            const std::string why = "backing off creation for " + ms(toMillis(*backoff - steady)) +
                                    " after " + std::to_string(consecutiveFailuresLocked()) +
                                    " consecutive failures";
            p.reasons.push_back(why + " (wanted to create " + std::to_string(p.create) + ")");
            log_.warn("creation backed off",
                      {{"wanted", std::to_string(p.create)}, {"reason", why}});
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
            noteReaction(p.create * std::max(options_.pool.concurrency, 1), now);
        for (int i = 0; i < p.create; ++i) {
            auto row = insertPending(now, "planned");
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
            Server s = *it;
            s.state = ServerState::Draining;
            s.drainStarted = now;
            s.updated = now;
            auto written = store_.update(s);
            if (!written) {
                log_.warn("drain lost a race",
                          {{"server", name}, {"error", written.error().message}});
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
    std::optional<int> burstReserve(const std::vector<Server>& rows) const {
        if (!demand_.complete())
            return std::nullopt;
        return std::max(demand_.largestRise(bootTime(rows)) - 1, 0);
    }

    /// How long the pool's servers took from the decision to a runner taking
    /// stages: the median of the newest 16 that got there. Until one has, the
    /// whole idle timeout (the most cautious reserve).
    Millis bootTime(const std::vector<Server>& rows) const {
        std::vector<std::pair<WallTime, Millis>> boots;
        for (const auto& s : rows) {
            if (s.started != WallTime{} && s.created != WallTime{} && s.started >= s.created)
                boots.emplace_back(s.created, toMillis(s.started - s.created));
        }
        if (boots.empty())
            return options_.pool.idleTimeout;
        constexpr std::size_t newest = 16;
        if (boots.size() > newest) {
            std::nth_element(boots.begin(), boots.begin() + newest, boots.end(),
                             [](const auto& a, const auto& b) { return a.first > b.first; });
            boots.resize(newest);
        }
        const auto middle = boots.begin() + static_cast<std::ptrdiff_t>(boots.size() / 2);
        std::nth_element(boots.begin(), middle, boots.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
        return middle->second;
    }

    Result<Server> insertPending(WallTime now, const char* why) {
        for (int attempt = 0; attempt < 5; ++attempt) {
            Server s{.name = options_.serverName ? options_.serverName()
                                                 : randomServerName(options_.namePrefix),
                     .provider = options_.provider,
                     .state = ServerState::Pending,
                     .image = options_.image,
                     .size = options_.instanceType,
                     .capacity = options_.pool.concurrency,
                     .clientToken = randomClientToken(),
                     .created = now,
                     .updated = now};
            auto row = store_.insert(s);
            ++insertGeneration_;
            if (row) {
                log_.info("server planned", {{"server", row->name}, {"why", why}});
                return row;
            }
            if (row.error().code != Errc::Conflict)
                return row.error();
        }
        return makeError(Errc::Conflict, "could not find a free server name");
    }

    // ---- advancing the lifecycle ------------------------------------------

    void advance(const std::vector<Server>& rows, const std::vector<Stage>& stages, bool queueOk,
                 WallTime now) {
        std::vector<Server> releasable;
        std::unordered_set<std::string_view> busy;
        for (const auto& stage : stages) {
            if (!stage.machine.empty())
                busy.insert(stage.machine);
        }
        for (const auto& s : rows) {
            if (isInFlight(s.name))
                continue;
            switch (s.state) {
            case ServerState::Pending:
                // Decided in this very cycle: the next cycle creates it.
                if (options_.createOnNextCycle && s.created >= now)
                    break;
                schedule(s);
                break;
            case ServerState::Creating:
            case ServerState::Booting:
            case ServerState::Installing:
            case ServerState::Terminating:
            case ServerState::Error:
                schedule(s);
                break;
            case ServerState::Running:
                if (shouldPing(s.name))
                    schedule(s);
                break;
            case ServerState::Draining: {
                if (s.drainStarted == WallTime{}) {
                    Server started = s;
                    started.drainStarted = now;
                    (void)store_.update(started);
                    break;
                }
                const bool timedOut = now - s.drainStarted >= options_.timeoutStop;
                if (timedOut || (queueOk && !busy.contains(s.name)))
                    releasable.push_back(s);
                break;
            }
            case ServerState::Terminated:
                break;
            }
        }
        if (releasable.empty())
            return;
        // Invariant 3: read the queue again right before TerminateInstances.
        auto again = queue_.stages();
        std::unordered_set<std::string> stillBusy;
        if (again) {
            for (const auto& stage : *again) {
                if ((stage.status == "pending" || stage.status == "running") &&
                    !stage.machine.empty())
                    stillBusy.insert(stage.machine);
            }
        }
        for (Server s : releasable) {
            const bool timedOut = now - s.drainStarted >= options_.timeoutStop;
            if (!timedOut && (!again || stillBusy.contains(s.name)))
                continue;
            s.state = ServerState::Terminating;
            s.updated = now;
            if (timedOut && stillBusy.contains(s.name))
                s.error = "drain timed out after " + ms(options_.timeoutStop);
            auto written = store_.update(s);
            if (!written)
                continue;
            log_.info("releasing drained server",
                      {{"server", s.name},
                       {"reason", timedOut ? "DRONE_TIMEOUT_STOP passed" : "no stage names it"}});
            schedule(*written);
        }
    }

    /// Runs the next step of `s` as a task (on a worker, or inline).
    void schedule(const Server& s) {
        {
            const std::lock_guard lock(mutex_);
            if (!inFlight_.insert(s.name).second)
                return;
        }
        auto task = [this, s](const std::stop_token& stop) {
            step(s, stop);
            const std::lock_guard lock(mutex_);
            inFlight_.erase(s.name);
            if (inFlight_.empty())
                idleCv_.notify_all();
        };
        if (pool_)
            pool_->submit(std::move(task));
        else
            task(inlineStop_.get_token());
    }

    bool isInFlight(const std::string& name) const {
        const std::lock_guard lock(mutex_);
        return inFlight_.contains(name);
    }

    void step(Server s, const std::stop_token& stop) {
        switch (s.state) {
        case ServerState::Pending:
            stepCreate(std::move(s), stop);
            return;
        case ServerState::Creating:
            stepAdoptCreating(std::move(s), stop);
            return;
        case ServerState::Booting:
            stepBoot(std::move(s));
            return;
        case ServerState::Installing:
            stepInstall(std::move(s), stop);
            return;
        case ServerState::Running:
            stepPing(std::move(s));
            return;
        case ServerState::Draining:
            return; // Drain commands are started by startDrain().
        case ServerState::Terminating:
            stepTerminate(std::move(s));
            return;
        case ServerState::Error:
            stepReapError(std::move(s));
            return;
        case ServerState::Terminated:
            return;
        }
    }

    /// CAS write; false (logged) when another actor moved the server.
    bool write(Server& s) {
        s.updated = clock_.now();
        auto written = store_.update(s);
        if (!written) {
            log_.warn("server changed concurrently; step abandoned",
                      {{"server", s.name}, {"error", written.error().message}});
            return false;
        }
        s = *written;
        return true;
    }

    void fail(Server s, const std::string& reason, std::int64_t EngineMetrics::*counter) {
        s.state = ServerState::Error;
        s.error = reason;
        if (!write(s))
            return;
        log_.error("server failed", {{"server", s.name}, {"reason", reason}});
        const std::lock_guard lock(mutex_);
        if (counter != nullptr)
            ++(metrics_.*counter);
        ++consecutiveFailures_;
        const auto exponent = std::min(consecutiveFailures_ - 1, 20);
        Millis delay = options_.backoffInitial * (1LL << exponent);
        delay = std::min(delay, options_.backoffMax);
        backoffUntil_ = clock_.steadyNow() + delay;
        log_.warn("creation back-off",
                  {{"failures", std::to_string(consecutiveFailures_)}, {"delay", ms(delay)}});
    }

    void succeeded() {
        const std::lock_guard lock(mutex_);
        consecutiveFailures_ = 0;
        backoffUntil_.reset();
    }

    void stepCreate(Server s, const std::stop_token& stop) {
        // Intent and client token are stored before RunInstances.
        s.state = ServerState::Creating;
        if (!write(s))
            return;
        createInstance(std::move(s), stop);
    }

    void createInstance(Server s, const std::stop_token& /*stop*/) {
        CreateRequest request{.serverName = s.name, .clientToken = s.clientToken};
        if (options_.userData) {
            auto rendered = options_.userData(s);
            if (!rendered) {
                fail(std::move(s), "cannot render user data: " + rendered.error().message,
                     &EngineMetrics::createErrors);
                return;
            }
            request.userData = std::move(*rendered);
            // The renderer may have stored a host key in the row.
            if (!write(s))
                return;
        }
        const SteadyTime t0 = clock_.steadyNow();
        auto instance = provider_.create(request);
        if (!instance) {
            fail(std::move(s), "cannot create the instance: " + instance.error().message,
                 &EngineMetrics::createErrors);
            return;
        }
        {
            const std::lock_guard lock(mutex_);
            ++metrics_.serversCreated;
            metrics_.createTime.observe(seconds(clock_.steadyNow() - t0));
        }
        s.instanceId = instance->id;
        if (!instance->instanceType.empty())
            s.size = instance->instanceType;
        if (!instance->zone.empty())
            s.region = instance->zone;
        if (!instance->imageId.empty())
            s.image = instance->imageId;
        s.state = ServerState::Booting;
        if (!write(s))
            return; // The row moved (API destroy): the orphan sweep reclaims the instance.
        log_.info("instance created",
                  {{"server", s.name}, {"instance", s.instanceId}, {"type", s.size}});
    }

    void stepAdoptCreating(Server s, const std::stop_token& stop) {
        // A crash during RunInstances: find the instance by its tags, or ask
        // again with the same client token (EC2 returns the same instance).
        auto listed = provider_.list();
        if (listed) {
            for (const auto& instance : *listed) {
                if (instance.serverName != s.name || instance.state == InstanceState::Terminated)
                    continue;
                s.instanceId = instance.id;
                s.state = ServerState::Booting;
                if (write(s))
                    log_.info("adopted an instance created before a restart",
                              {{"server", s.name}, {"instance", s.instanceId}});
                return;
            }
        }
        createInstance(std::move(s), stop);
    }

    void stepBoot(Server s) {
        const WallTime now = clock_.now();
        if (now - s.created > options_.bootDeadline) {
            fail(std::move(s), "not running " + ms(options_.bootDeadline) + " after creation",
                 &EngineMetrics::bootErrors);
            return;
        }
        auto instance = provider_.describe(s.instanceId);
        if (!instance) {
            if (instance.error().code == Errc::NotFound && now - s.created < options_.notFoundGrace)
                return; // Not visible yet.
            if (instance.error().code == Errc::NotFound) {
                fail(std::move(s), "instance " + s.instanceId + " vanished while booting",
                     &EngineMetrics::bootErrors);
                return;
            }
            log_.warn("cannot describe the instance; will retry",
                      {{"server", s.name}, {"error", instance.error().message}});
            return;
        }
        if (instance->state == InstanceState::ShuttingDown ||
            instance->state == InstanceState::Terminated) {
            fail(std::move(s), "instance " + s.instanceId + " terminated while booting",
                 &EngineMetrics::bootErrors);
            return;
        }
        const std::string& address = options_.privateIp ? instance->privateIp : instance->publicIp;
        if (instance->state != InstanceState::Running || address.empty())
            return;
        s.address = address;
        if (!instance->zone.empty())
            s.region = instance->zone;
        s.state = ServerState::Installing;
        if (write(s)) {
            const std::lock_guard lock(mutex_);
            metrics_.bootTime.observe(seconds(now - s.created));
        }
    }

    void stepInstall(Server s, const std::stop_token& stop) {
        const SteadyTime t0 = clock_.steadyNow();
        auto installed = installer_.install(s, stop);
        if (!installed) {
            if (stop.stop_requested())
                return; // Shutting down: resumed after restart.
            const bool hostKey = installed.error().code == Errc::HostKey;
            fail(std::move(s),
                 std::string(hostKey ? "host key mismatch: " : "install failed: ") +
                         installed.error().message,
                 &EngineMetrics::installErrors);
            return;
        }
        s.state = ServerState::Running;
        s.started = clock_.now();
        s.error.clear();
        s.hostPrivateKey.clear(); // Installed on the instance; no longer needed here.
        if (!write(s))
            return;
        succeeded();
        {
            const std::lock_guard lock(mutex_);
            metrics_.installTime.observe(seconds(clock_.steadyNow() - t0));
        }
        log_.info("runner started", {{"server", s.name}, {"address", s.address}});
    }

    bool shouldPing(const std::string& name) {
        const SteadyTime now = clock_.steadyNow();
        const std::lock_guard lock(mutex_);
        // The first ping comes one interval after the engine first sees the
        // server running: it was just installed, or just adopted at start.
        const auto [it, first] = lastPing_.try_emplace(name, now);
        if (first || now - it->second < options_.pingerInterval)
            return false;
        it->second = now;
        return true;
    }

    void stepPing(Server s) {
        auto pinged = installer_.ping(s);
        int failures = 0;
        {
            const std::lock_guard lock(mutex_);
            if (pinged) {
                pingFailures_.erase(s.name);
                return;
            }
            failures = ++pingFailures_[s.name];
        }
        log_.warn("ping failed", {{"server", s.name},
                                  {"error", pinged.error().message},
                                  {"failures", std::to_string(failures)}});
        if (failures < options_.pingFailures)
            return;
        s.state = ServerState::Error;
        s.error = "runner not healthy: " + pinged.error().message;
        if (write(s))
            log_.error("server failed", {{"server", s.name}, {"reason", s.error}});
    }

    void startDrain(const Server& s) {
        log_.info("draining server", {{"server", s.name}});
        if (s.address.empty())
            return;
        // Best effort: the runner stops taking stages. Release waits for the
        // queue, not for this call.
        auto task = [this, s](const std::stop_token&) {
            if (auto r = installer_.drain(s); !r)
                log_.warn("cannot tell the runner to drain",
                          {{"server", s.name}, {"error", r.error().message}});
        };
        if (pool_)
            pool_->submit(std::move(task));
        else
            task(inlineStop_.get_token());
    }

    void stepTerminate(Server s) {
        if (!s.instanceId.empty()) {
            const std::array ids{s.instanceId};
            auto destroyed = provider_.destroy(ids);
            if (!destroyed) {
                const std::lock_guard lock(mutex_);
                ++metrics_.terminateErrors;
                log_.error("cannot terminate the instance; will retry",
                           {{"server", s.name},
                            {"instance", s.instanceId},
                            {"error", destroyed.error().message}});
                return;
            }
        }
        s.state = ServerState::Terminated;
        s.stopped = clock_.now();
        if (!write(s))
            return;
        {
            const std::lock_guard lock(mutex_);
            ++metrics_.serversTerminated;
            pingFailures_.erase(s.name);
            lastPing_.erase(s.name);
        }
        log_.info("server terminated", {{"server", s.name}, {"instance", s.instanceId}});
    }

    void stepReapError(Server s) {
        if (s.instanceId.empty() && !s.clientToken.empty()) {
            // The instance may exist though its id was never recorded.
            if (auto listed = provider_.list()) {
                for (const auto& instance : *listed) {
                    if (instance.serverName == s.name &&
                        instance.state != InstanceState::Terminated)
                        s.instanceId = instance.id;
                }
            }
        }
        s.state = ServerState::Terminating;
        if (!write(s))
            return;
        stepTerminate(std::move(s));
    }

    // ---- orphans and vanished instances ----------------------------------

    void sweep(const std::vector<Server>& rows, WallTime now) {
        auto listed = provider_.list();
        if (!listed) {
            log_.warn("orphan sweep cannot list instances", {{"error", listed.error().message}});
            return;
        }
        std::unordered_map<std::string, const Server*> byName;
        std::unordered_map<std::string, const Server*> byId;
        for (const auto& s : rows) {
            byName[s.name] = &s;
            if (!s.instanceId.empty())
                byId[s.instanceId] = &s;
        }
        std::set<std::string> seenIds;
        std::vector<std::string> terminate;
        std::set<std::string> marks;
        for (const auto& instance : *listed) {
            if (instance.state == InstanceState::Terminated ||
                instance.state == InstanceState::ShuttingDown)
                continue;
            seenIds.insert(instance.id);
            const Server* known = nullptr;
            if (auto it = byId.find(instance.id); it != byId.end())
                known = it->second;
            else if (auto n = byName.find(instance.serverName); n != byName.end())
                known = n->second;
            if (known != nullptr && known->state != ServerState::Terminated)
                continue;
            if (known != nullptr && known->state == ServerState::Terminated &&
                known->instanceId != instance.id && !known->instanceId.empty()) {
                // Terminated row, different instance: still ours and unknown.
            }
            if (orphanMarks_.contains(instance.id))
                terminate.push_back(instance.id);
            else
                marks.insert(instance.id);
        }
        for (const auto& id : marks)
            log_.warn("instance unknown to the store; terminating it at the next sweep unless "
                      "claimed",
                      {{"instance", id}});
        if (!terminate.empty()) {
            auto destroyed = provider_.destroy(terminate);
            if (destroyed) {
                const std::lock_guard lock(mutex_);
                metrics_.orphansTerminated += static_cast<std::int64_t>(terminate.size());
                for (const auto& id : terminate)
                    log_.warn("terminated orphan instance", {{"instance", id}});
            } else {
                log_.error("cannot terminate orphans", {{"error", destroyed.error().message}});
                for (const auto& id : terminate)
                    marks.insert(id); // Keep them marked.
            }
        }
        orphanMarks_ = std::move(marks);

        // Rows whose instance vanished (spot reclaim, manual termination).
        for (const auto& s : rows) {
            if (s.instanceId.empty() || seenIds.contains(s.instanceId))
                continue;
            if (s.state != ServerState::Booting && s.state != ServerState::Installing &&
                s.state != ServerState::Running && s.state != ServerState::Draining)
                continue;
            if (now - s.created < options_.notFoundGrace || isInFlight(s.name))
                continue;
            Server gone = s;
            gone.state = ServerState::Terminated;
            gone.stopped = now;
            gone.error = "instance " + s.instanceId +
                         " vanished (spot reclaim or terminated outside the autoscaler)";
            if (write(gone)) {
                const std::lock_guard lock(mutex_);
                ++metrics_.vanished;
                log_.warn("instance vanished; its capacity will be replaced",
                          {{"server", s.name}, {"instance", s.instanceId}});
            }
        }
    }

    // ---- bookkeeping -----------------------------------------------------

    /// Stores `lastBusy` when a server stops being named by a stage, as the
    /// last cycle that saw it busy: the moment its idle time starts. Servers
    /// still busy need no write (the planner never drains them), so a cycle
    /// writes only the transitions, not one row per busy server.
    void recordBusy(std::vector<Server>& rows, const std::vector<Stage>& stages, WallTime now) {
        std::unordered_set<std::string_view> busyNow;
        for (const auto& stage : stages) {
            if (!stage.machine.empty())
                busyNow.insert(stage.machine);
        }
        std::unordered_set<std::string_view> names;
        for (auto& s : rows) {
            names.insert(s.name);
            const auto seen = busyBefore_.find(s.name);
            if (seen == busyBefore_.end() || busyNow.contains(s.name))
                continue;
            const WallTime lastSeen = seen->second;
            if (isInFlight(s.name)) {
                // Its task owns the row: this cycle's plan sees the idle start,
                // the store gets it next cycle (kept in busyBefore_).
                s.lastBusy = std::max(s.lastBusy, lastSeen);
                continue;
            }
            Server updated = s;
            updated.lastBusy = std::max(s.lastBusy, lastSeen);
            auto written = store_.update(updated);
            if (written)
                s = std::move(*written); // The plan this cycle sees the new idle start.
            if (written || s.state == ServerState::Terminated)
                busyBefore_.erase(seen);
        }
        std::erase_if(busyBefore_, [&](const auto& entry) { return !names.contains(entry.first); });
        for (const auto name : busyNow)
            busyBefore_[std::string(name)] = now;
    }

    /// Notes when each waiting stage was first seen; returns how many have
    /// waited less than DRONE_POOL_LAUNCH_DELAY since (a wall clock that went
    /// backwards counts as long enough).
    int observeStages(const std::vector<Stage>& stages, WallTime now) {
        const std::lock_guard lock(mutex_);
        std::unordered_set<std::int64_t> present;
        int young = 0;
        for (const auto& stage : stages) {
            if (stage.status != "pending" || !stage.machine.empty())
                continue;
            present.insert(stage.id);
            const auto waited = now - firstSeen_.try_emplace(stage.id, now).first->second;
            if (waited >= WallTime::duration::zero() && waited < options_.pool.launchDelay)
                ++young;
        }
        for (auto it = firstSeen_.begin(); it != firstSeen_.end();) {
            if (!present.contains(it->first)) {
                served_.erase(it->first);
                it = firstSeen_.erase(it);
            } else {
                ++it;
            }
        }
        return young;
    }

    void noteReaction(int slots, WallTime now) {
        const std::lock_guard lock(mutex_);
        std::vector<std::pair<WallTime, std::int64_t>> waiting;
        for (const auto& [id, seen] : firstSeen_) {
            if (!served_.contains(id))
                waiting.emplace_back(seen, id);
        }
        std::sort(waiting.begin(), waiting.end());
        for (int i = 0; i < slots && std::cmp_less(i, waiting.size()); ++i) {
            served_.insert(waiting[static_cast<std::size_t>(i)].second);
            metrics_.reaction.observe(seconds(now - waiting[static_cast<std::size_t>(i)].first));
        }
    }

    void noteCycleError(const std::string& message) {
        log_.error("cycle failed", {{"error", message}});
        const std::lock_guard lock(mutex_);
        ++metrics_.cycleErrors;
        status_.lastError = message;
    }

    int consecutiveFailuresLocked() {
        const std::lock_guard lock(mutex_);
        return consecutiveFailures_;
    }

    EngineOptions options_;
    Store& store_;
    Provider& provider_;
    Queue& queue_;
    Installer& installer_;
    const Clock& clock_;
    Logger log_;

    std::mutex cycleMutex_;  ///< One cycle at a time.
    std::mutex createMutex_; ///< Counting live servers and inserting is atomic.
    std::atomic<std::uint64_t> insertGeneration_{0}; ///< Rows inserted so far.
    mutable std::mutex mutex_;                       ///< Guards everything below.
    std::condition_variable idleCv_;
    std::set<std::string> inFlight_;
    bool paused_ = false;
    Plan lastPlan_{};
    EngineStatus status_{};
    EngineMetrics metrics_{};
    int consecutiveFailures_ = 0;
    std::optional<SteadyTime> backoffUntil_{};
    std::unordered_map<std::string, SteadyTime> lastPing_;
    std::unordered_map<std::string, int> pingFailures_;
    std::unordered_map<std::int64_t, WallTime> firstSeen_;
    std::unordered_set<std::int64_t> served_;
    std::set<std::string> orphanMarks_;
    /// Servers a stage named, with the last cycle that saw it.
    std::unordered_map<std::string, WallTime> busyBefore_;
    DemandHistory demand_{options_.pool.idleTimeout};
    std::optional<SteadyTime> lastSweep_{};
    std::optional<SteadyTime> lastPurge_{};
    std::optional<SteadyTime> firstCycle_{};
    std::optional<SteadyTime> lastDecision_{};
    std::stop_source inlineStop_;
    std::unique_ptr<WorkerPool> pool_; ///< Last: joined first on destruction.
};

Engine::Engine(EngineOptions options, Store& store, Provider& provider, Queue& queue,
               Installer& installer, const Clock& clock, Logger logger)
    : impl_(std::make_unique<Impl>(std::move(options), store, provider, queue, installer, clock,
                                   std::move(logger))) {
}

Engine::~Engine() = default;

Result<Plan> Engine::cycle() {
    return impl_->cycle();
}
void Engine::run(const std::stop_token& stop) {
    impl_->run(stop);
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

} // namespace autoscale
