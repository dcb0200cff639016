// SPDX-License-Identifier: Apache-2.0
/// \file
/// Moving servers along their lifecycle: each cycle schedules one step per
/// server that needs one (create, adopt, boot, install, ping, terminate, reap
/// an error), run as a task on the executor; releasing drained servers once no
/// stage names them. Every state change goes through ServerLifecycle.

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>
#include <unordered_set>

#include "engine/engine_impl.h"

namespace autoscale {

namespace {

double seconds(std::chrono::nanoseconds d) {
    return std::chrono::duration<double>(d).count();
}

/// How a row waiting for capacity says so in its `error` (no state of its own:
/// it stays `creating`, and a restart finds and retries it like any other).
constexpr std::string_view kCapacityWait = "waiting for capacity: ";

bool waitingForCapacity(const Server& s) {
    return s.state == ServerState::Creating && s.error.starts_with(kCapacityWait);
}

} // namespace

void Engine::Impl::count(std::int64_t EngineMetrics::*counter, std::int64_t n) {
    const std::lock_guard lock(reportMutex_);
    metrics_.*counter += n;
}

void Engine::Impl::observe(Histogram EngineMetrics::*histogram, double value) {
    const std::lock_guard lock(reportMutex_);
    (metrics_.*histogram).observe(value);
}

void Engine::Impl::advance(const std::vector<Server>& rows, const BusyNames& busy, bool queueOk,
                           WallTime now) {
    std::vector<Server> releasable;
    for (const auto& s : rows) {
        if (inFlight_.contains(s.name))
            continue;
        switch (s.state) {
        case ServerState::Pending:
            // Decided in this very cycle: the next cycle creates it.
            if (options_.createOnNextCycle && s.created >= now)
                break;
            schedule(s);
            break;
        case ServerState::Creating:
            if (capacityWaitPending(s))
                break;
            schedule(s);
            break;
        case ServerState::Booting:
        case ServerState::Installing:
        case ServerState::Terminating:
        case ServerState::Error:
            schedule(s);
            break;
        case ServerState::Running:
            if (health_.due(s.name, clock_.steadyNow()))
                schedule(s);
            break;
        case ServerState::Draining: {
            if (s.drainStarted == WallTime{}) {
                Server started = s;
                started.drainStarted = now;
                (void)lifecycle_.save(started);
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
    BusyNames stillBusy;
    if (again)
        stillBusy = busyServerNames(*again);
    for (Server& s : releasable) {
        const bool timedOut = now - s.drainStarted >= options_.timeoutStop;
        if (!timedOut && (!again || stillBusy.contains(s.name)))
            continue;
        std::string reason;
        if (timedOut && stillBusy.contains(s.name))
            reason = "drain timed out after " + goDuration(options_.timeoutStop);
        auto written = lifecycle_.transition(s, ServerState::Terminating, std::move(reason));
        if (!written)
            continue;
        log_.info("releasing drained server",
                  {{"server", s.name},
                   {"reason", timedOut ? "DRONE_TIMEOUT_STOP passed" : "no stage names it"}});
        schedule(*written);
    }
}

/// Runs the next step of `s` as a task (on a worker, or inline), unless one
/// is already in flight for it.
void Engine::Impl::schedule(const Server& s) {
    if (!inFlight_.begin(s.name))
        return;
    executor_->submit([this, s](const std::stop_token& stop) {
        step(s, stop);
        inFlight_.end(s.name);
    });
}

void Engine::Impl::step(Server s, const std::stop_token& stop) {
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

/// The step's state change; false (logged) when another actor moved the
/// server (the step stops) or the table forbids it.
bool Engine::Impl::moveTo(Server& s, ServerState to, std::string reason) {
    auto written = lifecycle_.transition(s, to, std::move(reason));
    if (!written) {
        log_.warn("server changed concurrently; step abandoned",
                  {{"server", s.name}, {"error", written.error().message}});
        return false;
    }
    s = std::move(*written);
    return true;
}

void Engine::Impl::fail(Server s, std::string reason, std::int64_t EngineMetrics::*counter) {
    if (!moveTo(s, ServerState::Error, reason))
        return;
    log_.error("server failed", {{"server", s.name}, {"reason", reason}});
    if (counter != nullptr)
        count(counter);
    const auto delay = backoff_.failed();
    log_.warn("creation back-off",
              {{"failures", std::to_string(backoff_.failures())}, {"delay", goDuration(delay)}});
}

void Engine::Impl::stepCreate(Server s, const std::stop_token& stop) {
    // Intent and client token are stored before RunInstances.
    if (!moveTo(s, ServerState::Creating))
        return;
    createInstance(std::move(s), stop);
}

void Engine::Impl::createInstance(Server s, const std::stop_token& /*stop*/) {
    const bool onDemandAllowed = reserveOnDemand();
    launchInstance(std::move(s), onDemandAllowed);
    // The slot is held until the row says which market the instance got.
    if (onDemandAllowed && options_.spotPool && options_.onDemandMax)
        releaseOnDemand();
}

void Engine::Impl::launchInstance(Server s, bool onDemandAllowed) {
    CreateRequest request{
            .serverName = s.name, .clientToken = s.clientToken, .onDemandAllowed = onDemandAllowed};
    if (options_.userData) {
        auto rendered = options_.userData(s);
        if (!rendered) {
            std::string reason = "cannot render user data: " + rendered.error().message;
            fail(std::move(s), std::move(reason), &EngineMetrics::createErrors);
            return;
        }
        request.userData = std::move(*rendered);
        // The renderer may have stored a host key in the row.
        auto saved = lifecycle_.save(s);
        if (!saved) {
            log_.warn("server changed concurrently; step abandoned",
                      {{"server", s.name}, {"error", saved.error().message}});
            return;
        }
        s = std::move(*saved);
    }
    const SteadyTime t0 = clock_.steadyNow();
    auto instance = provider_.create(request);
    if (!instance && instance.error().code == Errc::Capacity) {
        waitForCapacity(std::move(s), instance.error());
        return;
    }
    if (!instance) {
        std::string reason = "cannot create the instance: " + instance.error().message;
        fail(std::move(s), std::move(reason), &EngineMetrics::createErrors);
        return;
    }
    count(&EngineMetrics::serversCreated);
    observe(&EngineMetrics::createTime, seconds(clock_.steadyNow() - t0));
    s.instanceId = instance->id;
    if (!instance->instanceType.empty())
        s.size = instance->instanceType;
    if (!instance->zone.empty())
        s.region = instance->zone;
    if (!instance->imageId.empty())
        s.image = instance->imageId;
    s.market = instance->market;
    if (waitingForCapacity(s))
        s.error.clear();
    if (!moveTo(s, ServerState::Booting))
        return; // The row moved (API destroy): the orphan sweep reclaims the instance.
    log_.info("instance created", {{"server", s.name},
                                   {"instance", s.instanceId},
                                   {"type", s.size},
                                   {"market", s.market.empty() ? "-" : s.market}});
}

bool Engine::Impl::reserveOnDemand() {
    if (!options_.spotPool || !options_.onDemandMax)
        return true;
    const std::lock_guard lock(onDemandMutex_);
    auto rows = listOwn();
    if (!rows)
        return false; // Unknown: keep to the cap.
    const auto onDemand = std::count_if(rows->begin(), rows->end(), [](const Server& r) {
        return r.market == kMarketOnDemand && countsAgainstCaps(r);
    });
    if (onDemand + onDemandInFlight_ >= *options_.onDemandMax)
        return false;
    ++onDemandInFlight_;
    return true;
}

void Engine::Impl::releaseOnDemand() {
    const std::lock_guard lock(onDemandMutex_);
    --onDemandInFlight_;
}

void Engine::Impl::waitForCapacity(Server s, const Error& error) {
    const SteadyTime steady = clock_.steadyNow();
    const auto cooling = provider_.coolingDown();
    // The earliest cooling choice back; without a memory, the next cycle.
    std::optional<SteadyTime> earliest;
    for (const auto& c : cooling) {
        if (c.until > steady && (!earliest || c.until < *earliest))
            earliest = c.until;
    }
    const SteadyTime retryAt = earliest.value_or(steady + options_.interval);
    {
        const std::lock_guard lock(reportMutex_);
        capacityRetryAt_ = retryAt;
        capacityMessage_ = error.message;
        ++metrics_.capacityWaits;
    }
    log_.warn("no capacity for the server; it waits (no error, no back-off)",
              {{"server", s.name},
               {"error", error.message},
               {"retry_in", goDuration(retryAt - steady)}});
    s.error = std::string(kCapacityWait) + error.message;
    if (auto saved = lifecycle_.save(s); !saved) {
        log_.warn("server changed concurrently; step abandoned",
                  {{"server", s.name}, {"error", saved.error().message}});
    }
}

bool Engine::Impl::capacityWaitPending(const Server& s) const {
    if (!waitingForCapacity(s))
        return false;
    const std::lock_guard lock(reportMutex_);
    return capacityRetryAt_ && clock_.steadyNow() < *capacityRetryAt_;
}

void Engine::Impl::explainCapacity(Plan& p, const std::vector<Server>& rows) const {
    const SteadyTime steady = clock_.steadyNow();
    for (const auto& c : provider_.coolingDown()) {
        if (c.until <= steady)
            continue;
        const auto left = std::chrono::ceil<std::chrono::seconds>(c.until - steady);
        p.cooling.push_back({.instanceType = c.instanceType,
                             .subnet = c.subnet,
                             .market = c.market,
                             .secondsLeft = static_cast<int>(left.count()),
                             .code = c.code});
    }
    const auto waiting = std::count_if(rows.begin(), rows.end(), waitingForCapacity);
    if (waiting == 0)
        return;
    std::string message;
    std::optional<SteadyTime> retryAt;
    {
        const std::lock_guard lock(reportMutex_);
        message = capacityMessage_;
        retryAt = capacityRetryAt_;
    }
    std::string why = std::to_string(waiting) + (waiting == 1 ? " server waits" : " servers wait") +
                      " for capacity (not an error, no back-off): " + message;
    if (retryAt && *retryAt > steady)
        why += "; next try in " + goDuration(*retryAt - steady);
    std::string choices;
    for (const auto& c : p.cooling) {
        choices += (choices.empty() ? "" : ", ") + c.instanceType + "/" +
                   (c.subnet.empty() ? "default subnet" : c.subnet) + "/" + c.market + " (" +
                   c.code + ", " + std::to_string(c.secondsLeft) + "s left)";
    }
    if (!choices.empty())
        why += "; cooling down: " + choices;
    p.reasons.push_back(std::move(why));
}

void Engine::Impl::stepAdoptCreating(Server s, const std::stop_token& stop) {
    // A crash during RunInstances: find the instance by its tags, or ask
    // again with the same client token (EC2 returns the same instance).
    if (auto listed = provider_.list()) {
        if (const Instance* found = instanceTaggedFor(s.name, *listed)) {
            s.instanceId = found->id;
            if (moveTo(s, ServerState::Booting)) {
                log_.info("adopted an instance created before a restart",
                          {{"server", s.name}, {"instance", s.instanceId}});
            }
            return;
        }
    }
    createInstance(std::move(s), stop);
}

void Engine::Impl::stepBoot(Server s) {
    const WallTime now = clock_.now();
    if (now - s.created > options_.bootDeadline) {
        std::string reason = "not running " + goDuration(options_.bootDeadline) + " after creation";
        fail(std::move(s), std::move(reason), &EngineMetrics::bootErrors);
        return;
    }
    auto instance = provider_.describe(s.instanceId);
    if (!instance) {
        if (instance.error().code == Errc::NotFound && now - s.created < options_.notFoundGrace)
            return; // Not visible yet.
        if (instance.error().code == Errc::NotFound) {
            // The message is built before `s` is moved from.
            std::string reason = "instance " + s.instanceId + " vanished while booting";
            fail(std::move(s), std::move(reason), &EngineMetrics::bootErrors);
            return;
        }
        log_.warn("cannot describe the instance; will retry",
                  {{"server", s.name}, {"error", instance.error().message}});
        return;
    }
    if (instance->state == InstanceState::ShuttingDown ||
        instance->state == InstanceState::Terminated) {
        std::string reason = "instance " + s.instanceId + " terminated while booting";
        if (!instance->stateReason.empty())
            reason += " (" + instance->stateReason + ")";
        fail(std::move(s), std::move(reason), &EngineMetrics::bootErrors);
        return;
    }
    const std::string& address = options_.privateIp ? instance->privateIp : instance->publicIp;
    if (instance->state != InstanceState::Running || address.empty())
        return;
    s.address = address;
    if (!instance->zone.empty())
        s.region = instance->zone;
    if (moveTo(s, ServerState::Installing))
        observe(&EngineMetrics::bootTime, seconds(now - s.created));
}

void Engine::Impl::stepInstall(Server s, const std::stop_token& stop) {
    const SteadyTime t0 = clock_.steadyNow();
    auto installed = installer_.install(s, stop);
    if (!installed) {
        if (stop.stop_requested())
            return; // Shutting down: resumed after restart.
        const bool hostKey = installed.error().code == Errc::HostKey;
        std::string reason = std::string(hostKey ? "host key mismatch: " : "install failed: ") +
                             installed.error().message;
        fail(std::move(s), std::move(reason), &EngineMetrics::installErrors);
        return;
    }
    s.hostPrivateKey.clear(); // Installed on the instance; no longer needed here.
    if (!moveTo(s, ServerState::Running))
        return;
    backoff_.succeeded();
    observe(&EngineMetrics::installTime, seconds(clock_.steadyNow() - t0));
    log_.info("runner started", {{"server", s.name}, {"address", s.address}});
}

void Engine::Impl::stepPing(Server s) {
    auto pinged = installer_.ping(s);
    if (pinged) {
        health_.healthy(s.name);
        return;
    }
    const int failures = health_.failed(s.name);
    log_.warn("ping failed", {{"server", s.name},
                              {"error", pinged.error().message},
                              {"failures", std::to_string(failures)}});
    if (failures < options_.pingFailures)
        return;
    if (moveTo(s, ServerState::Error, "runner not healthy: " + pinged.error().message))
        log_.error("server failed", {{"server", s.name}, {"reason", s.error}});
}

void Engine::Impl::startDrain(const Server& s) {
    log_.info("draining server", {{"server", s.name}});
    if (s.address.empty())
        return;
    // Best effort: the runner stops taking stages. Release waits for the
    // queue, not for this call.
    executor_->submit([this, s](const std::stop_token&) {
        if (auto r = installer_.drain(s); !r) {
            log_.warn("cannot tell the runner to drain",
                      {{"server", s.name}, {"error", r.error().message}});
        }
    });
}

void Engine::Impl::stepTerminate(Server s) {
    if (!s.instanceId.empty()) {
        const std::array ids{s.instanceId};
        auto destroyed = provider_.destroy(ids);
        if (!destroyed) {
            count(&EngineMetrics::terminateErrors);
            log_.error("cannot terminate the instance; will retry",
                       {{"server", s.name},
                        {"instance", s.instanceId},
                        {"error", destroyed.error().message}});
            return;
        }
    }
    if (!moveTo(s, ServerState::Terminated))
        return;
    count(&EngineMetrics::serversTerminated);
    health_.forget(s.name);
    log_.info("server terminated", {{"server", s.name}, {"instance", s.instanceId}});
}

void Engine::Impl::stepReapError(Server s) {
    if (s.instanceId.empty() && !s.clientToken.empty()) {
        // The instance may exist though its id was never recorded.
        if (auto listed = provider_.list()) {
            if (const Instance* found = instanceTaggedFor(s.name, *listed))
                s.instanceId = found->id;
        }
    }
    if (!moveTo(s, ServerState::Terminating))
        return;
    stepTerminate(std::move(s));
}

} // namespace autoscale
