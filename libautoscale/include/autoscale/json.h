// SPDX-License-Identifier: Apache-2.0
/// \file
/// JSON forms of servers and plans, shared by the REST API, `plan --json`
/// and autoscaler-admin. drone/autoscaler's Server shape, without any key or
/// certificate.

#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <autoscale/model.h>
#include <autoscale/result.h>

namespace autoscale {

/// One server as drone/autoscaler's API shows it (`drone server ls` reads
/// this): id, provider, state, name, image, region, size, platform, address,
/// capacity, secret (always ""), error, created, updated, started, stopped
/// (Unix seconds), plus our own last_busy, version, phase, pool, market,
/// reclaim_notice (Unix seconds, 0 for none) and lost_builds ([{"repo",
/// "number", "stage", "outcome", "restarted_as"}]). `state` is
/// drone/autoscaler's name (droneStateOf: created, staging, shutdown, stopping,
/// stopped, ...), `phase` ours (nameOf: booting, installing, draining, ...).
/// No keys, ever.
std::string serverToJson(const Server& server);
std::string serversToJson(const std::vector<Server>& servers);

/// Parses what GET /api/servers returns (ours, old or new, or
/// drone/autoscaler's). `state` may be in either vocabulary (created → booting,
/// staging → installing, shutdown → draining, stopping → terminating, stopped →
/// terminated; our own names are read as they are); `phase`, when present and
/// consistent with `state`, gives the finer phase.
Result<std::vector<Server>> parseServersJson(std::string_view body);
Result<Server> parseServerJson(std::string_view body);

/// Server::lostBuilds as a JSON list (how the stores keep it), and back; an
/// empty text is an empty list.
std::string lostBuildsToJson(const std::vector<LostBuild>& builds);
Result<std::vector<LostBuild>> parseLostBuildsJson(std::string_view body);

/// `plan --json`: {"pool","policy","pending","running","servers","live",
/// "capacity","wanted","create","left_out":{"kind","platform","labels","limit",
/// "throttle","status","routed"},"drain":[names],"reasons":[strings]}.
std::string planToJson(const Plan& plan);
Result<Plan> parsePlanJson(std::string_view body);

/// Several pools: {"pools": [planToJson objects, each with "pool" set],
/// "unroutable": N, "unroutable_stages": [{"id","build_id","os","arch",
/// "variant","labels"}]}.
std::string fleetPlanToJson(const std::vector<Plan>& plans, const std::vector<Stage>& unroutable);

/// {"message": text}
std::string messageJson(std::string_view text);

} // namespace autoscale
