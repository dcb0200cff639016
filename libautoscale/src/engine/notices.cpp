// SPDX-License-Identifier: Apache-2.0
/// \file
/// What the cloud tells us about an instance (interruption warnings, rebalance
/// recommendations, scheduled changes, state changes), acted on at once rather
/// than at the next sweep: the row is found by instance id, stamped with the
/// reclaim notice and the reason, drained or closed. Every write is a
/// compare-and-swap through ServerLifecycle; a lost race reads the row again.

#include <algorithm>

#include <autoscale/interruptions.h>

#include "engine/engine_impl.h"
#include "engine/lost_builds.h"

namespace autoscale {

namespace {

/// Why the row is going, as recorded in Server::error.
std::string warningReason(const CloudNotice& n) {
    switch (n.kind) {
    case CloudNotice::SpotInterruption:
        return "reclaimed by EC2: spot interruption warning (instance-action " +
               (n.state.empty() ? std::string("terminate") : n.state) + ")";
    case CloudNotice::Rebalance:
        return "EC2 rebalance recommendation: at elevated risk of a spot reclaim";
    case CloudNotice::ScheduledChange:
        return "AWS Health scheduled change " + n.state;
    case CloudNotice::StateChange:
        return "instance " + n.state;
    }
    return "cloud notice";
}

/// A state change that ends the instance (or stops it).
bool closes(const CloudNotice& n) {
    return n.kind == CloudNotice::StateChange && meansInstanceLost(n);
}

} // namespace

std::string vanishedReason(const std::string& instanceId, const std::string& stateReason) {
    if (stateReason == "Server.SpotInstanceTermination") {
        return "reclaimed by EC2 (Server.SpotInstanceTermination): instance " + instanceId +
               " vanished";
    }
    if (!stateReason.empty())
        return "instance " + instanceId + " vanished (" + stateReason + ")";
    return "instance " + instanceId +
           " vanished (spot reclaim or terminated outside the autoscaler)";
}

bool Engine::Impl::ranStages(const Server& s) {
    return s.lastBusy != WallTime{} || s.state == ServerState::Running ||
           s.state == ServerState::Draining;
}

void Engine::Impl::recordLost(const Server& s) {
    if (!options_.findLostBuilds)
        return;
    executor_->submit([this, name = s.name, server = s](const std::stop_token&) {
        auto found = options_.findLostBuilds(server);
        if (!found) {
            log_.warn("cannot find the builds lost with the server",
                      {{"server", name}, {"error", found.error().message}});
            return;
        }
        if (found->empty())
            return;
        std::int64_t added = 0;
        for (int attempt = 0; attempt < 5; ++attempt) {
            auto row = store_.find(name);
            if (!row)
                return;
            Server updated = *row;
            const auto before = updated.lostBuilds.size();
            if (!mergeLostBuilds(updated.lostBuilds, *found))
                break;
            if (auto saved = lifecycle_.save(updated); saved) {
                added = static_cast<std::int64_t>(saved->lostBuilds.size() - before);
                break;
            }
        }
        if (added > 0) {
            count(&EngineMetrics::stagesLost, added);
            std::string builds;
            for (const auto& b : *found) {
                builds += (builds.empty() ? "" : ",") +
                          (b.repo.empty() ? "stage " + std::to_string(b.stage)
                                          : b.repo + "#" + std::to_string(b.number));
            }
            log_.warn("builds lost with the server",
                      {{"server", name}, {"count", std::to_string(added)}, {"builds", builds}});
        }
        if (options_.handleLostBuilds)
            options_.handleLostBuilds(name);
    });
}

void Engine::Impl::resumeLostBuilds(const std::vector<Server>& rows) {
    if (!options_.handleLostBuilds)
        return;
    for (const auto& row : rows) {
        const bool unhandled =
                std::any_of(row.lostBuilds.begin(), row.lostBuilds.end(), [](const LostBuild& b) {
                    return b.outcome.empty() || b.outcome == kOutcomeRestarting;
                });
        if (!unhandled)
            continue;
        log_.info("resuming the lost builds of a server", {{"server", row.name}});
        executor_->submit([this, name = row.name](const std::stop_token&) {
            options_.handleLostBuilds(name);
        });
    }
}

Result<Server> Engine::Impl::handleNotice(const CloudNotice& notice) {
    if (notice.instanceId.empty())
        return makeError(Errc::InvalidArgument, "a cloud notice without an instance id");
    for (int attempt = 0; attempt < 5; ++attempt) {
        auto rows = listOwn();
        if (!rows)
            return rows.error();
        const auto it = std::find_if(rows->begin(), rows->end(), [&](const Server& s) {
            return s.instanceId == notice.instanceId && s.state != ServerState::Terminated;
        });
        if (it == rows->end()) {
            return makeError(Errc::NotFound, "no live server of pool " + options_.pool.name +
                                                     " has instance " + notice.instanceId);
        }
        auto done = applyNotice(*it, notice);
        if (done || done.error().code != Errc::Conflict)
            return done;
    }
    return makeError(Errc::Conflict, "the row of instance " + notice.instanceId +
                                             " kept changing; the notice was not applied");
}

Result<Server> Engine::Impl::applyNotice(Server s, const CloudNotice& notice) {
    const WallTime now = clock_.now();
    const std::string kind(nameOf(notice.kind));
    if (notice.kind == CloudNotice::StateChange && !closes(notice))
        return s; // pending, running: nothing to do.

    if (closes(notice)) {
        std::string reason =
                "instance " + s.instanceId + " " + notice.state + " (EC2 state-change notice)";
        if (s.reclaimNotice != WallTime{} && !s.error.empty())
            reason = s.error + "; " + reason;
        if (notice.state == "shutting-down" || notice.state == "terminated") {
            if (ServerLifecycle::allowed(s.state, ServerState::Terminated)) {
                const bool hadRunner = ranStages(s);
                auto closed = lifecycle_.transition(s, ServerState::Terminated, reason);
                if (!closed)
                    return closed.error();
                count(&EngineMetrics::interruptions);
                count(&EngineMetrics::vanished);
                health_.forget(s.name);
                log_.warn("instance gone (state-change notice); row closed",
                          {{"server", s.name}, {"instance", s.instanceId}, {"reason", reason}});
                if (hadRunner)
                    recordLost(*closed);
                return closed;
            }
        }
        // Stopping or stopped (or a state that cannot be closed directly):
        // terminate it through the lifecycle.
        if (s.state == ServerState::Terminating)
            return s;
        if (!ServerLifecycle::allowed(s.state, ServerState::Terminating))
            return s; // Creating: its step finds out.
        auto going = lifecycle_.transition(s, ServerState::Terminating, reason);
        if (!going)
            return going.error();
        count(&EngineMetrics::interruptions);
        log_.warn("instance stopping or gone (state-change notice); terminating the server",
                  {{"server", s.name}, {"instance", s.instanceId}, {"reason", reason}});
        schedule(*going);
        return going;
    }

    // A warning: the instance is going (or at risk). Drain and replace at once.
    if (s.reclaimNotice != WallTime{})
        return s; // Already handled (SQS delivers at least once).
    const std::string reason = warningReason(notice);
    s.reclaimNotice = now;
    Result<Server> written = s;
    switch (s.state) {
    case ServerState::Running:
        written = lifecycle_.transition(s, ServerState::Draining, reason);
        if (written)
            startDrain(*written);
        break;
    case ServerState::Booting:
    case ServerState::Installing:
        written = lifecycle_.transition(s, ServerState::Terminating, reason);
        if (written)
            schedule(*written);
        break;
    case ServerState::Pending:
    case ServerState::Creating:
    case ServerState::Draining:
    case ServerState::Terminating:
    case ServerState::Error:
        if (s.state != ServerState::Error)
            s.error = reason;
        written = lifecycle_.save(s);
        break;
    case ServerState::Terminated:
        return s;
    }
    if (!written)
        return written.error();
    count(&EngineMetrics::interruptions);
    log_.warn("interruption notice: server drained and replaced, no longer counted against max",
              {{"server", s.name},
               {"instance", s.instanceId},
               {"notice", kind},
               {"state", std::string(nameOf(written->state))},
               {"reason", reason}});
    return written;
}

} // namespace autoscale
