// SPDX-License-Identifier: Apache-2.0
/// \file
/// The status page (/ui): server-rendered HTML with inline CSS and an inline
/// SVG chart, no script and no external asset. Pure functions over values, so
/// the unit tests render pages without a server. Everything that comes from
/// outside (server names, errors, reasons, log lines) is HTML-escaped here.

#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/log.h>
#include <autoscale/model.h>

#include "ui_history.h"

namespace autoscale {

/// One pool's heading on the page: its last plan and its caps.
struct UiPool {
    std::string name{};
    Plan plan{}; ///< The pool's last plan: pending, running, servers, wanted, create, drain.
    int max = 0; ///< The pool's own max.
    std::optional<int> share{}; ///< Its share of the fleet's max; nullopt without a fleet max.

    friend bool operator==(const UiPool&, const UiPool&) = default;
};

/// The pool headings of a fleet, pool order: each plan of `plans` (index i is
/// pool i of `pools`) with the pool's max and its share of `fleetMax`,
/// computed with fleetShares() from the plans' pending and running stages as
/// the Fleet computes it at its cycle.
std::vector<UiPool> uiPools(const std::vector<PoolSettings>& pools, const std::vector<Plan>& plans,
                            std::optional<int> fleetMax);

/// Everything one page shows, gathered by the API server at request time.
struct UiPageData {
    WallTime now{};
    std::string version{};
    bool paused = false;
    std::string lastError{}; ///< The engine's last cycle error; empty when fine.
    std::optional<WallTime> backoffUntil{};
    /// The pool the servers belong to (the first pool in a fleet).
    std::string pool{};
    /// The fleet's pools, pool order. With more than one the servers are
    /// grouped by pool under a heading each (rows without a pool, or of a pool
    /// not listed, go to the first); empty or one: the page of one pool.
    std::vector<UiPool> pools{};
    std::optional<int> fleetMax{};   ///< The pool file's `max`.
    std::vector<Stage> unroutable{}; ///< Pending stages no pool serves (last cycle).
    std::vector<Server> servers{};
    bool serversReadable = true; ///< False when the store could not be read.
    std::string storeError{};
    Plan plan{}; ///< The last plan: stages matched, servers wanted, reasons.
    /// Stages the pool does not serve; unknown (nullopt) until the plan reports them.
    std::optional<int> leftOutPending{};
    std::optional<int> leftOutRunning{};
    std::vector<UiDecision> decisions{}; ///< Newest first.
    std::vector<UiSample> samples{};     ///< Oldest first.
    std::vector<LogRecord> log{};        ///< Oldest first.

    friend bool operator==(const UiPageData&, const UiPageData&) = default;
};

/// `text` with &, <, >, " and ' replaced by character references.
std::string htmlEscape(std::string_view text);

/// The state name the page shows; the one place to change when the wire
/// names change.
std::string_view uiStateName(ServerState state);

/// "45s", "12m", "3h 05m", "2d 4h": how long ago `since` was at `now`
/// ("—" for an unset time).
std::string formatAge(WallTime since, WallTime now);

/// Servers (step line) against demand (step line) over the 24 hours that end
/// at `now`, as an inline <svg> element with axes, grid and legend.
std::string renderChart(const std::vector<UiSample>& samples, WallTime now);

/// The whole page, a complete HTML document.
std::string renderStatusPage(const UiPageData& data);

/// True when an `Authorization` header value carries HTTP basic credentials
/// equal to `username` and `password`. An empty `username` accepts any user
/// name. Both are compared in time independent of where they differ.
bool basicAuthMatches(std::string_view header, std::string_view username,
                      std::string_view password);

} // namespace autoscale
