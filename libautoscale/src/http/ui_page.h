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

/// Everything one page shows, gathered by the API server at request time.
struct UiPageData {
    WallTime now{};
    std::string version{};
    bool paused = false;
    std::string lastError{}; ///< The engine's last cycle error; empty when fine.
    std::optional<WallTime> backoffUntil{};
    /// The pool the servers belong to (one pool per daemon today).
    std::string pool{};
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
