// SPDX-License-Identifier: Apache-2.0
/// \file
/// A client of the daemon's REST API, for autoscaler-admin and for programs
/// that steer a running autoscaler.

#pragma once

#include <optional>
#include <string>
#include <vector>

#include <autoscale/http.h>
#include <autoscale/model.h>
#include <autoscale/result.h>

namespace autoscale {

/// GET /api/plan as the daemon answers it: one plan per pool (pool order) and
/// the stages no pool serves.
struct FleetPlanView {
    std::vector<Plan> pools{}; ///< One with a single pool.
    int unroutable = 0;        ///< "unroutable"; 0 with a single pool.
    std::string json{};        ///< The daemon's answer, as it sent it.
};

/// Talks to one daemon. Borrows the HttpClient (must outlive it); not
/// thread-safe. Every error carries the daemon's own message when it sent one;
/// Errc::Unauthorized/Forbidden for 401/403, NotFound for 404, Conflict for 409.
class AdminClient {
public:
    /// `server` is the daemon's base URL ("http://autoscaler:8080"); `token` a
    /// Drone admin token (secret; sent only as a bearer header).
    AdminClient(std::string server, std::string token, HttpClient& http);

    /// Every server; with `pool` not empty, only that pool's (Server::pool).
    [[nodiscard]] Result<std::vector<Server>> listServers(const std::string& pool = {});
    [[nodiscard]] Result<Server> server(const std::string& name);
    /// POST /api/servers, with ?pool=NAME when `pool` is not empty (none: the
    /// daemon's first pool). Errc::NotFound when the daemon has no such pool.
    [[nodiscard]] Result<Server> createServer(const std::string& pool = {});
    /// The server as it now is, or std::nullopt when the daemon removed it.
    [[nodiscard]] Result<std::optional<Server>> destroyServer(const std::string& name, bool force);
    [[nodiscard]] Result<void> pause();
    [[nodiscard]] Result<void> resume();
    /// The first pool's plan (the whole answer when the daemon has one pool).
    [[nodiscard]] Result<Plan> plan();
    /// Every pool's plan: GET /api/plan in either shape, {"pools": [...],
    /// "unroutable": N} or one plan object. Errc::Parse when it is neither.
    [[nodiscard]] Result<FleetPlanView> fleetPlan();
    /// GET /healthz (no token sent): the daemon's answer ("OK") when it is
    /// healthy; Errc::Unavailable with its reason on 503, Errc::Transport or
    /// Errc::Timeout when it cannot be reached.
    [[nodiscard]] Result<std::string> health();

private:
    Result<HttpResponse> call(const std::string& method, const std::string& path);

    std::string server_;
    std::string token_;
    HttpClient* http_;
};

/// The base URL at which a process on the same host reaches a daemon that
/// listens on `address`:`port` (DRONE_HTTP_PORT): the wildcard addresses
/// become loopback, an IPv6 address is bracketed.
std::string localApiUrl(const std::string& address, int port);

/// A fixed-width table like `drone server ls`: NAME, POOL, STATE
/// (drone/autoscaler's name), PHASE (ours), ADDRESS, SIZE, MARKET (only when
/// a server has one), REGION, CREATED (UTC), ERROR. An empty field shows "-".
std::string formatServerTable(const std::vector<Server>& servers);

/// Every field of one server, one per line; State is drone/autoscaler's name,
/// Phase ours; Pool, and Market once launched.
std::string formatServerInfo(const Server& server);

} // namespace autoscale
