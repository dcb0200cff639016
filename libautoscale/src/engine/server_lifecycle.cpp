// SPDX-License-Identifier: Apache-2.0
/// \file
/// ServerLifecycle: the transition table of SPEC §4 and the one write path
/// for state changes; restoreState, the decoders' way to set a saved state.

#include "engine/server_lifecycle.h"

#include <utility>

namespace autoscale {

void restoreState(Server& server, ServerState saved) {
    server.state = saved;
}

bool isLostRace(const Error& error) {
    return error.code == Errc::Conflict;
}

bool isNameTaken(const Error& error) {
    return error.code == Errc::AlreadyExists;
}

ServerLifecycle::ServerLifecycle(Store& store, const Clock& clock) : store_(store), clock_(clock) {
}

bool ServerLifecycle::allowed(ServerState from, ServerState to) {
    using S = ServerState;
    if (to == S::Error)
        return from != S::Error && from != S::Terminated;
    switch (from) {
    case S::Pending:
        return to == S::Creating || to == S::Terminated;
    case S::Creating:
        return to == S::Booting || to == S::Terminating;
    case S::Booting:
        return to == S::Installing || to == S::Terminating || to == S::Terminated;
    case S::Installing:
        return to == S::Running || to == S::Terminating || to == S::Terminated;
    case S::Running:
        return to == S::Draining || to == S::Terminated;
    case S::Draining:
        return to == S::Terminating || to == S::Terminated;
    case S::Terminating:
        return to == S::Terminated;
    case S::Error:
        return to == S::Terminating;
    case S::Terminated:
        return false;
    }
    return false;
}

Result<Server> ServerLifecycle::transition(Server server, ServerState to,
                                           std::string reason) const {
    const ServerState from = server.state;
    if (!allowed(from, to)) {
        return makeError(Errc::InvalidArgument, "server " + server.name + ": " +
                                                        std::string(nameOf(from)) +
                                                        " cannot go to " + std::string(nameOf(to)));
    }
    if (to == ServerState::Error && reason.empty()) {
        return makeError(Errc::InvalidArgument,
                         "server " + server.name + ": going to error needs a reason");
    }
    const WallTime now = clock_.now();
    server.state = to;
    server.updated = now;
    switch (to) {
    case ServerState::Running:
        server.started = now;
        server.error.clear();
        break;
    case ServerState::Draining:
        server.drainStarted = now;
        break;
    case ServerState::Terminated:
        server.stopped = now;
        break;
    case ServerState::Pending:
    case ServerState::Creating:
    case ServerState::Booting:
    case ServerState::Installing:
    case ServerState::Terminating:
    case ServerState::Error:
        break;
    }
    if (!reason.empty())
        server.error = std::move(reason);
    return store_.update(server);
}

Result<Server> ServerLifecycle::save(const Server& server) const {
    return store_.update(server);
}

Result<void> ServerLifecycle::remove(const Server& server) const {
    return store_.remove(server.name, server.version);
}

Result<Server> ServerLifecycle::insertPending(Server fields, const InsertCaps& caps) const {
    const WallTime now = clock_.now();
    fields.state = ServerState::Pending;
    fields.created = now;
    fields.updated = now;
    fields.version = 0;
    return store_.insertWithin(fields, caps);
}

} // namespace autoscale
