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
/// (Unix seconds), plus our own last_busy and version. No keys, ever.
std::string serverToJson(const Server& server);
std::string serversToJson(const std::vector<Server>& servers);

/// Parses what GET /api/servers returns (ours or drone/autoscaler's). State
/// names of drone/autoscaler are mapped to ours (created → booting, staging →
/// installing, shutdown → draining, stopping → terminating, stopped → terminated).
Result<std::vector<Server>> parseServersJson(std::string_view body);
Result<Server> parseServerJson(std::string_view body);

/// `plan --json`: {"pool","policy","pending","running","servers","live",
/// "capacity","wanted","create","drain":[names],"reasons":[strings]}.
std::string planToJson(const Plan& plan);
Result<Plan> parsePlanJson(std::string_view body);

/// {"message": text}
std::string messageJson(std::string_view text);

} // namespace autoscale
