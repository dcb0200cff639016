// SPDX-License-Identifier: Apache-2.0
/// \file
/// The one owner of a server's state machine (SPEC §4): which state may follow
/// which, and the single function through which every state change is written
/// to the store, as a compare-and-swap, with its reason and timestamps.

#pragma once

#include <string>

#include <autoscale/clock.h>
#include <autoscale/model.h>
#include <autoscale/result.h>
#include <autoscale/store.h>

namespace autoscale {

/// True when a compare-and-swap write failed because another actor changed the
/// row since it was read (worth reading again and retrying). The one place that
/// knows which Errc means "row changed under you".
bool isLostRace(const Error& error);

/// True when an insert failed because the server name is taken (worth retrying
/// with another name).
bool isNameTaken(const Error& error);

/// The state machine of SPEC §4. Thread-safe (it holds no state of its own; the
/// store serializes writes). Borrows the store and the clock: they must outlive it.
class ServerLifecycle {
public:
    ServerLifecycle(Store& store, const Clock& clock);

    /// The transition table: pending → creating → booting → installing →
    /// running → draining → terminating → terminated, with these shortcuts:
    /// a pending server may be dropped (→ terminated), creating..installing and
    /// error servers may be terminated (→ terminating), an instance that vanished
    /// ends booting..draining (→ terminated), and `error` may be entered from any
    /// state but terminated and error. No state goes to itself.
    [[nodiscard]] static bool allowed(ServerState from, ServerState to);

    /// Moves `server` (as read, with any other field changes the caller made)
    /// from its current state to `to`: checks the table, stamps `updated`
    /// (and `started` for running, `drainStarted` for draining, `stopped` for
    /// terminated), records `reason` in `error` when it is given (it is
    /// required for error; running clears `error`), then writes it as a
    /// compare-and-swap on `server.version`. Returns the row as stored.
    /// Errc::InvalidArgument for a transition the table forbids (nothing is
    /// written); isLostRace when the row changed, Errc::NotFound when it is gone.
    [[nodiscard]] Result<Server> transition(Server server, ServerState to,
                                            std::string reason = {}) const;

    /// Writes fields other than the state (a host key, last busy, a missing
    /// drain start) as a compare-and-swap, `updated` untouched. `server.state`
    /// must be the state it was read in.
    [[nodiscard]] Result<Server> save(const Server& server) const;

    /// Inserts a new row in state pending, created and updated now, from
    /// `fields` (name, client token, image, ...; their state is ignored).
    /// isNameTaken when the name is in use.
    [[nodiscard]] Result<Server> insertPending(Server fields, const InsertCaps& caps = {}) const;

    /// Deletes the row if it still has `server.version` (the API's forced
    /// removal of an error row).
    [[nodiscard]] Result<void> remove(const Server& server) const;

private:
    Store& store_;
    const Clock& clock_;
};

} // namespace autoscale
