// SPDX-License-Identifier: Apache-2.0
/// \file
/// What an operator asks through the API: pause and resume decisions, one
/// more server (within its pool's and the fleet's max), destroy a server. Each runs on the
/// API's thread, beside the cycle.

#include <algorithm>
#include <array>

#include "core/random_text.h"
#include "engine/engine_impl.h"

namespace autoscale {

void Engine::Impl::pause() {
    paused_.store(true);
    log_.info("paused: no new decisions until resumed; in-flight work continues");
}

void Engine::Impl::resume() {
    paused_.store(false);
    log_.info("resumed");
}

Result<Server> Engine::Impl::createServer() {
    const std::lock_guard createLock(createMutex_);
    // The store counts the pool's and the fleet's live servers in the same
    // transaction as it inserts: Errc::LimitReached when either is full.
    auto row = insertPending("requested through the API", operatorLifecycle_);
    if (!row)
        return row.error();
    if (mayAct())
        schedule(*row); // Else the leader starts it on its next cycle.
    return row;
}

/// Inserts a pending row under a fresh name. The caller holds createMutex_.
Result<Server> Engine::Impl::insertPending(const char* why, const ServerLifecycle& lifecycle) {
    for (int attempt = 0; attempt < 5; ++attempt) {
        auto row = lifecycle.insertPending(
                Server{.name = options_.serverName ? options_.serverName()
                                                   : detail::randomServerName(options_.namePrefix),
                       .pool = options_.pool.name,
                       .provider = options_.provider,
                       .image = options_.image,
                       .size = options_.instanceType,
                       .capacity = options_.pool.concurrency,
                       .clientToken = detail::randomClientToken()},
                InsertCaps{.poolMax = options_.pool.max, .fleetMax = options_.fleetMax});
        ++insertGeneration_;
        if (row) {
            log_.info("server planned", {{"server", row->name}, {"why", why}});
            return row;
        }
        if (!isNameTaken(row.error()))
            return row.error();
    }
    return makeError(Errc::Conflict, "could not find a free server name");
}

Result<std::optional<Server>> Engine::Impl::destroyServer(const std::string& name, bool force) {
    for (int attempt = 0; attempt < 5; ++attempt) {
        auto row =
                (options_.operatorStore != nullptr ? *options_.operatorStore : store_).find(name);
        if (!row)
            return row.error();
        const Server& s = *row;
        ServerState to = ServerState::Terminating;
        switch (s.state) {
        case ServerState::Terminated:
        case ServerState::Terminating:
        case ServerState::Draining:
            return std::optional<Server>(s);
        case ServerState::Error:
            if (force || s.instanceId.empty()) {
                if (!s.instanceId.empty() && !mayAct()) {
                    return makeError(Errc::NotLeader,
                                     "this daemon is not the leader: ask the leader to terminate "
                                     "an instance at once, or destroy without force");
                }
                if (!s.instanceId.empty()) {
                    const std::array ids{s.instanceId};
                    if (auto r = provider_.destroy(ids); !r)
                        return r.error();
                }
                auto removed = operatorLifecycle_.remove(s);
                if (!removed && isLostRace(removed.error()))
                    continue;
                if (!removed)
                    return removed.error();
                log_.info("server removed through the API", {{"server", s.name}});
                return std::optional<Server>();
            }
            to = ServerState::Terminating;
            break;
        case ServerState::Pending:
            to = ServerState::Terminated;
            break;
        case ServerState::Running:
            to = ServerState::Draining;
            break;
        case ServerState::Creating:
        case ServerState::Booting:
        case ServerState::Installing:
            to = ServerState::Terminating;
            break;
        }
        auto written = operatorLifecycle_.transition(s, to);
        if (!written && isLostRace(written.error()))
            continue;
        if (!written)
            return written.error();
        log_.info("server destroy requested through the API",
                  {{"server", s.name}, {"state", std::string(nameOf(written->state))}});
        if (written->state == ServerState::Draining && mayAct())
            startDrain(*written); // Else the leader's cycle drains it.
        return std::optional<Server>(*written);
    }
    return makeError(Errc::Conflict, "server " + name + " kept changing; try again");
}

} // namespace autoscale
